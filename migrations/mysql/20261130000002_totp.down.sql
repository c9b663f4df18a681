DROP TABLE IF EXISTS totp_challenges;

--bun:split

DROP TABLE IF EXISTS totp_recovery_codes;

--bun:split

DROP TABLE IF EXISTS totp_secrets;
