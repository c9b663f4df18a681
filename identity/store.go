package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"
)

// Store reads and writes identity rows. It is safe for concurrent use.
type Store struct {
	db *bun.DB
	// stmts holds prepared statements by model type and key column
	// (prepared.go).
	stmts sync.Map
	// cache serves hot reads (nil: off; cache.go, invalidate.go).
	cache *Cache
	// clock is the time source of every timestamp the store writes and
	// every validity window it checks.
	clock func() time.Time
	// publishers send invalidations to other instances besides NOTIFY.
	pubMu      sync.RWMutex
	publishers []func(ctx context.Context, msg string) error
	// flavour caches, for a MySQL-dialect database, whether the server is
	// MariaDB (flavourMariaDB) or MySQL (flavourMySQL); 0 until asked.
	flavour atomic.Int32
}

const (
	flavourMariaDB = 1
	flavourMySQL   = 2
)

// isMariaDB reports whether the MySQL-dialect server is MariaDB, asking it
// once.
func (s *Store) isMariaDB(ctx context.Context) (bool, error) {
	if f := s.flavour.Load(); f != 0 {
		return f == flavourMariaDB, nil
	}
	var version string
	if err := s.db.NewRaw("SELECT version()").Scan(ctx, &version); err != nil {
		return false, fmt.Errorf("identity: server version: %w", err)
	}
	f := int32(flavourMySQL)
	if strings.Contains(strings.ToLower(version), "mariadb") {
		f = flavourMariaDB
	}
	s.flavour.Store(f)
	return f == flavourMariaDB, nil
}

// NewStore returns a Store over an open, migrated database.
func NewStore(db *bun.DB) *Store { return &Store{db: db, clock: time.Now} }

// SetClock makes the store read the time from clock (tests; the default
// is time.Now).
func (s *Store) SetClock(clock func() time.Time) { s.clock = clock }

// DB returns the underlying database handle.
func (s *Store) DB() *bun.DB { return s.db }

// NewToken returns 32 random bytes as URL-safe base64 without padding (43
// characters), the format of session tokens and API-key tokens.
func NewToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("identity: random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// TokenHash returns the hex SHA-256 digest under which a token is stored.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Ping checks that the database answers and that user 1 is a superuser.
func (s *Store) Ping(ctx context.Context) error {
	var role string
	err := s.db.NewSelect().Table("users").Column("user_role").Where("user_id = ?", 1).Scan(ctx, &role)
	if err != nil {
		return fmt.Errorf("identity: health probe: %w", err)
	}
	if role != "superuser" {
		return fmt.Errorf("identity: health probe: user 1 has role %q", role)
	}
	return nil
}

// NewSessionParams are the values of a new session.
type NewSessionParams struct {
	IPAddress string
	UserAgent string
	UserID    int64
	Expires   time.Time
	ExtraInfo JSON
}

// CreateSession stores a new session and returns its token. An unknown user
// is ErrNoUser.
func (s *Store) CreateSession(ctx context.Context, p NewSessionParams) (string, error) {
	token, err := NewToken()
	if err != nil {
		return "", err
	}
	row := &Session{
		TokenHash:     TokenHash(token),
		IPAddress:     p.IPAddress,
		UserAgent:     p.UserAgent,
		UserID:        p.UserID,
		Created:       s.now(),
		Expires:       p.Expires.UTC().Truncate(time.Microsecond),
		ExtraInfoJSON: p.ExtraInfo,
	}
	if _, err := s.db.NewInsert().Model(row).Exec(ctx); err != nil {
		if isForeignKeyViolation(err) {
			return "", ErrNoUser
		}
		return "", fmt.Errorf("identity: insert session: %w", err)
	}
	return token, nil
}

// LiveSession returns the unexpired session with this token and its user, or
// ErrNotFound. The user is returned whatever its state (callers check
// is_active and the role).
func (s *Store) LiveSession(ctx context.Context, token string) (*SessionInfo, error) {
	digest := TokenHash(token)
	if sess, ok := s.cache.Session(digest); ok {
		if !sess.Expires.After(s.now()) {
			return nil, ErrNotFound
		}
		u, err := s.UserByID(ctx, sess.UserID)
		if err != nil {
			return nil, err
		}
		return &SessionInfo{Session: *sess, User: *u}, nil
	}
	epoch := s.cache.Epoch()
	si, err := s.sessionWithUser(ctx, digest)
	if err != nil {
		return nil, err
	}
	s.cache.putSession(&si.Session, epoch)
	s.cache.putUser(&si.User, epoch)
	if !si.Session.Expires.After(s.now()) {
		return nil, ErrNotFound
	}
	return si, nil
}

// DeleteSession deletes the session with this token (expired or not) and
// reports how many rows went.
func (s *Store) DeleteSession(ctx context.Context, token string) (int64, error) {
	digest := TokenHash(token)
	res, err := s.db.NewDelete().Model((*Session)(nil)).Where("token_hash = ?", digest).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("identity: delete session: %w", err)
	}
	s.invalidate(ctx, "s:"+digest, "ks:"+digest)
	n, _ := res.RowsAffected()
	return n, nil
}

