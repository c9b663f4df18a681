-- Hawk nonces of the Bergson Authenticator REST API when no Redis is
-- configured: a request's (sender, nonce) is inserted once and a duplicate
-- insert refuses the replay. nonce holds the hex SHA-256 of the nonce (a
-- fixed width, and no collation can make two nonces equal); ts is the
-- request's Hawk ts (seconds since the epoch), by which old rows are purged.
CREATE TABLE hawk_nonces (
    sender VARCHAR(255) NOT NULL,
    nonce CHAR(64) NOT NULL,
    ts BIGINT NOT NULL,
    PRIMARY KEY (sender, nonce)
);

--bun:split

CREATE INDEX ix_hawk_nonces_ts ON hawk_nonces (ts);
