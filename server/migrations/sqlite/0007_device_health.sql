-- A kiosk's heartbeat: when it last beat, whether it counts as online (false after three
-- missed beats, set by whichever server instance notices first), and its last report as JSON.
ALTER TABLE devices ADD COLUMN last_seen INTEGER;
ALTER TABLE devices ADD COLUMN online INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN last_report TEXT;
-- When the doctor and administrators were told that this visit's kiosk is unavailable (offline
-- or failing its self-test) in the 15 minutes before the start: once per appointment.
ALTER TABLE appointments ADD COLUMN kiosk_alerted_at INTEGER;
