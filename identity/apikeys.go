package identity

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/uptrace/bun"
)

// APIKey is a session-bound API key: it dies with its session.
type APIKey struct {
	bun.BaseModel `bun:"table:apikeys"`

	TokenHash        string    `bun:"tkn_hash,pk"`
	Issued           time.Time `bun:"issued"`
	Expires          time.Time `bun:"expires"`
	NotValidBefore   time.Time `bun:"not_valid_before"`
	UserID           int64     `bun:"user_id"`
	UserRole         string    `bun:"user_role"`
	SessionTokenHash string    `bun:"session_token_hash"`
}

// NoSessionKey is an API key that lives on its own and is renewed with a
// single-use refresh token.
type NoSessionKey struct {
	bun.BaseModel `bun:"table:apikeys_nosession"`

	TokenHash      string    `bun:"tkn_hash,pk"`
	Issued         time.Time `bun:"issued"`
	Expires        time.Time `bun:"expires"`
	NotValidBefore time.Time `bun:"not_valid_before"`
	RefreshHash    string    `bun:"refresh_hash"`
	RefreshIssued  time.Time `bun:"refresh_issued"`
	RefreshExpires time.Time `bun:"refresh_expires"`
	RefreshNBF     time.Time `bun:"refresh_nbf"`
	UserID         int64     `bun:"user_id"`
	UserRole       string    `bun:"user_role"`
}

// NewAPIKey stores a session-bound key for the token tkn.
func (s *Store) NewAPIKey(ctx context.Context, tkn, sessionToken string, userID int64, role string, issued, expires, nbf time.Time) error {
	k := &APIKey{
		TokenHash: TokenHash(tkn), Issued: issued.UTC(), Expires: expires.UTC(), NotValidBefore: nbf.UTC(),
		UserID: userID, UserRole: role, SessionTokenHash: TokenHash(sessionToken),
	}
	if _, err := s.db.NewInsert().Model(k).Exec(ctx); err != nil {
		if isForeignKeyViolation(err) {
			return ErrNotFound // the session (or its user) ended meanwhile
		}
		return fmt.Errorf("identity: insert API key: %w", err)
	}
	return nil
}

// VerifyAPIKey returns the session-bound key for (tkn, uid, role) when it is
// valid now: expires > now, issued < now and not_valid_before < now.
func (s *Store) VerifyAPIKey(ctx context.Context, tkn string, uid int64, role string) (*APIKey, error) {
	return validKey[APIKey](ctx, s, tkn, uid, role)
}

// RevokeAPIKey deletes the session-bound key (tkn, uid, role) and reports how
// many rows went.
func (s *Store) RevokeAPIKey(ctx context.Context, tkn string, uid int64, role string) (int64, error) {
	return s.revokeKey(ctx, (*APIKey)(nil), tkn, uid, role)
}

// revokeKey deletes one key row of the model's table.
func (s *Store) revokeKey(ctx context.Context, model any, tkn string, uid int64, role string) (int64, error) {
	digest := TokenHash(tkn)
	res, err := s.db.NewDelete().Model(model).
		Where("tkn_hash = ?", digest).Where("user_id = ?", uid).Where("user_role = ?", role).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("identity: delete API key: %w", err)
	}
	s.invalidate(ctx, "k:"+digest)
	n, _ := res.RowsAffected()
	return n, nil
}

// NoSessionKeyParams describe a new no-session key.
type NoSessionKeyParams struct {
	Token, RefreshToken                 string
	UserID                              int64
	UserRole                            string
	Issued, Expires, NotValidBefore     time.Time
	RefreshExpires, RefreshNotValidTill time.Time
}

func (p NoSessionKeyParams) row() *NoSessionKey {
	return &NoSessionKey{
		TokenHash: TokenHash(p.Token), Issued: p.Issued.UTC(), Expires: p.Expires.UTC(), NotValidBefore: p.NotValidBefore.UTC(),
		RefreshHash: TokenHash(p.RefreshToken), RefreshIssued: p.Issued.UTC(), RefreshExpires: p.RefreshExpires.UTC(),
		RefreshNBF: p.RefreshNotValidTill.UTC(), UserID: p.UserID, UserRole: p.UserRole,
	}
}

// NewNoSessionKey stores a no-session key and its refresh token's digest.
func (s *Store) NewNoSessionKey(ctx context.Context, p NoSessionKeyParams) error {
	if _, err := s.db.NewInsert().Model(p.row()).Exec(ctx); err != nil {
		return fmt.Errorf("identity: insert no-session API key: %w", err)
	}
	return nil
}

// VerifyNoSessionKey is VerifyAPIKey for no-session keys.
func (s *Store) VerifyNoSessionKey(ctx context.Context, tkn string, uid int64, role string) (*NoSessionKey, error) {
	return validKey[NoSessionKey](ctx, s, tkn, uid, role)
}

// validKey returns the key row of type K with token tkn when it belongs to
// (uid, role) and is valid now (issued < now, not_valid_before < now,
// expires > now).
func validKey[K APIKey | NoSessionKey](ctx context.Context, s *Store, tkn string, uid int64, role string) (*K, error) {
	digest := TokenHash(tkn)
	k, err := lookupKey[K](ctx, s, digest)
	if err != nil {
		return nil, err
	}
	var f keyFields
	switch x := any(k).(type) {
	case *APIKey:
		f = keyFields{x.UserID, x.UserRole, x.Expires, x.Issued, x.NotValidBefore}
	case *NoSessionKey:
		f = keyFields{x.UserID, x.UserRole, x.Expires, x.Issued, x.NotValidBefore}
	}
	t := s.now()
	if f.userID != uid || f.role != role || !f.expires.After(t) || !f.issued.Before(t) || !f.notValidBefore.Before(t) {
		return nil, ErrNotFound
	}
	return k, nil
}

