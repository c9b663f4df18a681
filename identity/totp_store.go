package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// TOTP second-factor rows (migration 20261130000002_totp). The store keeps
// what it is given: the caller seals the secret (identity/totp's Sealer,
// the user id as associated data) and hashes the recovery codes; login
// challenges are stored here only as their SHA-256 digests. Every check
// that makes something single-use is one conditional statement, so two
// concurrent requests never both succeed.

// ErrTOTPEnabled is returned when a new pending secret is offered for a
// user whose TOTP is already on.
var ErrTOTPEnabled = errors.New("identity: TOTP is already enabled")

// TOTPSecret is a row of totp_secrets.
type TOTPSecret struct {
	bun.BaseModel `bun:"table:totp_secrets"`

	UserID int64 `bun:"user_id,pk"`
	// Sealed is the sealed secret as the Sealer wrote it.
	Sealed string `bun:"secret"`
	// Enabled is false between enrolment and confirmation.
	Enabled bool `bun:"enabled"`
	// LastStep is the time step of the last accepted code (0: none yet).
	LastStep  int64      `bun:"last_step"`
	CreatedOn time.Time  `bun:"created_on"`
	EnabledOn *time.Time `bun:"enabled_on"`
}

// totpRecoveryCode is a row of totp_recovery_codes.
type totpRecoveryCode struct {
	bun.BaseModel `bun:"table:totp_recovery_codes"`

	UserID int64      `bun:"user_id,pk"`
	Digest string     `bun:"digest,pk"`
	UsedOn *time.Time `bun:"used_on"`
}

// totpChallenge is a row of totp_challenges.
type totpChallenge struct {
	bun.BaseModel `bun:"table:totp_challenges"`

	Digest  string    `bun:"digest,pk"`
	UserID  int64     `bun:"user_id"`
	Expires time.Time `bun:"expires"`
}

// TOTPSecretOf returns the user's TOTP row (pending or enabled), or
// ErrNotFound when the user has none.
func (s *Store) TOTPSecretOf(ctx context.Context, userID int64) (*TOTPSecret, error) {
	var row TOTPSecret
	err := s.db.NewSelect().Model(&row).Where("user_id = ?", userID).Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("identity: select TOTP secret: %w", err)
	}
	return &row, nil
}

// PutPendingTOTP stores sealed as the user's new, not yet confirmed
// secret, replacing a pending one. A user whose TOTP is on keeps it:
// ErrTOTPEnabled. An unknown user is ErrNoUser.
func (s *Store) PutPendingTOTP(ctx context.Context, userID int64, sealed string) error {
	now := s.now()
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*TOTPSecret)(nil)).
			Set("secret = ?", sealed).Set("last_step = 0").Set("created_on = ?", now).
			Where("user_id = ?", userID).Where("enabled = ?", false).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		row := &TOTPSecret{UserID: userID, Sealed: sealed, CreatedOn: now}
		if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
			switch {
			case isUniqueViolation(err):
				return ErrTOTPEnabled
			case isForeignKeyViolation(err):
				return ErrNoUser
			}
			return err
		}
		return nil
	})
	if errors.Is(err, ErrTOTPEnabled) || errors.Is(err, ErrNoUser) {
		return err
	}
	if err != nil {
		return fmt.Errorf("identity: store pending TOTP secret: %w", err)
	}
	return nil
}

// EnableTOTP turns the user's pending secret on after its first code, of
// time step step, and replaces the user's recovery codes with digests. It
// reports false, changing nothing, when there is no pending secret any
// more or its last step is not before step (a concurrent confirmation).
func (s *Store) EnableTOTP(ctx context.Context, userID, step int64, digests []string) (bool, error) {
	now := s.now()
	ok := false
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*TOTPSecret)(nil)).
			Set("enabled = ?", true).Set("last_step = ?", step).Set("enabled_on = ?", now).
			Where("user_id = ?", userID).Where("enabled = ?", false).Where("last_step < ?", step).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		if _, err := tx.NewDelete().Model((*totpRecoveryCode)(nil)).Where("user_id = ?", userID).Exec(ctx); err != nil {
			return err
		}
		if len(digests) > 0 {
			rows := make([]totpRecoveryCode, len(digests))
			for i, d := range digests {
				rows[i] = totpRecoveryCode{UserID: userID, Digest: d}
			}
			if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
				return err
			}
		}
		ok = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("identity: enable TOTP: %w", err)
	}
	return ok, nil
}

