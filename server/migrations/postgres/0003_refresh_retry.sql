-- The successor of a used refresh token, sealed with a key derived from the used token itself
-- (which is stored only as its digest): a client whose refresh reply was lost presents the used
-- token again within a few seconds and gets the same successor back.
ALTER TABLE refresh_tokens ADD COLUMN successor_sealed TEXT;
