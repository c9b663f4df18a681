-- Initial schema (MySQL/MariaDB). Column names follow the reference authnzerver so that
-- its tools and our import read the same shapes; session tokens are stored only
-- as SHA-256 digests (token_hash), never in plain text. InnoDB for foreign keys and
-- transactions; utf8mb4 with the binary collation so that comparisons and UNIQUE are
-- case-sensitive as on SQLite and PostgreSQL; DATETIME(6) keeps microseconds.
CREATE TABLE roles (
    name VARCHAR(100) PRIMARY KEY,
    `desc` VARCHAR(280) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

--bun:split

CREATE TABLE users (
    user_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    system_id VARCHAR(50) NOT NULL UNIQUE,
    full_name VARCHAR(280),
    password TEXT NOT NULL,
    email VARCHAR(280) NOT NULL UNIQUE,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    is_active BOOLEAN NOT NULL DEFAULT FALSE,
    emailverify_sent_datetime DATETIME(6),
    emailforgotpass_sent_datetime DATETIME(6),
    emailchangepass_sent_datetime DATETIME(6),
    last_login_success DATETIME(6),
    last_login_try DATETIME(6),
    failed_login_tries INTEGER DEFAULT 0,
    extra_info JSON,
    created_on DATETIME(6) NOT NULL,
    last_updated DATETIME(6) NOT NULL,
    user_role VARCHAR(100) NOT NULL,
    FOREIGN KEY (user_role) REFERENCES roles (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

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
    user_id BIGINT NOT NULL,
    created DATETIME(6) NOT NULL,
    expires DATETIME(6) NOT NULL,
    extra_info_json JSON,
    FOREIGN KEY (user_id) REFERENCES users (user_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

--bun:split

CREATE INDEX ix_sessions_user_id ON sessions (user_id);

--bun:split

CREATE INDEX ix_sessions_expires ON sessions (expires);
