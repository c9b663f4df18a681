-- SQLite does not bound VARCHAR(280): user agents up to the API's 2048
-- characters fit already. Kept so the dialects stay in step.
SELECT 1;
