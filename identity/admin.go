package identity

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
)

// UserInfoColumns are the users columns a caller may look users up by
// (user-lookup-match): the user_info keys, never the password (quirk #21).
var UserInfoColumns = map[string]bool{
	"user_id": true, "system_id": true, "full_name": true, "email": true, "email_verified": true,
	"is_active": true, "last_login_try": true, "last_login_success": true, "failed_login_tries": true,
	"created_on": true, "last_updated": true, "user_role": true, "extra_info": true,
	"emailverify_sent_datetime": true, "emailforgotpass_sent_datetime": true, "emailchangepass_sent_datetime": true,
}

// EditableColumns are the users columns UpdateUser may set.
var EditableColumns = map[string]bool{
	"full_name": true, "email": true, "email_verified": true, "is_active": true, "user_role": true, "extra_info": true,
}

// Column limits in characters, the same on every database.
const (
	MaxEmailLen    = 280
	MaxFullNameLen = 280
	MaxRoleLen     = 100
	MaxJSONLen     = 64 << 10
)

// checkLen refuses a string longer than n characters.
func checkLen(col, s string, n int) error {
	if len(s) > n && utf8.RuneCountInString(s) > n {
		return fmt.Errorf("%w: %s is longer than %d characters", ErrBadValue, col, n)
	}
	return nil
}

// UpdateUser sets the given columns of a user (and last_updated) and returns
// the row afterwards. Values must be strings for full_name, email and
// user_role, bools for email_verified and is_active, and JSON for
// extra_info, within the column limits (else ErrBadValue). A taken e-mail
// is ErrDuplicate; a missing user ErrNotFound.
func (s *Store) UpdateUser(ctx context.Context, id int64, fields map[string]any) (*User, error) {
	for col, v := range fields {
		if !EditableColumns[col] {
			return nil, fmt.Errorf("identity: column %q cannot be edited", col)
		}
		switch col {
		case "email_verified", "is_active":
			if _, ok := v.(bool); !ok {
				return nil, fmt.Errorf("%w: %s must be a boolean", ErrBadValue, col)
			}
		case "extra_info":
			j, ok := v.(JSON)
			if !ok || len(j) > MaxJSONLen {
				return nil, fmt.Errorf("%w: extra_info must be a JSON document of at most %d bytes", ErrBadValue, MaxJSONLen)
			}
		default:
			str, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("%w: %s must be a string", ErrBadValue, col)
			}
			limit := map[string]int{"email": MaxEmailLen, "full_name": MaxFullNameLen, "user_role": MaxRoleLen}[col]
			if err := checkLen(col, str, limit); err != nil {
				return nil, err
			}
		}
	}
	var res sql.Result
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if res, err = tx.NewUpdate().Model((*User)(nil)).Set("last_updated = ?", s.now()).Where("user_id = ?", id).
			Apply(func(uq *bun.UpdateQuery) *bun.UpdateQuery {
				for col, v := range fields {
					uq = uq.Set("? = ?", bun.Ident(col), v)
				}
				return uq
			}).Exec(ctx); err != nil {
			return err
		}
		// Deactivating a user ends their sessions (and the API keys
		// bound to them), as a lock does.
		if active, ok := fields["is_active"].(bool); ok && !active {
			_, err = tx.NewDelete().Model((*Session)(nil)).Where("user_id = ?", id).Exec(ctx)
		}
		return err
	})
	uid := strconv.FormatInt(id, 10)
	s.invalidate(ctx, "u:"+uid, "us:"+uid, "uk:"+uid)
	if err != nil {
		if isUniqueViolation(err) {
			return nil, ErrDuplicate
		}
		if isForeignKeyViolation(err) {
			return nil, fmt.Errorf("%w: unknown role", ErrBadValue)
		}
		return nil, fmt.Errorf("identity: update user: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, ErrNotFound
	}
	return s.UserByID(ctx, id)
}

