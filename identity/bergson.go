package identity

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Bergson Authenticator accounts are username-only: a row of users whose
// email column holds the username. Usernames never contain '@' and every
// e-mail must, so the two cannot collide. Such a row is e-mail-verified,
// active when the account is enabled, has the role "authenticated" and
// extra_info {"provenance": "bergson", "type": "username-only"}.

// BergsonRole is the role of a Bergson account.
const BergsonRole = "authenticated"

// bergsonExtra is the extra_info of a Bergson account.
func bergsonExtra() JSON { return JSON(`{"provenance": "bergson", "type": "username-only"}`) }

// IsBergsonAccount reports whether u is a username-only Bergson account.
func IsBergsonAccount(u *User) bool {
	x := u.ExtraInfo.Object()
	return x["provenance"] == "bergson" && x["type"] == "username-only"
}

// newBergsonUser is the row of a new Bergson account.
func newBergsonUser(username, hash string, enabled bool) *User {
	return &User{
		SystemID: uuid.NewString(), Password: hash, Email: username, EmailVerified: true, IsActive: enabled,
		FailedLoginTries: new(int64), ExtraInfo: bergsonExtra(), UserRole: BergsonRole,
	}
}

// CreateBergsonAccount inserts an enabled username-only account with the
// given password hash; a taken username is ErrDuplicate. It is one INSERT:
// nothing is written when it fails.
func (s *Store) CreateBergsonAccount(ctx context.Context, username, hash string) (*User, error) {
	u := newBergsonUser(username, hash, true)
	if err := s.InsertUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// SetAccountEnabled sets is_active of the user whose e-mail column holds
// username (and nothing else). Disabling ends the user's sessions, as
// deactivation through the Fernet API does. A missing user is ErrNotFound.
func (s *Store) SetAccountEnabled(ctx context.Context, username string, enabled bool) error {
	return s.updateAccount(ctx, username, !enabled, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Set("is_active = ?", enabled)
	})
}

// SetAccountPassword stores a new password hash for the user whose e-mail
// column holds username. A missing user is ErrNotFound.
func (s *Store) SetAccountPassword(ctx context.Context, username, hash string) error {
	return s.updateAccount(ctx, username, false, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Set("password = ?", hash)
	})
}

// updateAccount runs one UPDATE on the user row with this e-mail column
// value, setting last_updated, in a transaction that also deletes the
// user's sessions when endSessions is set; the identity caches of every
// instance forget the user afterwards.
func (s *Store) updateAccount(ctx context.Context, username string, endSessions bool, set func(*bun.UpdateQuery) *bun.UpdateQuery) error {
	u, err := s.UserByEmail(ctx, username)
	if err != nil {
		return err
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewUpdate().Model((*User)(nil)).Set("last_updated = ?", s.now()).Where("user_id = ?", u.UserID)
		if _, err := set(q).Exec(ctx); err != nil {
			return err
		}
		if endSessions {
			_, err := tx.NewDelete().Model((*Session)(nil)).Where("user_id = ?", u.UserID).Exec(ctx)
			return err
		}
		return nil
	})
	uid := strconv.FormatInt(u.UserID, 10)
	s.invalidate(ctx, "u:"+uid, "us:"+uid, "uk:"+uid)
	if err != nil {
		return fmt.Errorf("identity: update account: %w", err)
	}
	return nil
}

// HawkNonceFresh records the nonce of a Hawk request by sender and reports
// whether it is new (a duplicate insert means a replay). The nonce is kept
// as its SHA-256 digest; ts is the request's Hawk timestamp.
func (s *Store) HawkNonceFresh(ctx context.Context, sender, nonce string, ts int64) (bool, error) {
	sum := sha256.Sum256([]byte(nonce))
	row := &hawkNonce{Sender: sender, Nonce: hex.EncodeToString(sum[:]), TS: ts}
	if _, err := s.db.NewInsert().Model(row).Exec(ctx); err != nil {
		if isUniqueViolation(err) {
			return false, nil
		}
		return false, fmt.Errorf("identity: record Hawk nonce: %w", err)
	}
	return true, nil
}

// hawkNonce is a row of hawk_nonces.
type hawkNonce struct {
	bun.BaseModel `bun:"table:hawk_nonces"`

	Sender string `bun:"sender,pk"`
	Nonce  string `bun:"nonce,pk"`
	TS     int64  `bun:"ts"`
}

