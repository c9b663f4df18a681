-- Rows as the reference writes them (datetimes in SQLAlchemy's SQLite text
-- form; far-future expiries so the live rows stay live). Passwords:
-- user 1 "aROwQin9L8nNtPTEMLXd" (argon2-cffi 21.1.0, m=65536,t=3,p=4);
-- user 4 "correct horse battery staple" (older argon2-cffi: m=102400,t=2,p=8,
-- 16-byte hash). Both hashes are from testdata/argon2/vectors.json.
INSERT INTO roles (name, "desc") VALUES
  ('superuser', 'Role with superuser privileges'), ('staff', 'Role with staff privileges'),
  ('authenticated', 'Role with authenticated privileges'), ('anonymous', 'Role with anonymous privileges'),
  ('locked', 'Role with locked privileges');
INSERT INTO users (user_id, system_id, full_name, password, email, email_verified, is_active, extra_info, created_on, last_updated, user_role) VALUES
  (1, '0b5a6f0e-0000-4000-8000-000000000001', 'Superuser account', '$argon2id$v=19$m=65536,t=3,p=4$SAJN18tKTGXArJVdiD1dvQ$XfM6E+8LOlEcmLZ//ljlY0dGPC2bSirVIFXvg/38IkM', 'admin@example.org', TRUE, TRUE, '{"provenance": "auto-created", "type": "system-user"}', '2021-03-01 10:00:00.000000', '2021-03-01 10:00:00.000000', 'superuser'),
  (2, '0b5a6f0e-0000-4000-8000-000000000002', 'The systemwide anonymous user', '$argon2id$v=19$m=65536,t=3,p=4$SAJN18tKTGXArJVdiD1dvQ$XfM6E+8LOlEcmLZ//ljlY0dGPC2bSirVIFXvg/38IkM', 'anonuser@localhost', TRUE, TRUE, '{"provenance": "auto-created", "type": "system-user"}', '2021-03-01 10:00:00.000000', '2021-03-01 10:00:00.000000', 'anonymous'),
  (3, '0b5a6f0e-0000-4000-8000-000000000003', 'The systemwide locked user', '$argon2id$v=19$m=65536,t=3,p=4$SAJN18tKTGXArJVdiD1dvQ$XfM6E+8LOlEcmLZ//ljlY0dGPC2bSirVIFXvg/38IkM', 'dummyuser@localhost', TRUE, FALSE, '{"provenance": "auto-created", "type": "locked-user"}', '2021-03-01 10:00:00.000000', '2021-03-01 10:00:00.000000', 'locked'),
  (4, '0b5a6f0e-0000-4000-8000-000000000004', 'Old Timer', '$argon2id$v=19$m=102400,t=2,p=8$O4IqGnaS88ZHl9Uior2wjA$ZbSO2E8wkQsx8macgB4ggA', 'oldtimer@example.org', TRUE, TRUE, '{"provenance": "request-created", "type": "normal-user", "verify_retry_wait": 6}', '2021-04-01 12:30:00.123456', '2022-01-01 08:00:00', 'authenticated'),
  (7, '0b5a6f0e-0000-4000-8000-000000000007', 'Not Verified', '$argon2id$v=19$m=102400,t=2,p=8$O4IqGnaS88ZHl9Uior2wjA$ZbSO2E8wkQsx8macgB4ggA', 'unverified@example.org', FALSE, FALSE, NULL, '2021-05-01 12:30:00', '2021-05-01 12:30:00', 'locked');
INSERT INTO sessions (session_token, ip_address, user_agent, user_id, created, expires, extra_info_json) VALUES
  ('live-session-token-of-user-4-aaaaaaaaaaaaaaaaa', '203.0.113.7', 'Mozilla/5.0 old', 4, '2024-01-01 00:00:00.000000', '2099-01-01 00:00:00.000000', '{"k": "v"}'),
  ('expired-session-token-of-user-4-bbbbbbbbbbbbbb', '203.0.113.7', 'Mozilla/5.0 old', 4, '2020-01-01 00:00:00.000000', '2020-02-01 00:00:00.000000', NULL);
INSERT INTO apikeys (apikey, issued, expires, not_valid_before, user_id, user_role, session_token) VALUES
  ('session-bound-apikey-token-cccccccccccccccccccc', '2024-01-01 00:00:00.000000', '2099-01-01 00:00:00.000000', '2024-01-01 00:00:00.000000', 4, 'authenticated', 'live-session-token-of-user-4-aaaaaaaaaaaaaaaaa');
INSERT INTO apikeys_nosession (apikey, issued, expires, not_valid_before, refresh_token, refresh_issued, refresh_expires, refresh_nbf, user_id, user_role) VALUES
  ('nosession-apikey-token-dddddddddddddddddddddddd', '2024-01-01 00:00:00.000000', '2099-01-01 00:00:00.000000', '2024-01-01 00:00:00.000000', '$argon2id$v=19$m=65536,t=3,p=4$SAJN18tKTGXArJVdiD1dvQ$XfM6E+8LOlEcmLZ//ljlY0dGPC2bSirVIFXvg/38IkM', '2024-01-01 00:00:00.000000', '2099-01-01 00:00:00.000000', '2024-01-01 00:00:00.000000', 4, 'authenticated'),
  ('expired-nosession-apikey-eeeeeeeeeeeeeeeeeeeeee', '2020-01-01 00:00:00.000000', '2020-01-02 00:00:00.000000', '2020-01-01 00:00:00.000000', '$argon2id$v=19$m=65536,t=3,p=4$SAJN18tKTGXArJVdiD1dvQ$XfM6E+8LOlEcmLZ//ljlY0dGPC2bSirVIFXvg/38IkM', '2020-01-01 00:00:00.000000', '2020-01-02 00:00:00.000000', '2020-01-01 00:00:00.000000', 4, 'authenticated');
