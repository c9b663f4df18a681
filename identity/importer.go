package identity

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// ImportReport says what an import brought over and what it left.
type ImportReport struct {
	Roles           Count    `json:"roles"`
	Users           Count    `json:"users"`
	Sessions        Count    `json:"sessions"`
	APIKeys         Count    `json:"apikeys"`
	NoSessionKeys   Count    `json:"apikeys_nosession"`
	SkippedMessages []string `json:"skipped,omitempty"`
}

// Count is the outcome for one kind of row.
type Count struct {
	Imported int `json:"imported"`
	Updated  int `json:"updated"`
	Skipped  int `json:"skipped"`
}

// refTime reads a reference datetime: time.Time (PostgreSQL) or SQLAlchemy's
// SQLite text "YYYY-MM-DD HH:MM:SS[.ffffff]".
func refTime(v any) (*time.Time, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case time.Time:
		t := x.UTC()
		return &t, nil
	case []byte:
		return refTime(string(x))
	case string:
		for _, layout := range []string{"2006-01-02 15:04:05.999999", "2006-01-02 15:04:05", "2006-01-02T15:04:05.999999", "2006-01-02T15:04:05"} {
			if t, err := time.Parse(layout, x); err == nil {
				return &t, nil
			}
		}
		return nil, fmt.Errorf("unreadable datetime %q", x)
	}
	return nil, fmt.Errorf("unreadable datetime of type %T", v)
}

func refBool(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case int64:
		return x != 0
	case []byte:
		return string(x) == "1" || strings.EqualFold(string(x), "true")
	case string:
		return x == "1" || strings.EqualFold(x, "true")
	}
	return false
}

func refString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func refJSON(v any) (JSON, error) {
	s := refString(v)
	if s == "" || s == "null" {
		return nil, nil
	}
	if !json.Valid([]byte(s)) {
		return nil, fmt.Errorf("invalid JSON")
	}
	return JSON(s), nil
}

// rows runs a query on the reference database and returns each row as a
// column → value map. A missing table gives no rows and ok false.
func rows(ctx context.Context, src *sql.DB, query string) ([]map[string]any, bool, error) {
	r, err := src.QueryContext(ctx, query)
	if err != nil {
		if msg := err.Error(); strings.Contains(msg, "no such table") || strings.Contains(msg, "does not exist") || strings.Contains(msg, "doesn't exist") {
			return nil, false, nil
		}
		return nil, false, err
	}
	defer r.Close()
	cols, err := r.Columns()
	if err != nil {
		return nil, false, err
	}
	var out []map[string]any
	for r.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := r.Scan(ptrs...); err != nil {
			return nil, false, err
		}
		m := make(map[string]any, len(cols))
		for i, c := range cols {
			m[c] = vals[i]
		}
		out = append(out, m)
	}
	return out, true, r.Err()
}

