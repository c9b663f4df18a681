ALTER TABLE apikeys_nosession ALTER COLUMN refresh_hash TYPE CHAR(64) USING left(refresh_hash, 64);
