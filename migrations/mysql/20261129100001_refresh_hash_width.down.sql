ALTER TABLE apikeys_nosession MODIFY refresh_hash CHAR(64) NOT NULL;