// ImportReference copies a database written by the reference authnzerver
// (config.md §5) into this store: roles, users with their argon2 hashes
// unchanged and their user_id kept, live sessions, and API keys (their
// tokens stored as digests). Running it again changes nothing that is
// already there: a user whose id exists with the same e-mail is updated
// (hash, flags, role, extra_info), other clashes are skipped and reported.
// No-session keys come over without their refresh tokens (the reference
// keeps only argon2 hashes of those): they verify until they expire.
func (s *Store) ImportReference(ctx context.Context, src *sql.DB) (*ImportReport, error) {
	rep := &ImportReport{}
	skip := func(format string, a ...any) {
		rep.SkippedMessages = append(rep.SkippedMessages, fmt.Sprintf(format, a...))
	}
	t := s.now()

	roles, _, err := rows(ctx, src, `SELECT name, "desc" FROM roles`)
	if err != nil {
		return nil, fmt.Errorf("import: roles: %w", err)
	}
	for _, r := range roles {
		inserted, err := insertNew(ctx, s.db, &Role{Name: refString(r["name"]), Desc: refString(r["desc"])}, "name")
		if err != nil {
			return nil, fmt.Errorf("import: role %s: %w", refString(r["name"]), err)
		}
		if inserted {
			rep.Roles.Imported++
		} else {
			rep.Roles.Skipped++
		}
	}

	users, _, err := rows(ctx, src, `SELECT user_id, system_id, full_name, password, email, email_verified, is_active,
		emailverify_sent_datetime, emailforgotpass_sent_datetime, emailchangepass_sent_datetime, extra_info,
		created_on, last_updated, user_role FROM users ORDER BY user_id`)
	if err != nil {
		return nil, fmt.Errorf("import: users: %w", err)
	}
	imported := map[int64]bool{}
	for _, r := range users {
		id, _ := r["user_id"].(int64)
		email := refString(r["email"])
		u := User{UserID: id, SystemID: refString(r["system_id"]), Password: refString(r["password"]), Email: email,
			EmailVerified: refBool(r["email_verified"]), IsActive: refBool(r["is_active"]), UserRole: refString(r["user_role"])}
		if r["full_name"] != nil {
			n := refString(r["full_name"])
			u.FullName = &n
		}
		var terr error
		var c, up *time.Time
		if u.EmailVerifySentDatetime, terr = refTime(r["emailverify_sent_datetime"]); terr == nil {
			if u.EmailForgotPassSentDatetime, terr = refTime(r["emailforgotpass_sent_datetime"]); terr == nil {
				if u.EmailChangePassSentDatetime, terr = refTime(r["emailchangepass_sent_datetime"]); terr == nil {
					if c, terr = refTime(r["created_on"]); terr == nil {
						up, terr = refTime(r["last_updated"])
					}
				}
			}
		}
		extra, jerr := refJSON(r["extra_info"])
		if terr != nil || jerr != nil || !strings.HasPrefix(u.Password, "$argon2") {
			rep.Users.Skipped++
			skip("user %d %s: unreadable row", id, "(email withheld)")
			continue
		}
		u.ExtraInfo = extra
		var existing User
		err := s.db.NewSelect().Model(&existing).Where("user_id = ?", id).Limit(1).Scan(ctx)
		switch {
		case err == nil && existing.Email == email:
			_, err := s.db.NewUpdate().Model((*User)(nil)).
				Set("password = ?", u.Password).Set("email_verified = ?", u.EmailVerified).Set("is_active = ?", u.IsActive).
				Set("user_role = ?", u.UserRole).Set("extra_info = ?", u.ExtraInfo).Set("full_name = ?", u.FullName).
				Set("last_updated = ?", t).Where("user_id = ?", id).Exec(ctx)
			if err != nil {
				return nil, fmt.Errorf("import: update user %d: %w", id, err)
			}
			if existing.Password == u.Password && existing.UserRole == u.UserRole && existing.IsActive == u.IsActive && existing.EmailVerified == u.EmailVerified {
				rep.Users.Skipped++
			} else {
				rep.Users.Updated++
			}
			imported[id] = true
			continue
		case err == nil:
			rep.Users.Skipped++
			skip("user %d: the id belongs to another e-mail here", id)
			continue
		case !errors.Is(err, sql.ErrNoRows):
			return nil, fmt.Errorf("import: user %d: %w", id, err)
		}
		u.CreatedOn, u.LastUpdated = t, t
		if c != nil {
			u.CreatedOn = *c
		}
		if up != nil {
			u.LastUpdated = *up
		}
		if _, err := s.db.NewInsert().Model(&u).Exec(ctx); err != nil {
			if isUniqueViolation(err) {
				rep.Users.Skipped++
				skip("user %d: e-mail or system_id already used by another user here", id)
				continue
			}
			return nil, fmt.Errorf("import: user %d: %w", id, err)
		}
		rep.Users.Imported++
		imported[id] = true
	}
	if s.db.Dialect().Name().String() == "pg" {
		if _, err := s.db.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('users', 'user_id'), GREATEST((SELECT MAX(user_id) FROM users), 1))`); err != nil {
			return nil, fmt.Errorf("import: user id sequence: %w", err)
		}
	}

	sessions, _, err := rows(ctx, src, `SELECT session_token, ip_address, user_agent, user_id, created, expires, extra_info_json FROM sessions`)
	if err != nil {
		return nil, fmt.Errorf("import: sessions: %w", err)
	}
	for _, r := range sessions {
		uid, _ := r["user_id"].(int64)
		created, err1 := refTime(r["created"])
		expires, err2 := refTime(r["expires"])
		extra, err3 := refJSON(r["extra_info_json"])
		if err1 != nil || err2 != nil || err3 != nil || expires == nil || !expires.After(t) || !imported[uid] {
			rep.Sessions.Skipped++
			continue
		}
		sess := &Session{TokenHash: TokenHash(refString(r["session_token"])), IPAddress: refString(r["ip_address"]),
			UserAgent: refString(r["user_agent"]), UserID: uid, Created: t, Expires: *expires, ExtraInfoJSON: extra}
		if created != nil {
			sess.Created = *created
		}
		inserted, err := insertNew(ctx, s.db, sess, "token_hash")
		if err != nil {
			return nil, fmt.Errorf("import: session: %w", err)
		}
		if inserted {
			rep.Sessions.Imported++
		} else {
			rep.Sessions.Skipped++
		}
	}

	keys, _, err := rows(ctx, src, `SELECT apikey, issued, expires, not_valid_before, user_id, user_role, session_token FROM apikeys`)
	if err != nil {
		return nil, fmt.Errorf("import: apikeys: %w", err)
	}
	for _, r := range keys {
		uid, _ := r["user_id"].(int64)
		issued, e1 := refTime(r["issued"])
		expires, e2 := refTime(r["expires"])
		nbf, e3 := refTime(r["not_valid_before"])
		if e1 != nil || e2 != nil || e3 != nil || issued == nil || expires == nil || nbf == nil || !expires.After(t) || !imported[uid] {
			rep.APIKeys.Skipped++
			continue
		}
		k := &APIKey{TokenHash: TokenHash(refString(r["apikey"])), Issued: *issued, Expires: *expires, NotValidBefore: *nbf,
			UserID: uid, UserRole: refString(r["user_role"]), SessionTokenHash: TokenHash(refString(r["session_token"]))}
		if err := insertIgnoring(ctx, s.db, k, &rep.APIKeys); err != nil {
			return nil, fmt.Errorf("import: apikey: %w", err)
		}
	}

	nkeys, _, err := rows(ctx, src, `SELECT apikey, issued, expires, not_valid_before, refresh_issued, refresh_expires, refresh_nbf, user_id, user_role FROM apikeys_nosession`)
	if err != nil {
		return nil, fmt.Errorf("import: apikeys_nosession: %w", err)
	}
	for _, r := range nkeys {
		uid, _ := r["user_id"].(int64)
		issued, e1 := refTime(r["issued"])
		expires, e2 := refTime(r["expires"])
		nbf, e3 := refTime(r["not_valid_before"])
		if e1 != nil || e2 != nil || e3 != nil || issued == nil || expires == nil || nbf == nil || !expires.After(t) || !imported[uid] {
			rep.NoSessionKeys.Skipped++
			continue
		}
		k := &NoSessionKey{TokenHash: TokenHash(refString(r["apikey"])), Issued: *issued, Expires: *expires, NotValidBefore: *nbf,
			// The reference stores only an argon2 hash of the refresh token:
			// no token hashes to this digest, so the key cannot be refreshed.
			RefreshHash: strings.Repeat("0", 64), RefreshIssued: *issued, RefreshExpires: *issued, RefreshNBF: *issued,
			UserID: uid, UserRole: refString(r["user_role"])}
		if err := insertIgnoring(ctx, s.db, k, &rep.NoSessionKeys); err != nil {
			return nil, fmt.Errorf("import: apikey_nosession: %w", err)
		}
	}
	if rep.NoSessionKeys.Imported > 0 {
		skip("%d no-session API keys were imported without refresh tokens (the reference stores only argon2 hashes of them): they verify until they expire", rep.NoSessionKeys.Imported)
	}
	return rep, nil
}

// insertIgnoring inserts a key row unless its digest is there already (or
// its session or user is missing) and counts the outcome.
func insertIgnoring(ctx context.Context, db *bun.DB, model any, c *Count) error {
	inserted, err := insertNew(ctx, db, model, "tkn_hash")
	if err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "foreign key") {
			c.Skipped++
			return nil
		}
		return err
	}
	if inserted {
		c.Imported++
	} else {
		c.Skipped++
	}
	return nil
}

// insertNew inserts a row unless its key column (the primary key) already
// holds its value, and reports whether it did.
func insertNew(ctx context.Context, db bun.IDB, model any, key string) (bool, error) {
	q := db.NewInsert().Model(model)
	if isMySQL(db) {
		// MySQL has no DO NOTHING, and INSERT IGNORE would also turn other
		// errors (a value too long for its column) into warnings: only the
		// duplicate key is taken as "already there".
		if _, err := q.Exec(ctx); err != nil {
			if isUniqueViolation(err) {
				return false, nil
			}
			return false, err
		}
		return true, nil
	}
	res, err := q.On("CONFLICT (?) DO NOTHING", bun.Ident(key)).Exec(ctx)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
