-- API keys. Only SHA-256 digests of the key token (tkn) and of the refresh
-- token are stored: a copy of the database does not let anyone use a key.
-- Session-bound keys die with their session (ON DELETE CASCADE).
CREATE TABLE apikeys (
    tkn_hash CHAR(64) PRIMARY KEY,
    issued DATETIME(6) NOT NULL,
    expires DATETIME(6) NOT NULL,
    not_valid_before DATETIME(6) NOT NULL,
    user_id BIGINT NOT NULL,
    user_role VARCHAR(100) NOT NULL,
    session_token_hash CHAR(64) NOT NULL,
    FOREIGN KEY (user_id) REFERENCES users (user_id) ON DELETE CASCADE,
    FOREIGN KEY (user_role) REFERENCES roles (name) ON DELETE CASCADE,
    FOREIGN KEY (session_token_hash) REFERENCES sessions (token_hash) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

--bun:split

CREATE INDEX ix_apikeys_user_id ON apikeys (user_id);

--bun:split

CREATE INDEX ix_apikeys_session_token_hash ON apikeys (session_token_hash);

--bun:split

CREATE INDEX ix_apikeys_expires ON apikeys (expires);

--bun:split

CREATE TABLE apikeys_nosession (
    tkn_hash CHAR(64) PRIMARY KEY,
    issued DATETIME(6) NOT NULL,
    expires DATETIME(6) NOT NULL,
    not_valid_before DATETIME(6) NOT NULL,
    refresh_hash CHAR(64) NOT NULL,
    refresh_issued DATETIME(6) NOT NULL,
    refresh_expires DATETIME(6) NOT NULL,
    refresh_nbf DATETIME(6) NOT NULL,
    user_id BIGINT NOT NULL,
    user_role VARCHAR(100) NOT NULL,
    FOREIGN KEY (user_id) REFERENCES users (user_id) ON DELETE CASCADE,
    FOREIGN KEY (user_role) REFERENCES roles (name) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

--bun:split

CREATE INDEX ix_apikeys_nosession_user_id ON apikeys_nosession (user_id, user_role);

--bun:split

CREATE INDEX ix_apikeys_nosession_expires ON apikeys_nosession (expires, refresh_expires);
