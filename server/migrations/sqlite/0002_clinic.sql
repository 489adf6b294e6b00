-- Kiosk devices, appointments, join requests, notifications and the per-user event log.
-- Times are unix seconds (INTEGER) so one query path serves SQLite and PostgreSQL.

-- A kiosk's credential: the device id is public, the secret is stored only as a SHA-256 digest
-- (it is 256 random bits, so a slow hash buys nothing).
CREATE TABLE devices (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL,
    location    TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE appointments (
    id               TEXT PRIMARY KEY NOT NULL,
    -- Short human code read out on the phone; not a secret.
    appointment_code TEXT NOT NULL UNIQUE,
    -- What a call is joined by; separate from id so a leaked CRUD id does not name the call.
    session_id       TEXT NOT NULL UNIQUE,
    doctor_id        TEXT NOT NULL REFERENCES users (id),
    patient_id       TEXT NOT NULL REFERENCES users (id),
    agency_id        TEXT REFERENCES users (id),
    -- The exam-room kiosk the patient joins from, if any.
    kiosk_id         TEXT REFERENCES users (id),
    -- Lowercase [a-z0-9-], 128 random bits: unguessable, and Prosody compares rooms lowercase.
    room_name        TEXT NOT NULL UNIQUE,
    call_type        TEXT NOT NULL CHECK (call_type IN ('video', 'audio')),
    status           TEXT NOT NULL CHECK (status IN ('scheduled', 'in_progress', 'completed', 'cancelled')),
    meeting_status   TEXT NOT NULL CHECK (meeting_status IN ('created', 'started', 'ended')),
    -- Patients also have to be admitted when the doctor turns the waiting room on.
    waiting_room     INTEGER NOT NULL DEFAULT 0,
    start_time       INTEGER NOT NULL,
    end_time         INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    -- Set by the scheduler in the same transaction that creates the reminder notifications, so a
    -- restart neither loses nor repeats one. 'skipped' reminders get the time they were skipped.
    reminder_24h_at  INTEGER,
    reminder_5m_at   INTEGER,
    starting_at      INTEGER,
    CHECK (end_time > start_time)
);
CREATE INDEX appointments_doctor ON appointments (doctor_id, start_time);
CREATE INDEX appointments_patient ON appointments (patient_id, start_time);
CREATE INDEX appointments_agency ON appointments (agency_id, start_time);
CREATE INDEX appointments_kiosk ON appointments (kiosk_id, start_time);
CREATE INDEX appointments_start ON appointments (start_time);

CREATE TABLE join_requests (
    id             TEXT PRIMARY KEY NOT NULL,
    appointment_id TEXT NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    requester_id   TEXT NOT NULL REFERENCES users (id),
    status         TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    requested_at   INTEGER NOT NULL,
    decided_at     INTEGER,
    decided_by     TEXT REFERENCES users (id)
);
-- At most one pending request per user and appointment.
CREATE UNIQUE INDEX join_requests_one_pending
    ON join_requests (appointment_id, requester_id) WHERE status = 'pending';
CREATE INDEX join_requests_appointment ON join_requests (appointment_id, status);

CREATE TABLE notifications (
    -- Creation order, for listing newest first (several share a second).
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,
    title          TEXT NOT NULL,
    body           TEXT NOT NULL,
    appointment_id TEXT NOT NULL,
    session_id     TEXT,
    join_request_id TEXT,
    created_at     INTEGER NOT NULL,
    read_at        INTEGER
);
CREATE INDEX notifications_user ON notifications (user_id, seq);

-- Each user's last event number. Appending bumps it with an upsert, which on PostgreSQL
-- row-locks it until commit: a user's events are numbered 1, 2, 3, ... in commit order with no
-- gaps, so a client resuming with Last-Event-ID = n misses nothing. (SQLite has one writer.)
CREATE TABLE event_counters (
    user_id  TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    last_seq INTEGER NOT NULL
);

-- What GET /events streams.
CREATE TABLE events (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    -- JSON.
    data       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, seq)
);