// PurgeHawkNonces deletes the nonces of requests whose timestamp is before
// cutoff, batch rows at a time, and returns how many went. A nonce may go
// once its request's timestamp is older than the allowed skew: a replay of
// that request is refused as stale.
func (s *Store) PurgeHawkNonces(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
	if batch <= 0 {
		batch = 1000
	}
	var total int64
	for {
		n, err := s.purgeNonceBatch(ctx, cutoff.Unix(), batch)
		if err != nil {
			return total, fmt.Errorf("identity: purge Hawk nonces: %w", err)
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

func (s *Store) purgeNonceBatch(ctx context.Context, cutoff int64, batch int) (int64, error) {
	del := s.db.NewDelete().Model((*hawkNonce)(nil))
	if isMySQL(s.db) {
		del = del.Where("ts < ?", cutoff).Limit(int64(batch))
	} else {
		// A two-column key: select the batch by ts, delete by the pair.
		sub := s.db.NewSelect().Model((*hawkNonce)(nil)).Column("sender", "nonce").Where("ts < ?", cutoff).Limit(int64(batch))
		del = del.Where("(sender, nonce) IN (?)", sub)
	}
	res, err := del.Exec(ctx)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// BergsonSource is one row of a Bergson Authenticator accounts table.
type BergsonSource struct {
	ID        int64
	Enabled   bool
	Username  string
	Hash      string // the stored form (password.BergsonHash)
	CreatedAt time.Time
	UpdatedAt *time.Time
}

// BergsonImportOutcome is what happened to one imported account.
type BergsonImportOutcome int

// Outcomes of ImportBergsonAccount.
const (
	// BergsonImported: a new account was inserted.
	BergsonImported BergsonImportOutcome = iota + 1
	// BergsonUpdated: an earlier import's row, still on its Bergson hash,
	// took the source's hash and enabled flag.
	BergsonUpdated
	// BergsonUnchanged: an earlier import's row already holds the source's
	// values.
	BergsonUnchanged
	// BergsonInUse: an earlier import's row whose password was changed or
	// rehashed here since: it is left alone.
	BergsonInUse
	// BergsonClash: a user that is not a Bergson account holds the
	// username: it is left alone.
	BergsonClash
)

// ImportBergsonAccount brings one source account over, idempotently: a new
// username is inserted (enabled flag, hash and times as in the source); a
// row of an earlier import that still holds a Bergson hash is brought up to
// date; anything else is left alone. Each step is one statement, in one
// transaction, so an account is never half-written.
func (s *Store) ImportBergsonAccount(ctx context.Context, a BergsonSource, isBergsonHash func(string) bool) (BergsonImportOutcome, error) {
	var out BergsonImportOutcome
	var updated int64
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var cur User
		err := tx.NewSelect().Model(&cur).Where("email = ?", a.Username).Limit(1).Scan(ctx)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			u := newBergsonUser(a.Username, a.Hash, a.Enabled)
			u.CreatedOn = a.CreatedAt.UTC().Truncate(time.Microsecond)
			u.LastUpdated = u.CreatedOn
			if a.UpdatedAt != nil {
				u.LastUpdated = a.UpdatedAt.UTC().Truncate(time.Microsecond)
			}
			if _, err := tx.NewInsert().Model(u).Returning("user_id").Exec(ctx); err != nil {
				return fmt.Errorf("insert account %d: %w", a.ID, err)
			}
			out = BergsonImported
			return nil
		case err != nil:
			return err
		case !IsBergsonAccount(&cur):
			out = BergsonClash
			return nil
		case !isBergsonHash(cur.Password):
			out = BergsonInUse
			return nil
		case cur.Password == a.Hash && cur.IsActive == a.Enabled:
			out = BergsonUnchanged
			return nil
		}
		if _, err := tx.NewUpdate().Model((*User)(nil)).Set("password = ?", a.Hash).Set("is_active = ?", a.Enabled).
			Set("last_updated = ?", s.now()).Where("user_id = ?", cur.UserID).Exec(ctx); err != nil {
			return fmt.Errorf("update account %d: %w", a.ID, err)
		}
		if !a.Enabled {
			if _, err := tx.NewDelete().Model((*Session)(nil)).Where("user_id = ?", cur.UserID).Exec(ctx); err != nil {
				return fmt.Errorf("end sessions of account %d: %w", a.ID, err)
			}
		}
		updated = cur.UserID
		out = BergsonUpdated
		return nil
	})
	if updated != 0 {
		uid := strconv.FormatInt(updated, 10)
		s.invalidate(ctx, "u:"+uid, "us:"+uid, "uk:"+uid)
	}
	if err != nil {
		return 0, fmt.Errorf("identity: import Bergson account: %w", err)
	}
	return out, nil
}
