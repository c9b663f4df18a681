-- API keys. Only SHA-256 digests of the key token (tkn) and of the refresh
-- token are stored: a copy of the database does not let anyone use a key.
-- Session-bound keys die with their session (ON DELETE CASCADE).
CREATE TABLE apikeys (
    tkn_hash CHAR(64) PRIMARY KEY,
    issued TIMESTAMP NOT NULL,
    expires TIMESTAMP NOT NULL,
    not_valid_before TIMESTAMP NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    user_role VARCHAR(100) NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    session_token_hash CHAR(64) NOT NULL REFERENCES sessions (token_hash) ON DELETE CASCADE
);

--bun:split

CREATE INDEX ix_apikeys_user_id ON apikeys (user_id);

--bun:split

CREATE INDEX ix_apikeys_session_token_hash ON apikeys (session_token_hash);

--bun:split

CREATE INDEX ix_apikeys_expires ON apikeys (expires);

--bun:split

CREATE TABLE apikeys_nosession (
    tkn_hash CHAR(64) PRIMARY KEY,
    issued TIMESTAMP NOT NULL,
    expires TIMESTAMP NOT NULL,
    not_valid_before TIMESTAMP NOT NULL,
    refresh_hash CHAR(64) NOT NULL,
    refresh_issued TIMESTAMP NOT NULL,
    refresh_expires TIMESTAMP NOT NULL,
    refresh_nbf TIMESTAMP NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    user_role VARCHAR(100) NOT NULL REFERENCES roles (name) ON DELETE CASCADE
);

--bun:split

CREATE INDEX ix_apikeys_nosession_user_id ON apikeys_nosession (user_id, user_role);

--bun:split

CREATE INDEX ix_apikeys_nosession_expires ON apikeys_nosession (expires, refresh_expires);
