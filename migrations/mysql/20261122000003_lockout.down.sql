DROP TABLE IF EXISTS lockouts;

--bun:split

DROP TABLE IF EXISTS login_failures;
