-- Kiosk enrolment without a secret on screen: a short one-time code an administrator claims.
-- The kiosk proves it is the one that asked with a pickup key kept only as its SHA-256 digest;
-- its device secret is made when it picks it up and stored only in `devices` (as a digest).
CREATE TABLE device_enrolments (
    id           TEXT PRIMARY KEY NOT NULL,
    -- Eight characters without look-alikes, stored without the dash; never given twice.
    code         TEXT NOT NULL UNIQUE,
    pickup_hash  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    -- Set once, by the claim: the device made for this kiosk and who made it.
    device_id    TEXT REFERENCES devices (id) ON DELETE CASCADE,
    claimed_by   TEXT REFERENCES users (id),
    claimed_at   INTEGER,
    picked_up_at INTEGER
);
