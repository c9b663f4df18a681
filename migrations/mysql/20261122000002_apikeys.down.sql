DROP TABLE IF EXISTS apikeys_nosession;

--bun:split

DROP TABLE IF EXISTS apikeys;
