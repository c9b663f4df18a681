ALTER TABLE login_failures DROP COLUMN pending_at;

--bun:split

ALTER TABLE login_failures DROP COLUMN pending;
