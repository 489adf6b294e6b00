-- A requester may withdraw a pending join request: status 'withdrawn'.
-- SQLite cannot alter a CHECK constraint, so the table is rebuilt (create the new one, copy,
-- drop the old one, rename; https://www.sqlite.org/lang_altertable.html#otheralter). The
-- migration runs in a transaction, where `PRAGMA foreign_keys` cannot be switched off; none is
-- needed: no table references join_requests, so dropping it deletes nothing elsewhere, and the
-- copied rows keep satisfying their own references. Dropping the table drops its indexes, which
-- are created again below.
CREATE TABLE join_requests_new (
    id             TEXT PRIMARY KEY NOT NULL,
    appointment_id TEXT NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    requester_id   TEXT NOT NULL REFERENCES users (id),
    status         TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn')),
    requested_at   INTEGER NOT NULL,
    decided_at     INTEGER,
    -- The doctor or administrator who decided, or the requester who withdrew.
    decided_by     TEXT REFERENCES users (id)
);
INSERT INTO join_requests_new
    (id, appointment_id, requester_id, status, requested_at, decided_at, decided_by)
SELECT id, appointment_id, requester_id, status, requested_at, decided_at, decided_by
FROM join_requests;
DROP TABLE join_requests;
ALTER TABLE join_requests_new RENAME TO join_requests;
-- At most one pending request per user and appointment.
CREATE UNIQUE INDEX join_requests_one_pending
    ON join_requests (appointment_id, requester_id) WHERE status = 'pending';
CREATE INDEX join_requests_appointment ON join_requests (appointment_id, status);
