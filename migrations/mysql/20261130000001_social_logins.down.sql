DROP TABLE IF EXISTS social_logins;

--bun:split

DROP TABLE IF EXISTS social_states;
