-- Password checks in flight per account: a check is reserved before the
-- password is evaluated and resolved after it, in one transaction each, so
-- that no more than userlocktries wrong passwords are ever evaluated and no
-- password is accepted once the lock-out is decided, at any concurrency and
-- on any number of instances. pending_at ages out reservations of a process
-- that died between the two steps.
ALTER TABLE login_failures ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;

--bun:split

ALTER TABLE login_failures ADD COLUMN pending_at TIMESTAMP NULL;