// UseTOTPStep records step as the last accepted step of the user's enabled
// secret, in one statement that succeeds only when step is later than the
// stored one: it reports false when a concurrent request used this step (or
// a later one) first, or TOTP is not on.
func (s *Store) UseTOTPStep(ctx context.Context, userID, step int64) (bool, error) {
	res, err := s.db.NewUpdate().Model((*TOTPSecret)(nil)).Set("last_step = ?", step).
		Where("user_id = ?", userID).Where("enabled = ?", true).Where("last_step < ?", step).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("identity: use TOTP step: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// UnusedRecoveryCodes returns the digests of the user's recovery codes not
// spent yet.
func (s *Store) UnusedRecoveryCodes(ctx context.Context, userID int64) ([]string, error) {
	var out []string
	err := s.db.NewSelect().Model((*totpRecoveryCode)(nil)).Column("digest").
		Where("user_id = ?", userID).Where("used_on IS NULL").Order("digest").Scan(ctx, &out)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("identity: select recovery codes: %w", err)
	}
	return out, nil
}

// UseRecoveryCode spends the user's recovery code with this digest, in one
// statement that succeeds only while it is unspent: false when it was
// spent (or never existed).
func (s *Store) UseRecoveryCode(ctx context.Context, userID int64, digest string) (bool, error) {
	res, err := s.db.NewUpdate().Model((*totpRecoveryCode)(nil)).Set("used_on = ?", s.now()).
		Where("user_id = ?", userID).Where("digest = ?", digest).Where("used_on IS NULL").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("identity: use recovery code: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// DisableTOTP deletes the user's secret, recovery codes and pending login
// challenges, and reports whether there was a secret.
func (s *Store) DisableTOTP(ctx context.Context, userID int64) (bool, error) {
	existed := false
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*totpChallenge)(nil)).Where("user_id = ?", userID).Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*totpRecoveryCode)(nil)).Where("user_id = ?", userID).Exec(ctx); err != nil {
			return err
		}
		res, err := tx.NewDelete().Model((*TOTPSecret)(nil)).Where("user_id = ?", userID).Exec(ctx)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		existed = n > 0
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("identity: disable TOTP: %w", err)
	}
	return existed, nil
}

// TOTPStatus reports whether the user's TOTP is on and how many recovery
// codes are left unspent.
func (s *Store) TOTPStatus(ctx context.Context, userID int64) (enabled bool, codesLeft int, err error) {
	row, err := s.TOTPSecretOf(ctx, userID)
	if errors.Is(err, ErrNotFound) || (err == nil && !row.Enabled) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	n, err := s.db.NewSelect().Model((*totpRecoveryCode)(nil)).
		Where("user_id = ?", userID).Where("used_on IS NULL").Count(ctx)
	if err != nil {
		return false, 0, fmt.Errorf("identity: count recovery codes: %w", err)
	}
	return true, int(n), nil
}

// NewTOTPChallenge makes a login challenge for the user, valid for ttl,
// and returns it (43 characters of base64url, 32 random bytes); only its
// digest is stored. The user's expired challenges are removed on the way.
func (s *Store) NewTOTPChallenge(ctx context.Context, userID int64, ttl time.Duration) (string, error) {
	token, err := NewToken()
	if err != nil {
		return "", err
	}
	now := s.now()
	if _, err := s.db.NewDelete().Model((*totpChallenge)(nil)).
		Where("user_id = ?", userID).Where("expires <= ?", now).Exec(ctx); err != nil {
		return "", fmt.Errorf("identity: purge TOTP challenges: %w", err)
	}
	row := &totpChallenge{Digest: TokenHash(token), UserID: userID, Expires: now.Add(ttl)}
	if _, err := s.db.NewInsert().Model(row).Exec(ctx); err != nil {
		if isForeignKeyViolation(err) {
			return "", ErrNoUser
		}
		return "", fmt.Errorf("identity: insert TOTP challenge: %w", err)
	}
	return token, nil
}

// TOTPChallengeUser returns the user of a live (unexpired) challenge, or
// ErrNotFound.
func (s *Store) TOTPChallengeUser(ctx context.Context, challenge string) (int64, error) {
	var row totpChallenge
	err := s.db.NewSelect().Model(&row).Where("digest = ?", TokenHash(challenge)).
		Where("expires > ?", s.now()).Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("identity: select TOTP challenge: %w", err)
	}
	return row.UserID, nil
}

// ConsumeTOTPChallenge deletes the user's live challenge in the statement
// that checks it: false when it expired or was consumed already.
func (s *Store) ConsumeTOTPChallenge(ctx context.Context, challenge string, userID int64) (bool, error) {
	res, err := s.db.NewDelete().Model((*totpChallenge)(nil)).Where("digest = ?", TokenHash(challenge)).
		Where("user_id = ?", userID).Where("expires > ?", s.now()).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("identity: consume TOTP challenge: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// DeleteTOTPChallenges deletes every login challenge of the user (when the
// lock-out triggers) and reports how many went.
func (s *Store) DeleteTOTPChallenges(ctx context.Context, userID int64) (int64, error) {
	res, err := s.db.NewDelete().Model((*totpChallenge)(nil)).Where("user_id = ?", userID).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("identity: delete TOTP challenges: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// PurgeTOTPChallenges deletes challenges that expired before cutoff, batch
// rows at a time, and returns how many went.
func (s *Store) PurgeTOTPChallenges(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
	if batch <= 0 {
		batch = 1000
	}
	var total int64
	for {
		del := s.db.NewDelete().Model((*totpChallenge)(nil))
		if isMySQL(s.db) {
			del = del.Where("expires < ?", cutoff.UTC()).Limit(int64(batch))
		} else {
			sub := s.db.NewSelect().Model((*totpChallenge)(nil)).Column("digest").Where("expires < ?", cutoff.UTC()).Limit(int64(batch))
			del = del.Where("digest IN (?)", sub)
		}
		res, err := del.Exec(ctx)
		if err != nil {
			return total, fmt.Errorf("identity: purge TOTP challenges: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
		if n < int64(batch) {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}
