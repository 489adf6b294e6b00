-- Accounts, refresh-token families and tokens, and the audit trail.
-- Times are unix seconds (INTEGER) so one query path serves SQLite and PostgreSQL.

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    -- Stored lowercase; the server compares emails case-insensitively.
    email         TEXT NOT NULL UNIQUE,
    -- NULL for accounts that cannot log in with a password (devices, password-less demo flow).
    password_hash TEXT,
    first_name    TEXT,
    last_name     TEXT,
    role          TEXT NOT NULL CHECK (role IN ('doctor', 'patient', 'agency', 'admin', 'kiosk')),
    -- NULL while the account may log in.
    disabled_at   INTEGER,
    created_at    INTEGER NOT NULL
);

-- One family per login; every refresh token a login's rotations produce belongs to it.
-- Revoking the family ends the session: its refresh tokens and access tokens stop working.
CREATE TABLE refresh_token_families (
    id             TEXT PRIMARY KEY NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     INTEGER NOT NULL,
    revoked_at     INTEGER,
    revoked_reason TEXT
);
CREATE INDEX refresh_token_families_user ON refresh_token_families (user_id);

CREATE TABLE refresh_tokens (
    id         TEXT PRIMARY KEY NOT NULL,
    family_id  TEXT NOT NULL REFERENCES refresh_token_families (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 of the token, hex; the token itself is never stored.
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    -- Set once, by the rotation that replaced this token.
    used_at    INTEGER
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

-- No foreign key on the actor: the trail must outlive the accounts it mentions.
CREATE TABLE audit_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            INTEGER NOT NULL,
    actor_user_id TEXT,
    action        TEXT NOT NULL,
    -- JSON object; never a token, password or hash.
    detail        TEXT NOT NULL,
    ip            TEXT
);
CREATE INDEX audit_events_at ON audit_events (at);