// SetLocked locks (role "locked", inactive, the previous role appended to
// extra_info.previous_user_roles, every session deleted) or unlocks (active,
// the last previous role restored) a user, in one transaction. Locking a
// locked user or unlocking an unlocked one changes nothing.
func (s *Store) SetLocked(ctx context.Context, id int64, lock bool) (*User, error) {
	var out *User
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var u User
		if err := tx.NewSelect().Model(&u).Where("user_id = ?", id).Limit(1).Scan(ctx); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		extra := u.ExtraInfo.Object()
		prev := []any{"locked"}
		if p, ok := extra["previous_user_roles"].([]any); ok && len(p) > 0 {
			prev = p
		}
		isLocked := u.UserRole == "locked"
		switch {
		case lock && !isLocked:
			prev = append(prev, u.UserRole)
			extra["previous_user_roles"] = prev
			b, err := json.Marshal(extra)
			if err != nil {
				return err
			}
			if _, err := tx.NewUpdate().Model((*User)(nil)).
				Set("is_active = ?", false).Set("user_role = ?", "locked").
				Set("extra_info = ?", JSON(b)).Set("last_updated = ?", s.now()).
				Where("user_id = ?", id).Exec(ctx); err != nil {
				return err
			}
			if _, err := tx.NewDelete().Model((*Session)(nil)).Where("user_id = ?", id).Exec(ctx); err != nil {
				return err
			}
			// A lock also revokes the user's no-session API keys: they do
			// not come back with the unlock (issue 13, finding 10).
			if _, err := tx.NewDelete().Model((*NoSessionKey)(nil)).Where("user_id = ?", id).Exec(ctx); err != nil {
				return err
			}
		case !lock && isLocked:
			role, _ := prev[len(prev)-1].(string)
			if role == "" {
				role = "locked"
			}
			if _, err := tx.NewUpdate().Model((*User)(nil)).
				Set("is_active = ?", true).Set("user_role = ?", role).Set("last_updated = ?", s.now()).
				Where("user_id = ?", id).Exec(ctx); err != nil {
				return err
			}
		}
		if err := tx.NewSelect().Model(&u).Where("user_id = ?", id).Limit(1).Scan(ctx); err != nil {
			return err
		}
		out = &u
		return nil
	})
	uid := strconv.FormatInt(id, 10)
	s.invalidate(ctx, "u:"+uid, "us:"+uid, "uk:"+uid)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("identity: lock toggle: %w", err)
	}
	return out, nil
}

// DeleteUser deletes a user and their sessions (API keys follow by cascade)
// and reports whether the user existed.
func (s *Store) DeleteUser(ctx context.Context, id int64) (bool, error) {
	var existed bool
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*Session)(nil)).Where("user_id = ?", id).Exec(ctx); err != nil {
			return err
		}
		res, err := tx.NewDelete().Model((*User)(nil)).Where("user_id = ?", id).Exec(ctx)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		existed = n > 0
		return nil
	})
	uid := strconv.FormatInt(id, 10)
	s.invalidate(ctx, "u:"+uid, "us:"+uid, "uk:"+uid)
	if err != nil {
		return false, fmt.Errorf("identity: delete user: %w", err)
	}
	return existed, nil
}

// CountSessions returns how many sessions (live or expired) a user has.
func (s *Store) CountSessions(ctx context.Context, userID int64) (int, error) {
	n, err := s.db.NewSelect().Model((*Session)(nil)).Where("user_id = ?", userID).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("identity: count sessions: %w", err)
	}
	return int(n), nil
}

// CountSuperusers returns how many users have the superuser role.
func (s *Store) CountSuperusers(ctx context.Context) (int, error) {
	n, err := s.db.NewSelect().Model((*User)(nil)).Where("user_role = ?", "superuser").Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("identity: count superusers: %w", err)
	}
	return int(n), nil
}

// UsersWhere returns the users whose column equals value, ordered by id.
// column must be one of UserInfoColumns other than extra_info.
func (s *Store) UsersWhere(ctx context.Context, column string, value any) ([]User, error) {
	if !UserInfoColumns[column] || column == "extra_info" {
		return nil, fmt.Errorf("identity: cannot look users up by %q", column)
	}
	var us []User
	err := s.db.NewSelect().Model(&us).Where("? = ?", bun.Ident(column), value).Order("user_id ASC").Scan(ctx)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("identity: lookup: %w", err)
	}
	if us == nil {
		us = []User{}
	}
	return us, nil
}

