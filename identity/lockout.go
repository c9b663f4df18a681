package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// loginFailure counts consecutive failed password checks for one e-mail.
type loginFailure struct {
	bun.BaseModel `bun:"table:login_failures"`

	EmailHash   string     `bun:"email_hash,pk"`
	Failures    int64      `bun:"failures"`
	LastFailure time.Time  `bun:"last_failure"`
	Pending     int64      `bun:"pending"`
	PendingAt   *time.Time `bun:"pending_at"`
}

// lockout is a pending automatic unlock.
type lockout struct {
	bun.BaseModel `bun:"table:lockouts"`

	UserID   int64     `bun:"user_id,pk"`
	UnlockAt time.Time `bun:"unlock_at"`
}

func failureKey(email string) string { return TokenHash("login-failures\x00" + email) }

// Password checks of an account (user-login, user-passcheck-nosession,
// the Bergson authenticate) are reserved before the password is evaluated
// and resolved after it. Both steps are one transaction on the account's
// row of login_failures, so on every database and across instances:
//   - at most `tries` checks of an account are in flight or failed: a
//     reservation is refused while failures + pending >= tries, so never
//     more than `tries` wrong passwords are evaluated;
//   - a right password is accepted only if the lock-out was not decided
//     while it was being checked;
//   - only a wrong password counts; a check that could not run (hashing
//     busy, an error) releases its reservation.

// staleReservation is how long a reservation may stay pending: longer than
// any password check takes, so a reservation left by a process that died
// between the two steps stops blocking the account.
const staleReservation = 2 * time.Minute

// Reservation is the answer to a reservation.
type Reservation struct {
	// Reserved: the check may run; Resolve must follow.
	Reserved bool
	// Locked: the account's failures reached the limit (the lock-out is
	// decided); nothing is evaluated.
	Locked bool
	// Failures is the account's count of consecutive wrong passwords.
	Failures int64
}

// CheckOutcome is what a reserved password check found.
type CheckOutcome int

// Outcomes of a password check.
const (
	// CheckNotRun: the password could not be evaluated (hashing busy, an
	// error); the reservation is released and nothing counts.
	CheckNotRun CheckOutcome = iota
	// CheckWrong: a wrong password (or an unknown account): one failure.
	CheckWrong
	// CheckRight: the password matched.
	CheckRight
)

// Resolution is the answer to a resolution.
type Resolution struct {
	// Failures is the count after the check.
	Failures int64
	// LockDecided: this check's failure reached the limit; the caller locks
	// the account now.
	LockDecided bool
	// Refused: a right password that arrived after the lock-out was
	// decided by concurrent checks; it must not be accepted.
	Refused bool
}

// checkRow reads (creating it when missing) and locks an account's row
// inside tx.
func (s *Store) checkRow(ctx context.Context, tx bun.Tx, key string) (failures, pending int64, pendingAt *time.Time, err error) {
	insert := "INSERT INTO login_failures (email_hash, failures, last_failure, pending) VALUES (?, 0, ?, 0) ON CONFLICT (email_hash) DO NOTHING"
	if isMySQL(tx) {
		// An upsert that changes nothing takes the row's exclusive lock at
		// once (INSERT IGNORE would take a shared one, and two transactions
		// upgrading it deadlock).
		insert = "INSERT INTO login_failures (email_hash, failures, last_failure, pending) VALUES (?, 0, ?, 0) " +
			"ON DUPLICATE KEY UPDATE email_hash = email_hash"
	}
	if _, err := tx.NewRaw(insert, key, s.now()).Exec(ctx); err != nil {
		return 0, 0, nil, err
	}
	sel := "SELECT failures, pending, pending_at FROM login_failures WHERE email_hash = ?"
	if tx.Dialect().Name() != dialect.SQLite { // SQLite's transactions take the write lock at BEGIN
		sel += " FOR UPDATE"
	}
	err = tx.NewRaw(sel, key).Scan(ctx, &failures, &pending, &pendingAt)
	return failures, pending, pendingAt, err
}

// ReserveCheck reserves a password check of the account named by key (the
// normalised e-mail or username) under a limit of tries failures.
func (s *Store) ReserveCheck(ctx context.Context, key string, tries int) (Reservation, error) {
	var r Reservation
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		k := failureKey(key)
		failures, pending, pendingAt, err := s.checkRow(ctx, tx, k)
		if err != nil {
			return err
		}
		t := s.now()
		if pending > 0 && pendingAt != nil && t.Sub(*pendingAt) > staleReservation {
			pending = 0
		}
		r.Failures = failures
		switch {
		case failures >= int64(tries):
			r.Locked = true
			return nil
		case failures+pending >= int64(tries):
			return nil // saturated: as many checks in flight as may still fail
		}
		r.Reserved = true
		_, err = tx.NewRaw("UPDATE login_failures SET pending = ?, pending_at = ? WHERE email_hash = ?", pending+1, t, k).Exec(ctx)
		return err
	})
	if err != nil {
		return Reservation{}, fmt.Errorf("identity: reserve password check: %w", err)
	}
	return r, nil
}

// ResolveCheck ends a reserved check with what it found.
func (s *Store) ResolveCheck(ctx context.Context, key string, tries int, outcome CheckOutcome) (Resolution, error) {
	var r Resolution
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		k := failureKey(key)
		failures, pending, _, err := s.checkRow(ctx, tx, k)
		if err != nil {
			return err
		}
		pending = max(pending-1, 0)
		switch outcome {
		case CheckWrong:
			failures++
			r.LockDecided = failures == int64(tries)
		case CheckRight:
			if failures >= int64(tries) {
				r.Refused = true
			} else {
				failures = 0
			}
		}
		r.Failures = failures
		_, err = tx.NewRaw("UPDATE login_failures SET failures = ?, pending = ?, last_failure = ? WHERE email_hash = ?",
			failures, pending, s.now(), k).Exec(ctx)
		return err
	})
	if err != nil {
		return Resolution{}, fmt.Errorf("identity: resolve password check: %w", err)
	}
	return r, nil
}

// ResetLoginFailures forgets the account's failures (after an unlock),
// keeping the checks in flight.
func (s *Store) ResetLoginFailures(ctx context.Context, key string) error {
	if _, err := s.db.NewRaw("UPDATE login_failures SET failures = 0 WHERE email_hash = ?", failureKey(key)).Exec(ctx); err != nil {
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
	q := s.db.NewSelect().Model(&due).Where("unlock_at <= ?", s.now()).Limit(1000)
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
