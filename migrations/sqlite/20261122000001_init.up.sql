-- Initial schema (SQLite). Column names follow the reference authnzerver so that
-- its tools and our import read the same shapes; session tokens are stored only
-- as SHA-256 digests (token_hash), never in plain text.
CREATE TABLE roles (
    name VARCHAR(100) PRIMARY KEY,
    "desc" VARCHAR(280) NOT NULL
);

--bun:split

CREATE TABLE users (
    user_id INTEGER PRIMARY KEY AUTOINCREMENT,
    system_id VARCHAR(50) NOT NULL UNIQUE,
    full_name VARCHAR(280),
    password TEXT NOT NULL,
    email VARCHAR(280) NOT NULL UNIQUE,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    is_active BOOLEAN NOT NULL DEFAULT FALSE,
    emailverify_sent_datetime TIMESTAMP,
    emailforgotpass_sent_datetime TIMESTAMP,
    emailchangepass_sent_datetime TIMESTAMP,
    last_login_success TIMESTAMP,
    last_login_try TIMESTAMP,
    failed_login_tries INTEGER DEFAULT 0,
    extra_info TEXT,
    created_on TIMESTAMP NOT NULL,
    last_updated TIMESTAMP NOT NULL,
    user_role VARCHAR(100) NOT NULL REFERENCES roles (name)
);

--bun:split

CREATE INDEX ix_users_full_name ON users (full_name);

--bun:split

CREATE INDEX ix_users_user_role ON users (user_role);

--bun:split

CREATE INDEX ix_users_is_active ON users (is_active);

--bun:split

CREATE INDEX ix_users_created_on ON users (created_on);

--bun:split

CREATE TABLE sessions (
    token_hash CHAR(64) PRIMARY KEY,
    ip_address VARCHAR(280) NOT NULL,
    user_agent VARCHAR(280) NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    created TIMESTAMP NOT NULL,
    expires TIMESTAMP NOT NULL,
    extra_info_json TEXT
);

--bun:split

CREATE INDEX ix_sessions_user_id ON sessions (user_id);

--bun:split

CREATE INDEX ix_sessions_expires ON sessions (expires);
