-- Browsers send user agents longer than 280 characters: a session keeps up
-- to 2048 of them, the API's limit, on every database (SQLite does not
-- bound VARCHAR and stored them already).
ALTER TABLE sessions ALTER COLUMN user_agent TYPE VARCHAR(2048);
