package identity

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Social login rows (issue 18): the logins started and not yet finished
// (social_states) and the provider accounts linked to users
// (social_logins).

// ErrLastLoginMethod is returned by UnlinkSocialLogin when the link is the
// user's last way to log in: no other link and no usable password.
var ErrLastLoginMethod = errors.New("identity: the last way to log in")

// socialState is a row of social_states. Only digests are stored: of the
// state and of the session token that started the login.
type socialState struct {
	bun.BaseModel `bun:"table:social_states"`

	StateHash   string    `bun:"state_hash,pk"`
	Provider    string    `bun:"provider"`
	SessionHash string    `bun:"session_hash"`
	Created     time.Time `bun:"created"`
	Expires     time.Time `bun:"expires"`
}

// SocialLogin is a row of social_logins: a provider account linked to a
// user.
type SocialLogin struct {
	bun.BaseModel `bun:"table:social_logins"`

	// Provider is the configured provider name.
	Provider string `bun:"provider,pk"`
	// Subject is the provider's stable id of the account.
	Subject string `bun:"subject,pk"`
	// UserID is the user the account logs in as.
	UserID int64 `bun:"user_id"`
	// Email is the address the provider gave when the link was made ("":
	// none).
	Email string `bun:"email"`
	// LinkedOn is when the link was made.
	LinkedOn time.Time `bun:"linked_on"`
}

// StartSocialLogin records a started social login for provider, bound to
// the session with token sessionToken, valid for ttl. Only the SHA-256
// digests of state and sessionToken are stored.
func (s *Store) StartSocialLogin(ctx context.Context, state, provider, sessionToken string, ttl time.Duration) error {
	now := s.now()
	row := &socialState{
		StateHash:   TokenHash(state),
		Provider:    provider,
		SessionHash: TokenHash(sessionToken),
		Created:     now,
		Expires:     now.Add(ttl),
	}
	if _, err := s.db.NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("identity: record social login state: %w", err)
	}
	return nil
}

// ConsumeSocialState deletes the unexpired state started for this provider
// by the session with token sessionToken and reports whether there was
// one. The check and the deletion are one statement, so of two finishes
// with the same state at most one gets true; a state presented with
// another session or provider stays usable by its own session.
func (s *Store) ConsumeSocialState(ctx context.Context, state, provider, sessionToken string) (bool, error) {
	res, err := s.db.NewDelete().Model((*socialState)(nil)).
		Where("state_hash = ?", TokenHash(state)).
		Where("provider = ?", provider).
		Where("session_hash = ?", TokenHash(sessionToken)).
		Where("expires > ?", s.now()).
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("identity: consume social login state: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("identity: consume social login state: %w", err)
	}
	return n == 1, nil
}

// PurgeSocialStates deletes the states that expired before cutoff, batch
// rows at a time, and returns how many went.
func (s *Store) PurgeSocialStates(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
	if batch <= 0 {
		batch = 1000
	}
	var total int64
	for {
		n, err := s.purgeBatch(ctx, (*socialState)(nil), "state_hash", []string{"expires"}, cutoff.UTC(), batch)
		if err != nil {
			return total, fmt.Errorf("identity: purge social login states: %w", err)
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

// SocialLoginBySubject returns the link of the provider account (provider,
// subject), or ErrNotFound.
func (s *Store) SocialLoginBySubject(ctx context.Context, provider, subject string) (*SocialLogin, error) {
	var l SocialLogin
	err := s.db.NewSelect().Model(&l).Where("provider = ?", provider).Where("subject = ?", subject).Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("identity: select social login: %w", err)
	}
	return &l, nil
}

// SocialLogins returns the links of a user ordered by provider (empty when
// none).
func (s *Store) SocialLogins(ctx context.Context, userID int64) ([]SocialLogin, error) {
	out := []SocialLogin{}
	if err := s.db.NewSelect().Model(&out).Where("user_id = ?", userID).Order("provider ASC").Scan(ctx); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("identity: list social logins: %w", err)
	}
	return out, nil
}

// LinkSocialLogin links a provider account to l.UserID (LinkedOn is set).
// A provider account linked already, or a user with an account of this
// provider already, is ErrDuplicate; an unknown user ErrNoUser.
func (s *Store) LinkSocialLogin(ctx context.Context, l *SocialLogin) error {
	l.LinkedOn = s.now()
	if _, err := s.db.NewInsert().Model(l).Exec(ctx); err != nil {
		switch {
		case isUniqueViolation(err):
			return ErrDuplicate
		case isForeignKeyViolation(err):
			return ErrNoUser
		}
		return fmt.Errorf("identity: link social login: %w", err)
	}
	return nil
}

// CreateSocialUser inserts u and links the provider account l to it in one
// transaction (u.UserID, the times and l.UserID are set). When the e-mail,
// the system id or the provider account is taken, nothing is written and
// the error is ErrDuplicate: two concurrent first logins with one provider
// account never make two users.
func (s *Store) CreateSocialUser(ctx context.Context, u *User, l *SocialLogin) error {
	t := s.now()
	u.CreatedOn, u.LastUpdated = t, t
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(u).Returning("user_id").Exec(ctx); err != nil {
			return err
		}
		l.UserID, l.LinkedOn = u.UserID, t
		_, err := tx.NewInsert().Model(l).Exec(ctx)
		return err
	})
	if err != nil {
		u.UserID = 0
		if isUniqueViolation(err) {
			return ErrDuplicate
		}
		return fmt.Errorf("identity: create social user: %w", err)
	}
	return nil
}

