-- Failed-login counters and automatic unlocks live in the database so that
-- every instance sees the same counts and a lockout survives a restart.
-- Counters are keyed by the SHA-256 digest of the e-mail as sent (the
-- reference keys them by the raw string), so unknown addresses back off too.
CREATE TABLE login_failures (
    email_hash CHAR(64) PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failure DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

--bun:split

CREATE INDEX ix_login_failures_last_failure ON login_failures (last_failure);

--bun:split

CREATE TABLE lockouts (
    user_id BIGINT PRIMARY KEY,
    unlock_at DATETIME(6) NOT NULL,
    FOREIGN KEY (user_id) REFERENCES users (user_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

--bun:split

CREATE INDEX ix_lockouts_unlock_at ON lockouts (unlock_at);