// UsersByExtraInfo returns the users whose extra_info has every key of match
// with an equal value, ordered by id.
func (s *Store) UsersByExtraInfo(ctx context.Context, match map[string]any) ([]User, error) {
	q := s.db.NewSelect().Model((*User)(nil)).Order("user_id ASC")
	pg := s.db.Dialect().Name().String() == "pg"
	my, maria := isMySQL(s.db), false
	if my && len(match) > 0 {
		var err error
		if maria, err = s.isMariaDB(ctx); err != nil {
			return nil, fmt.Errorf("identity: lookup: %w", err)
		}
	}
	for k, v := range match {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("identity: lookup: %w", err)
		}
		switch {
		case pg:
			q = q.Where("extra_info -> ? = ?::jsonb", k, string(b))
		case maria:
			// MariaDB's JSON is text: JSON_EQUALS compares documents (key
			// order, number spelling and spacing aside), as jsonb does. The
			// "= 1" matters: MariaDB 10.11 takes a bare JSON_EQUALS that is
			// NULL (a missing key) as true in WHERE.
			q = q.Where("JSON_EQUALS(JSON_EXTRACT(extra_info, ?), ?) = 1", mysqlJSONPath(k), string(b))
		case my:
			q = q.Where("JSON_EXTRACT(extra_info, ?) = CAST(? AS JSON)", mysqlJSONPath(k), string(b))
		default:
			path := "$." + jsonPathKey(k)
			q = q.Where("json_type(extra_info, ?) = json_type(?) AND json_extract(extra_info, ?) = json_extract(?, '$')", path, string(b), path, string(b))
		}
	}
	var us []User
	if err := q.Model(&us).Scan(ctx); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("identity: lookup: %w", err)
	}
	if us == nil {
		us = []User{}
	}
	return us, nil
}

// jsonPathKey quotes an object key for an SQLite JSON path.
func jsonPathKey(k string) string {
	b, _ := json.Marshal(k)
	return string(b)
}

// mysqlJSONPath is the MySQL JSON path of the object member k. MariaDB
// matches a path's quoted key against the key as the document spells it, so
// the key is quoted as encoding/json writes it (MarshalObject's documents
// spell "<" as \u003c).
func mysqlJSONPath(k string) string { return "$." + jsonPathKey(k) }

// SetEmailSent records that a sign-up ("signup") or forgot-password
// ("forgotpass") mail went to the user with this e-mail, and returns the row.
func (s *Store) SetEmailSent(ctx context.Context, email, kind string, at time.Time) (*User, error) {
	col := map[string]string{"signup": "emailverify_sent_datetime", "forgotpass": "emailforgotpass_sent_datetime"}[kind]
	if col == "" {
		return nil, fmt.Errorf("identity: unknown e-mail kind %q", kind)
	}
	res, err := s.db.NewUpdate().Model((*User)(nil)).Set("? = ?", bun.Ident(col), at.UTC().Truncate(time.Microsecond)).
		Where("email = ?", email).Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("identity: set e-mail sent: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, ErrNotFound
	}
	u, err := s.UserByEmail(ctx, email)
	if err == nil {
		s.invalidate(ctx, userKey(u.UserID))
	}
	return u, err
}

// CompleteReset stores a new password hash after a password reset, clears
// the forgot-password mark (one reset per mail) and ends every session of
// the user, in one transaction.
func (s *Store) CompleteReset(ctx context.Context, id int64, hash string) error {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Model((*User)(nil)).
			Set("password = ?", hash).Set("emailforgotpass_sent_datetime = NULL").Set("last_updated = ?", s.now()).
			Where("user_id = ?", id).Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewDelete().Model((*Session)(nil)).Where("user_id = ?", id).Exec(ctx)
		return err
	})
	uid := strconv.FormatInt(id, 10)
	s.invalidate(ctx, "u:"+uid, "us:"+uid, "uk:"+uid)
	if err != nil {
		return fmt.Errorf("identity: complete reset: %w", err)
	}
	return nil
}
