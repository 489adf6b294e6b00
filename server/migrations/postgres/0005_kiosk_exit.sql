-- The kiosks' administrator exit: one PIN for the clinic's kiosks, stored only as an Argon2id
-- hash (the row's id is always 1), and each kiosk's run of wrong PINs with its lockout.
CREATE TABLE kiosk_exit_pin (
    id       BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    pin_hash TEXT NOT NULL,
    set_by   TEXT NOT NULL REFERENCES users (id),
    set_at   BIGINT NOT NULL
);
CREATE TABLE kiosk_exit_failures (
    user_id      TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    -- Wrong PINs in a row since the last right one or the last lockout.
    failures     BIGINT NOT NULL,
    locked_until BIGINT
);
