DROP TABLE IF EXISTS hawk_nonces;
