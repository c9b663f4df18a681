-- The reference authnzerver's schema (spec config.md §5.2), as SQLAlchemy
-- creates it; valid for SQLite and PostgreSQL. The fixture of
-- `authnzrv import`'s tests.
CREATE TABLE roles (
    name VARCHAR(100) PRIMARY KEY,
    "desc" VARCHAR(280) NOT NULL
);
CREATE TABLE users (
    user_id INTEGER PRIMARY KEY,
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
    extra_info JSON,
    created_on TIMESTAMP NOT NULL,
    last_updated TIMESTAMP NOT NULL,
    user_role VARCHAR(100) NOT NULL REFERENCES roles (name)
);
CREATE TABLE sessions (
    session_token VARCHAR PRIMARY KEY,
    ip_address VARCHAR(280) NOT NULL,
    user_agent VARCHAR(280) NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    created TIMESTAMP NOT NULL,
    expires TIMESTAMP NOT NULL,
    extra_info_json JSON
);
CREATE TABLE apikeys (
    apikey TEXT PRIMARY KEY,
    issued TIMESTAMP NOT NULL,
    expires TIMESTAMP NOT NULL,
    not_valid_before TIMESTAMP NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    user_role VARCHAR(100) NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    session_token TEXT NOT NULL REFERENCES sessions (session_token) ON DELETE CASCADE
);
CREATE TABLE apikeys_nosession (
    apikey TEXT PRIMARY KEY,
    issued TIMESTAMP NOT NULL,
    expires TIMESTAMP NOT NULL,
    not_valid_before TIMESTAMP NOT NULL,
    refresh_token TEXT NOT NULL,
    refresh_issued TIMESTAMP NOT NULL,
    refresh_expires TIMESTAMP NOT NULL,
    refresh_nbf TIMESTAMP NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    user_role VARCHAR(100) NOT NULL REFERENCES roles (name) ON DELETE CASCADE
);