// DeleteUserSessions deletes every session of userID except the one with
// token keep ("" keeps none) and reports how many rows went.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64, keep string) (int64, error) {
	q := s.db.NewDelete().Model((*Session)(nil)).Where("user_id = ?", userID)
	if keep != "" {
		q = q.Where("token_hash <> ?", TokenHash(keep))
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("identity: delete user sessions: %w", err)
	}
	uid := strconv.FormatInt(userID, 10)
	s.invalidate(ctx, "us:"+uid, "uk:"+uid) // session-bound keys go with their sessions
	n, _ := res.RowsAffected()
	return n, nil
}

// UpdateSessionExtra replaces the extra_info_json of a live session.
func (s *Store) UpdateSessionExtra(ctx context.Context, token string, extra JSON) error {
	digest := TokenHash(token)
	res, err := s.db.NewUpdate().Model((*Session)(nil)).
		Set("extra_info_json = ?", extra).
		Where("token_hash = ?", digest).
		Where("expires > ?", s.now()).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("identity: update session: %w", err)
	}
	s.invalidate(ctx, "s:"+digest)
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// PurgeSessions deletes sessions that expired before cutoff, batch rows at a
// time so that a large purge never holds a long lock, and returns the count.
func (s *Store) PurgeSessions(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
	if batch <= 0 {
		batch = 1000
	}
	var total int64
	for {
		n, err := s.purgeBatch(ctx, (*Session)(nil), "token_hash", []string{"expires"}, cutoff.UTC(), batch)
		if err != nil {
			return total, fmt.Errorf("identity: purge sessions: %w", err)
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

// purgeBatch deletes up to batch rows of model's table whose every column
// in before is earlier than cutoff, and returns how many went. key is the
// table's primary key.
func (s *Store) purgeBatch(ctx context.Context, model any, key string, before []string, cutoff time.Time, batch int) (int64, error) {
	del := s.db.NewDelete().Model(model)
	if isMySQL(s.db) {
		// MySQL refuses a LIMIT subquery on the table being deleted from;
		// it has DELETE ... LIMIT instead.
		for _, col := range before {
			del = del.Where("? < ?", bun.Ident(col), cutoff)
		}
		del = del.Limit(int64(batch))
	} else {
		sub := s.db.NewSelect().Model(model).Column(key)
		for _, col := range before {
			sub = sub.Where("? < ?", bun.Ident(col), cutoff)
		}
		del = del.Where("? IN (?)", bun.Ident(key), sub.Limit(int64(batch)))
	}
	res, err := del.Exec(ctx)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// UserByID returns the user with this id or ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id int64) (*User, error) {
	if u, ok := s.cache.User(id); ok {
		return u, nil
	}
	epoch := s.cache.Epoch()
	var u User
	err := s.getByKey(ctx, &u, "user_id", id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("identity: select user: %w", err)
	}
	s.cache.putUser(&u, epoch)
	return &u, nil
}

// UserByEmail returns the user with exactly this e-mail or ErrNotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (*User, error) {
	var u User
	err := s.db.NewSelect().Model(&u).Where("email = ?", email).Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("identity: select user: %w", err)
	}
	return &u, nil
}

// ListUsers returns all users (id == nil) or the user with that id, ordered by id.
func (s *Store) ListUsers(ctx context.Context, id *int64) ([]User, error) {
	var us []User
	q := s.db.NewSelect().Model(&us).Order("user_id ASC")
	if id != nil {
		q = q.Where("user_id = ?", *id)
	}
	if err := q.Scan(ctx); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("identity: list users: %w", err)
	}
	if us == nil {
		us = []User{}
	}
	return us, nil
}

