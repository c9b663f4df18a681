-- SQLite does not bound CHAR(64): the argon2 hash of a carried-over refresh
-- token fits already. Kept so the dialects stay in step.
SELECT 1;
