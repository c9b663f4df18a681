-- TOTP second factor (RFC 6238). No secret is stored in plain text: the
-- shared secret is sealed with AES-256-GCM under a key derived from the
-- server secret, with the user id as associated data (identity/totp); a
-- recovery code and a login challenge are stored only as hex SHA-256
-- digests. Every row goes with its user (ON DELETE CASCADE).
--
-- totp_secrets: one per user; enabled is false between enrolment and
-- confirmation. last_step is the time step of the last accepted code: a
-- code is accepted only for a later step, so each code works once.
CREATE TABLE totp_secrets (
    user_id BIGINT PRIMARY KEY REFERENCES users (user_id) ON DELETE CASCADE,
    secret VARCHAR(512) NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT FALSE,
    last_step BIGINT NOT NULL DEFAULT 0,
    created_on TIMESTAMP NOT NULL,
    enabled_on TIMESTAMP
);

--bun:split

-- totp_recovery_codes: the digests of a user's one-time recovery codes;
-- used_on is set when one is spent.
CREATE TABLE totp_recovery_codes (
    user_id BIGINT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    digest CHAR(64) NOT NULL,
    used_on TIMESTAMP,
    PRIMARY KEY (user_id, digest)
);

--bun:split

-- totp_challenges: a password login waiting for its second factor; the
-- challenge is single-use and expires.
CREATE TABLE totp_challenges (
    digest CHAR(64) PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    expires TIMESTAMP NOT NULL
);

--bun:split

CREATE INDEX ix_totp_challenges_user_id ON totp_challenges (user_id);

--bun:split

CREATE INDEX ix_totp_challenges_expires ON totp_challenges (expires);
