-- A no-session key carried over from the reference keeps the argon2 hash of
-- its refresh token (about 80 characters) so that the old refresh token
-- still works; keys made here store a 64-character SHA-256 digest.
ALTER TABLE apikeys_nosession MODIFY refresh_hash VARCHAR(255) NOT NULL;