// lookupKey reads a key row by token digest, from the cache or with the
// prepared statement.
func lookupKey[K APIKey | NoSessionKey](ctx context.Context, s *Store, digest string) (*K, error) {
	if k, ok := cachedKey[K](s.cache, digest); ok {
		return k, nil
	}
	epoch := s.cache.Epoch()
	var k K
	if err := s.getByKey(ctx, &k, "tkn_hash", digest); errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("identity: select API key: %w", err)
	}
	putKey(s.cache, &k, epoch)
	return &k, nil
}

// RevokeNoSessionKey deletes one no-session key and reports how many rows
// went.
func (s *Store) RevokeNoSessionKey(ctx context.Context, tkn string, uid int64, role string) (int64, error) {
	return s.revokeKey(ctx, (*NoSessionKey)(nil), tkn, uid, role)
}

// RevokeAllNoSessionKeys deletes every no-session key of (uid, role).
func (s *Store) RevokeAllNoSessionKeys(ctx context.Context, uid int64, role string) (int64, error) {
	res, err := s.db.NewDelete().Model((*NoSessionKey)(nil)).
		Where("user_id = ?", uid).Where("user_role = ?", role).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("identity: delete no-session API keys: %w", err)
	}
	s.invalidate(ctx, "uk:"+strconv.FormatInt(uid, 10))
	n, _ := res.RowsAffected()
	return n, nil
}

// RefreshableKey returns the no-session key (tkn, uid, role) whose refresh
// token is usable now (refresh_expires > now, refresh_nbf < now,
// refresh_issued < now); the key's own validity is not checked.
func (s *Store) RefreshableKey(ctx context.Context, tkn string, uid int64, role string) (*NoSessionKey, error) {
	var k NoSessionKey
	t := s.now()
	err := s.db.NewSelect().Model(&k).
		Where("tkn_hash = ?", TokenHash(tkn)).Where("user_id = ?", uid).Where("user_role = ?", role).
		Where("refresh_expires > ?", t).Where("refresh_nbf < ?", t).Where("refresh_issued < ?", t).
		Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("identity: select refreshable key: %w", err)
	}
	return &k, nil
}

// RefreshMatches compares a presented refresh token with a key's stored
// digest in constant time. A key brought over from the reference keeps the
// reference's argon2 hash of its refresh token instead of a digest
// (adoptedRefreshMatches verifies those).
func RefreshMatches(k *NoSessionKey, refreshToken string) bool {
	if isAdoptedRefreshHash(k.RefreshHash) {
		return adoptedRefreshMatches(k.RefreshHash, refreshToken)
	}
	return subtle.ConstantTimeCompare([]byte(TokenHash(refreshToken)), []byte(k.RefreshHash)) == 1
}

// ErrRefreshRace is returned by ReplaceNoSessionKey when the old key was
// already consumed (revoked or refreshed by a concurrent request).
var ErrRefreshRace = errors.New("identity: the key was already refreshed or revoked")

// ReplaceNoSessionKey consumes the old key (only if its refresh digest still
// matches and is usable) and stores the new one, in one transaction: of
// concurrent refreshes of one key exactly one succeeds, the others get
// ErrRefreshRace.
func (s *Store) ReplaceNoSessionKey(ctx context.Context, old *NoSessionKey, next NoSessionKeyParams) error {
	defer s.invalidate(ctx, "k:"+old.TokenHash)
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		t := s.now()
		// The DELETE comes first so that SQLite takes its write lock at once
		// (no read-to-write upgrade) and concurrent refreshes serialise here.
		res, err := tx.NewDelete().Model((*NoSessionKey)(nil)).
			Where("tkn_hash = ?", old.TokenHash).Where("refresh_hash = ?", old.RefreshHash).
			Where("user_id = ?", old.UserID).Where("user_role = ?", old.UserRole).
			Where("refresh_expires > ?", t).Exec(ctx)
		if err != nil {
			return fmt.Errorf("identity: consume old key: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrRefreshRace
		}
		if _, err := tx.NewInsert().Model(next.row()).Exec(ctx); err != nil {
			return fmt.Errorf("identity: insert refreshed key: %w", err)
		}
		return nil
	})
}

// PurgeAPIKeys deletes expired keys in batches: session-bound keys past
// their expiry and no-session keys whose key and refresh token have both
// expired before cutoff.
func (s *Store) PurgeAPIKeys(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
	if batch <= 0 {
		batch = 1000
	}
	cutoff = cutoff.UTC()
	var total int64
	for _, m := range []struct {
		model  any
		before []string
	}{
		{(*APIKey)(nil), []string{"expires"}},
		{(*NoSessionKey)(nil), []string{"expires", "refresh_expires"}},
	} {
		for {
			n, err := s.purgeBatch(ctx, m.model, "tkn_hash", m.before, cutoff, batch)
			if err != nil {
				return total, fmt.Errorf("identity: purge API keys: %w", err)
			}
			total += n
			if n < int64(batch) {
				break
			}
			if err := ctx.Err(); err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// keyFields are the fields of a key row that decide whether it is valid.
type keyFields struct {
	userID                          int64
	role                            string
	expires, issued, notValidBefore time.Time
}
