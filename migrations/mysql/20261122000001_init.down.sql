DROP TABLE IF EXISTS sessions;

--bun:split

DROP TABLE IF EXISTS users;

--bun:split

DROP TABLE IF EXISTS roles;