// UnlinkSocialLogin removes the user's link of provider. It refuses with
// ErrLastLoginMethod when that would leave the user no way to log in (no
// other link and no usable password, see HasUsablePassword), and answers
// ErrNotFound when there is no such link. Concurrent unlinks of one user
// run one after the other (the user's row is locked first), so two of them
// cannot remove the last two links.
func (s *Store) UnlinkSocialLogin(ctx context.Context, userID int64, provider string) error {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// Taking the user's row lock first (an update: the same on every
		// database) serialises the unlinks of one user.
		res, err := tx.NewUpdate().Model((*User)(nil)).Set("last_updated = ?", s.now()).Where("user_id = ?", userID).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		var links []SocialLogin
		if err := tx.NewSelect().Model(&links).Where("user_id = ?", userID).Scan(ctx); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		found := false
		for _, l := range links {
			found = found || l.Provider == provider
		}
		if !found {
			return ErrNotFound
		}
		if len(links) == 1 {
			var u User
			if err := tx.NewSelect().Model(&u).Where("user_id = ?", userID).Scan(ctx); err != nil {
				return err
			}
			if !HasUsablePassword(&u) {
				return ErrLastLoginMethod
			}
		}
		_, err = tx.NewDelete().Model((*SocialLogin)(nil)).Where("user_id = ?", userID).Where("provider = ?", provider).Exec(ctx)
		return err
	})
	// The user's last_updated changed (or not, after a rollback).
	s.invalidate(ctx, userKey(userID))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrLastLoginMethod):
		return err
	}
	return fmt.Errorf("identity: unlink social login: %w", err)
}

// PasswordPlaceholderKey is the extra_info key that marks a user created
// by a social login: its value is the digest of the password hash stored
// at creation (see MarkPasswordPlaceholder).
const PasswordPlaceholderKey = "social_password_placeholder"

// MarkPasswordPlaceholder records in extra that hash, stored as the user's
// password, is a placeholder no one knows the password of. The mark holds
// only a digest of the hash; it stops counting once the password is set
// (a reset or a change stores another hash).
func MarkPasswordPlaceholder(extra map[string]any, hash string) {
	extra[PasswordPlaceholderKey] = placeholderDigest(hash)
}

// HasUsablePassword reports whether someone can know the user's password:
// false for an empty password and for the placeholder a social login
// stored at creation, as long as it was not replaced.
func HasUsablePassword(u *User) bool {
	if u.Password == "" {
		return false
	}
	mark, ok := u.ExtraInfo.Object()[PasswordPlaceholderKey].(string)
	if !ok {
		return true
	}
	return subtle.ConstantTimeCompare([]byte(mark), []byte(placeholderDigest(u.Password))) != 1
}

func placeholderDigest(hash string) string {
	sum := sha256.Sum256([]byte("authnzrv social placeholder\x00" + hash))
	return hex.EncodeToString(sum[:])
}
