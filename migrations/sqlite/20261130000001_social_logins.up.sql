-- Social login (issue 18). social_states holds the logins started with
-- user-social-start and not yet finished: only the SHA-256 digests of the
-- state and of the session token that started it (the nonce and the PKCE
-- verifier are derived from the state with a key of the server secret, so
-- nothing here lets anyone finish a login). A row is single-use: the finish
-- deletes it in the statement that checks it.
CREATE TABLE social_states (
    state_hash CHAR(64) PRIMARY KEY,
    provider VARCHAR(32) NOT NULL,
    session_hash CHAR(64) NOT NULL,
    created TIMESTAMP NOT NULL,
    expires TIMESTAMP NOT NULL
);

--bun:split

CREATE INDEX ix_social_states_expires ON social_states (expires);

--bun:split

-- The provider accounts linked to users: one user per (provider, subject),
-- at most one account of each provider per user; email is the address the
-- provider gave when the link was made ('' when none).
CREATE TABLE social_logins (
    provider VARCHAR(32) NOT NULL,
    subject VARCHAR(255) NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    email VARCHAR(280) NOT NULL DEFAULT '',
    linked_on TIMESTAMP NOT NULL,
    PRIMARY KEY (provider, subject),
    UNIQUE (user_id, provider)
);
