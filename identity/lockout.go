package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// loginFailure counts consecutive failed password checks for one e-mail.
type loginFailure struct {
	bun.BaseModel `bun:"table:login_failures"`

	EmailHash   string    `bun:"email_hash,pk"`
	Failures    int64     `bun:"failures"`
	LastFailure time.Time `bun:"last_failure"`
}

// lockout is a pending automatic unlock.
type lockout struct {
	bun.BaseModel `bun:"table:lockouts"`

	UserID   int64     `bun:"user_id,pk"`
	UnlockAt time.Time `bun:"unlock_at"`
}

func failureKey(email string) string { return TokenHash("login-failures\x00" + email) }

// RecordLoginFailure adds one to the e-mail's consecutive failures (the raw
// string as the request sent it) and returns the new count. It is atomic
// (one statement; on MySQL an upsert and a read of the row it locked, in one
// transaction), so concurrent failures on any instance all count.
func (s *Store) RecordLoginFailure(ctx context.Context, email string) (int64, error) {
	var n int64
	var err error
	if isMySQL(s.db) {
		// MySQL has no RETURNING, and MariaDB's does not cover the UPDATE
		// branch of an upsert: the upsert locks the row until the commit, so
		// the SELECT reads this transaction's own count.
		err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			key := failureKey(email)
			if _, err := tx.NewRaw(
				"INSERT INTO login_failures (email_hash, failures, last_failure) VALUES (?, 1, ?) "+
					"ON DUPLICATE KEY UPDATE failures = failures + 1, last_failure = VALUES(last_failure)", key, now()).Exec(ctx); err != nil {
				return err
			}
			return tx.NewRaw("SELECT failures FROM login_failures WHERE email_hash = ?", key).Scan(ctx, &n)
		})
	} else {
		err = s.db.NewRaw(
			"INSERT INTO login_failures (email_hash, failures, last_failure) VALUES (?, 1, ?) "+
				"ON CONFLICT (email_hash) DO UPDATE SET failures = login_failures.failures + 1, last_failure = excluded.last_failure "+
				"RETURNING failures", failureKey(email), now()).Scan(ctx, &n)
	}
	if err != nil {
		return 0, fmt.Errorf("identity: record login failure: %w", err)
	}
	return n, nil
}

// ResetLoginFailures forgets the e-mail's failures (after a success).
func (s *Store) ResetLoginFailures(ctx context.Context, email string) error {
	if _, err := s.db.NewDelete().Model((*loginFailure)(nil)).Where("email_hash = ?", failureKey(email)).Exec(ctx); err != nil {
		return fmt.Errorf("identity: reset login failures: %w", err)
	}
	return nil
}

// LockOut locks the user (as SetLocked does) and records when the lock ends.
func (s *Store) LockOut(ctx context.Context, id int64, until time.Time) (*User, error) {
	u, err := s.SetLocked(ctx, id, true)
	if err != nil {
		return nil, err
	}
	q := s.db.NewInsert().Model(&lockout{UserID: id, UnlockAt: until.UTC()})
	if isMySQL(s.db) {
		q = q.On("DUPLICATE KEY UPDATE").Set("unlock_at = VALUES(unlock_at)")
	} else {
		q = q.On("CONFLICT (user_id) DO UPDATE").Set("unlock_at = EXCLUDED.unlock_at")
	}
	if _, err = q.Exec(ctx); err != nil {
		return nil, fmt.Errorf("identity: record lockout: %w", err)
	}
	return u, nil
}

// UnlockExpired unlocks the users whose lockout has ended — all of them, or
// only userID when it is non-zero — and returns their ids. Each lockout row
// is claimed by deleting it, so with several instances sweeping, every user
// is unlocked exactly once.
func (s *Store) UnlockExpired(ctx context.Context, userID int64) ([]int64, error) {
	var due []lockout
	q := s.db.NewSelect().Model(&due).Where("unlock_at <= ?", now()).Limit(1000)
	if userID != 0 {
		q = q.Where("user_id = ?", userID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("identity: select lockouts: %w", err)
	}
	var done []int64
	for _, l := range due {
		res, err := s.db.NewDelete().Model((*lockout)(nil)).Where("user_id = ?", l.UserID).Where("unlock_at = ?", l.UnlockAt).Exec(ctx)
		if err != nil {
			return done, fmt.Errorf("identity: claim lockout: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			continue // another instance took it
		}
		if _, err := s.SetLocked(ctx, l.UserID, false); err != nil && !errors.Is(err, ErrNotFound) {
			return done, fmt.Errorf("identity: automatic unlock: %w", err)
		}
		done = append(done, l.UserID)
	}
	return done, nil
}

// PurgeLoginFailures forgets failure counts last touched before cutoff.
func (s *Store) PurgeLoginFailures(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.db.NewDelete().Model((*loginFailure)(nil)).Where("last_failure < ?", cutoff.UTC()).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("identity: purge login failures: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