// InsertUser inserts u (UserID is assigned). A taken e-mail or system_id
// gives ErrDuplicate.
func (s *Store) InsertUser(ctx context.Context, u *User) error {
	t := s.now()
	u.CreatedOn, u.LastUpdated = t, t
	if _, err := s.db.NewInsert().Model(u).Returning("user_id").Exec(ctx); err != nil {
		if isUniqueViolation(err) {
			return ErrDuplicate
		}
		return fmt.Errorf("identity: insert user: %w", err)
	}
	return nil
}

// ResetSignup overwrites an inactive, unverified sign-up with a new one (the
// user_id, system_id and created_on are kept) — the reference's re-sign-up
// after verify_retry_wait.
func (s *Store) ResetSignup(ctx context.Context, userID int64, fullName, hash, email string, extra JSON) error {
	t := s.now()
	_, err := s.db.NewUpdate().Model((*User)(nil)).
		Set("full_name = ?", fullName).
		Set("password = ?", hash).
		Set("email = ?", email).
		Set("email_verified = ?", false).
		Set("is_active = ?", false).
		Set("emailverify_sent_datetime = ?", t).
		Set("user_role = ?", "locked").
		Set("last_updated = ?", t).
		Set("extra_info = ?", extra).
		Where("user_id = ?", userID).
		Where("is_active = ?", false).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("identity: reset sign-up: %w", err)
	}
	s.invalidate(ctx, userKey(userID))
	return nil
}

// VerifyEmail marks the unverified user with this e-mail as verified and
// active with the given role. It acts only on users whose e-mail is not yet
// verified (quirk #26: a locked, verified user is not re-activated).
func (s *Store) VerifyEmail(ctx context.Context, email, role string) error {
	if u, err := s.UserByEmail(ctx, email); err == nil {
		defer s.invalidate(ctx, userKey(u.UserID))
	}
	_, err := s.db.NewUpdate().Model((*User)(nil)).
		Set("is_active = ?", true).
		Set("email_verified = ?", true).
		Set("user_role = ?", role).
		Set("last_updated = ?", s.now()).
		Where("email = ?", email).
		Where("is_active = ?", false).
		Where("email_verified = ?", false).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("identity: verify email: %w", err)
	}
	return nil
}

// SetPasswordHash stores a new password hash for the user with this id and
// (stored) e-mail; ErrNotFound when no such user is there (nothing was
// changed: never a success without the new password).
func (s *Store) SetPasswordHash(ctx context.Context, userID int64, email, hash string) error {
	res, err := s.db.NewUpdate().Model((*User)(nil)).
		Set("password = ?", hash).
		Set("last_updated = ?", s.now()).
		Where("user_id = ?", userID).
		Where("email = ?", email).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("identity: update password: %w", err)
	}
	s.invalidate(ctx, userKey(userID))
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrNotFound
	}
	return nil
}

// RunInTx runs fn in a transaction.
func (s *Store) RunInTx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	return s.db.RunInTx(ctx, nil, fn)
}

// AllActive reports whether every id names an existing, active user. Ids
// are read from the cache, then with the prepared user read when few are
// missing (user-check-access names one to three), else with one query.
func (s *Store) AllActive(ctx context.Context, ids []int64) (bool, error) {
	var missing []int64
	for _, id := range ids {
		if slices.Contains(missing, id) {
			continue
		}
		if u, ok := s.cache.User(id); ok {
			if !u.IsActive {
				return false, nil
			}
			continue
		}
		missing = append(missing, id)
	}
	if len(missing) <= 4 {
		for _, id := range missing {
			u, err := s.UserByID(ctx, id)
			if errors.Is(err, ErrNotFound) {
				return false, nil
			}
			if err != nil {
				return false, fmt.Errorf("identity: check users: %w", err)
			}
			if !u.IsActive {
				return false, nil
			}
		}
		return true, nil
	}
	n, err := s.db.NewSelect().Model((*User)(nil)).
		Where("user_id IN (?)", bun.In(missing)).
		Where("is_active = ?", true).
		Count(ctx)
	if err != nil {
		return false, fmt.Errorf("identity: check users: %w", err)
	}
	return n == int64(len(missing)), nil
}
