-- Remote commands to a kiosk, from a closed list (reload, restart, self-test, leave the call,
-- a message for the room, rotate the secret): sent over its event stream, acknowledged in its
-- next heartbeat.
CREATE TABLE device_commands (
    id              TEXT PRIMARY KEY NOT NULL,
    device_id       TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    command         TEXT NOT NULL,
    message         TEXT,
    created_by      TEXT NOT NULL REFERENCES users (id),
    created_at      INTEGER NOT NULL,
    acknowledged_at INTEGER
);
CREATE INDEX device_commands_by_device ON device_commands (device_id, created_at);
-- A rotated secret the kiosk took but has not signed in with yet: the current one keeps
-- working until the first sign-in with this one, which replaces it.
ALTER TABLE devices ADD COLUMN pending_secret_hash TEXT;
