package identity

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/authnzrv/authnzrv/identity/password"
	"github.com/uptrace/bun"
)

// ImportReport says what an import brought over and what it left.
type ImportReport struct {
	Roles         Count `json:"roles"`
	Users         Count `json:"users"`
	Sessions      Count `json:"sessions"`
	APIKeys       Count `json:"apikeys"`
	NoSessionKeys Count `json:"apikeys_nosession"`
	// Conflicts counts the rows left behind because they clash with rows
	// here (a user id or e-mail taken by another user) or cannot be read;
	// rows that merely expired or are already here are not conflicts.
	Conflicts int `json:"conflicts"`
	// SkippedMessages says, per conflict, which row was left and why (no
	// e-mail addresses).
	SkippedMessages []string `json:"skipped,omitempty"`
	// Notes are remarks on rows that came over with a difference.
	Notes []string `json:"notes,omitempty"`
}

// Count is the outcome for one kind of row.
type Count struct {
	Imported int `json:"imported"`
	Updated  int `json:"updated"`
	Skipped  int `json:"skipped"`
}

// Partial reports whether the import left conflicting rows behind.
func (r *ImportReport) Partial() bool { return r.Conflicts > 0 }

// ErrPartialImport is returned, with the report, by Import without
// AllowPartial when rows conflicted: nothing was written.
var ErrPartialImport = errors.New("identity: import would leave conflicting rows behind")

// ImportOptions tune Import.
type ImportOptions struct {
	// AllowPartial commits an import that left conflicting rows behind;
	// without it such an import writes nothing and fails with
	// ErrPartialImport.
	AllowPartial bool
	// AfterUsers, when set, runs inside the import's transaction right after
	// the users are copied; an error aborts the import. Tests use it to
	// interrupt an import half-way.
	AfterUsers func(ctx context.Context) error
}

// refTime reads a reference datetime: time.Time (PostgreSQL, MySQL) or
// SQLAlchemy's SQLite text "YYYY-MM-DD HH:MM:SS[.ffffff]".
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

// refTimes reads several datetime columns of a row; every one must be set.
func refTimes(r map[string]any, cols ...string) ([]time.Time, bool) {
	out := make([]time.Time, len(cols))
	for i, c := range cols {
		t, err := refTime(r[c])
		if err != nil || t == nil {
			return nil, false
		}
		out[i] = *t
	}
	return out, true
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

func refInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case []byte:
		var n int64
		fmt.Sscan(string(x), &n)
		return n
	}
	return 0
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

// queryer runs a query: a *sql.DB, a bun.Tx or a bun.Conn.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// refSource reads the reference's tables: from another database (import)
// or, during adoption, through the adoption's transaction from the tables
// renamed with prefix.
type refSource struct {
	q      queryer
	prefix string
	// tables are the tables known to exist; nil means unknown, and then a
	// missing table reads as empty.
	tables map[string]bool
}

// rows returns each row of the reference table as a column → value map.
func (r refSource) rows(ctx context.Context, table, columns string) ([]map[string]any, error) {
	if r.tables != nil && !r.tables[table] {
		return nil, nil
	}
	rs, err := r.q.QueryContext(ctx, "SELECT "+columns+" FROM "+r.prefix+table)
	if err != nil {
		if msg := err.Error(); r.tables == nil && (strings.Contains(msg, "no such table") || strings.Contains(msg, "does not exist") || strings.Contains(msg, "doesn't exist")) {
			return nil, nil
		}
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, err
		}
		m := make(map[string]any, len(cols))
		for i, c := range cols {
			m[c] = vals[i]
		}
		out = append(out, m)
	}
	return out, rs.Err()
}

// ImportReference copies a database written by the reference authnzerver
// (config.md §5) into this store, keeping what it could even when rows
// conflicted: it is Import with AllowPartial.
func (s *Store) ImportReference(ctx context.Context, src *sql.DB) (*ImportReport, error) {
	return s.Import(ctx, src, ImportOptions{AllowPartial: true})
}

// Import copies a database written by the reference authnzerver
// (config.md §5) into this store, in one transaction: roles, users with
// their argon2 hashes unchanged and their user_id kept, live sessions, and
// API keys (their tokens stored as digests; a no-session key keeps the
// argon2 hash of its refresh token where the column holds it, so that the
// old refresh token still works). Running it again changes nothing that is
// already there: a user whose id exists with the same e-mail is updated
// (hash, flags, role, extra_info); other clashes are conflicts, reported
// and left behind (see ImportOptions.AllowPartial).
func (s *Store) Import(ctx context.Context, src *sql.DB, o ImportOptions) (*ImportReport, error) {
	var rep *ImportReport
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		rep, err = copyReference(ctx, tx, refSource{q: src}, o)
		return err
	})
	if errors.Is(err, ErrPartialImport) {
		return rep, err
	}
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// copyReference copies every reference table from src into db (a
// transaction) and fails with ErrPartialImport when rows conflicted and
// o.AllowPartial is off.
func copyReference(ctx context.Context, db bun.Tx, src refSource, o ImportOptions) (*ImportReport, error) {
	im := &importer{db: db, src: src, rep: &ImportReport{}, now: now(), users: map[int64]bool{}, roles: map[string]bool{}}
	width, err := refreshHashWidth(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	im.refreshWidth = width
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"roles", im.copyRoles},
		{"users", im.copyUsers},
		{"pause", func(ctx context.Context) error {
			if o.AfterUsers != nil {
				return o.AfterUsers(ctx)
			}
			return nil
		}},
		{"user id sequence", im.advanceUserIDs},
		{"sessions", im.copySessions},
		{"apikeys", im.copyAPIKeys},
		{"apikeys_nosession", im.copyNoSessionKeys},
	}
	for _, st := range steps {
		if err := st.fn(ctx); err != nil {
			return nil, fmt.Errorf("import: %s: %w", st.name, err)
		}
	}
	if im.rep.Partial() && !o.AllowPartial {
		return im.rep, ErrPartialImport
	}
	return im.rep, nil
}

// importer copies the reference's rows into one transaction.
type importer struct {
	db  bun.Tx
	src refSource
	rep *ImportReport
	now time.Time
	// users are the ids of the users present here after the copy.
	users map[int64]bool
	// roles are the role names present here after the copy.
	roles map[string]bool
	// refreshWidth is the width of apikeys_nosession.refresh_hash here (0:
	// unbounded).
	refreshWidth int
}

// conflict records a row left behind.
func (im *importer) conflict(c *Count, format string, a ...any) {
	c.Skipped++
	im.rep.Conflicts++
	im.rep.SkippedMessages = append(im.rep.SkippedMessages, fmt.Sprintf(format, a...))
}

func (im *importer) copyRoles(ctx context.Context) error {
	roles, err := im.src.rows(ctx, "roles", `name, "desc"`)
	if err != nil {
		return err
	}
	for _, r := range roles {
		inserted, err := insertNew(ctx, im.db, &Role{Name: refString(r["name"]), Desc: refString(r["desc"])}, "name")
		if err != nil {
			return fmt.Errorf("role %s: %w", refString(r["name"]), err)
		}
		if inserted {
			im.rep.Roles.Imported++
		} else {
			im.rep.Roles.Skipped++
		}
	}
	var here []Role
	if err := im.db.NewSelect().Model(&here).Scan(ctx); err != nil {
		return err
	}
	for _, r := range here {
		im.roles[r.Name] = true
	}
	return nil
}

// refUser reads a reference users row; ok is false when it cannot be read.
func refUser(r map[string]any) (u User, ok bool) {
	u = User{UserID: refInt(r["user_id"]), SystemID: refString(r["system_id"]), Password: refString(r["password"]),
		Email: refString(r["email"]), EmailVerified: refBool(r["email_verified"]), IsActive: refBool(r["is_active"]),
		UserRole: refString(r["user_role"])}
	if r["full_name"] != nil {
		n := refString(r["full_name"])
		u.FullName = &n
	}
	var errs [5]error
	u.EmailVerifySentDatetime, errs[0] = refTime(r["emailverify_sent_datetime"])
	u.EmailForgotPassSentDatetime, errs[1] = refTime(r["emailforgotpass_sent_datetime"])
	u.EmailChangePassSentDatetime, errs[2] = refTime(r["emailchangepass_sent_datetime"])
	u.ExtraInfo, errs[3] = refJSON(r["extra_info"])
	times, timesOK := refTimes(r, "created_on", "last_updated")
	errs[4] = errors.Join(errs[:4]...)
	if errs[4] != nil || !timesOK || !strings.HasPrefix(u.Password, "$argon2") || u.UserID <= 0 {
		return u, false
	}
	u.CreatedOn, u.LastUpdated = times[0], times[1]
	return u, true
}

func (im *importer) copyUsers(ctx context.Context) error {
	users, err := im.src.rows(ctx, "users", `user_id, system_id, full_name, password, email, email_verified, is_active,
		emailverify_sent_datetime, emailforgotpass_sent_datetime, emailchangepass_sent_datetime, extra_info,
		created_on, last_updated, user_role`)
	if err != nil {
		return err
	}
	for _, r := range users {
		u, ok := refUser(r)
		if !ok {
			im.conflict(&im.rep.Users, "user %d: unreadable row", u.UserID)
			continue
		}
		if !im.roles[u.UserRole] {
			im.conflict(&im.rep.Users, "user %d: role %q does not exist here", u.UserID, u.UserRole)
			continue
		}
		// The hasher's bounds apply to what is imported as to what is
		// verified: a hash that asks for 4 GiB never reaches a login.
		if err := password.CheckStored(u.Password); err != nil {
			im.conflict(&im.rep.Users, "user %d: password hash cannot be verified here (%v)", u.UserID, err)
			continue
		}
		if err := im.copyUser(ctx, &u); err != nil {
			return fmt.Errorf("user %d: %w", u.UserID, err)
		}
	}
	return nil
}

// copyUser inserts a user, or updates the user with the same id and
// e-mail, or records the conflict.
func (im *importer) copyUser(ctx context.Context, u *User) error {
	var existing User
	err := im.db.NewSelect().Model(&existing).Where("user_id = ?", u.UserID).Limit(1).Scan(ctx)
	switch {
	case err == nil && existing.Email == u.Email:
		_, err := im.db.NewUpdate().Model((*User)(nil)).
			Set("password = ?", u.Password).Set("email_verified = ?", u.EmailVerified).Set("is_active = ?", u.IsActive).
			Set("user_role = ?", u.UserRole).Set("extra_info = ?", u.ExtraInfo).Set("full_name = ?", u.FullName).
			Set("last_updated = ?", im.now).Where("user_id = ?", u.UserID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("update: %w", err)
		}
		if existing.Password == u.Password && existing.UserRole == u.UserRole && existing.IsActive == u.IsActive && existing.EmailVerified == u.EmailVerified {
			im.rep.Users.Skipped++
		} else {
			im.rep.Users.Updated++
		}
		im.users[u.UserID] = true
		return nil
	case err == nil:
		im.conflict(&im.rep.Users, "user %d: the id belongs to another e-mail here", u.UserID)
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	// Checked first: on PostgreSQL a failed insert would abort the
	// transaction.
	taken, err := im.db.NewSelect().Model((*User)(nil)).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("email = ?", u.Email).WhereOr("system_id = ?", u.SystemID)
		}).Exists(ctx)
	if err != nil {
		return err
	}
	if taken {
		im.conflict(&im.rep.Users, "user %d: e-mail or system_id already used by another user here", u.UserID)
		return nil
	}
	if _, err := im.db.NewInsert().Model(u).Exec(ctx); err != nil {
		return err
	}
	im.rep.Users.Imported++
	im.users[u.UserID] = true
	return nil
}

// advanceUserIDs moves PostgreSQL's user id sequence past the copied ids
// (SQLite and MySQL follow the highest id by themselves).
func (im *importer) advanceUserIDs(ctx context.Context) error {
	if im.db.Dialect().Name().String() != "pg" {
		return nil
	}
	_, err := im.db.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('users', 'user_id'), GREATEST((SELECT MAX(user_id) FROM users), 1))`)
	return err
}

func (im *importer) copySessions(ctx context.Context) error {
	sessions, err := im.src.rows(ctx, "sessions", `session_token, ip_address, user_agent, user_id, created, expires, extra_info_json`)
	if err != nil {
		return err
	}
	for _, r := range sessions {
		uid := refInt(r["user_id"])
		times, ok := refTimes(r, "created", "expires")
		extra, jerr := refJSON(r["extra_info_json"])
		if !ok || jerr != nil || !times[1].After(im.now) || !im.users[uid] {
			im.rep.Sessions.Skipped++
			continue
		}
		sess := &Session{TokenHash: TokenHash(refString(r["session_token"])), IPAddress: refString(r["ip_address"]),
			UserAgent: refString(r["user_agent"]), UserID: uid, Created: times[0], Expires: times[1], ExtraInfoJSON: extra}
		if err := count(insertNew(ctx, im.db, sess, "token_hash"))(&im.rep.Sessions); err != nil {
			return err
		}
	}
	return nil
}

// keyCopyable reports whether a reference key row can come over: its
// times are readable, it has not expired, and its user and role are here.
func (im *importer) keyCopyable(r map[string]any) ([]time.Time, bool) {
	times, ok := refTimes(r, "issued", "expires", "not_valid_before")
	if !ok || !times[1].After(im.now) || !im.users[refInt(r["user_id"])] || !im.roles[refString(r["user_role"])] {
		return nil, false
	}
	return times, true
}

func (im *importer) copyAPIKeys(ctx context.Context) error {
	keys, err := im.src.rows(ctx, "apikeys", `apikey, issued, expires, not_valid_before, user_id, user_role, session_token`)
	if err != nil {
		return err
	}
	for _, r := range keys {
		times, ok := im.keyCopyable(r)
		session := TokenHash(refString(r["session_token"]))
		if ok {
			ok, err = im.db.NewSelect().Model((*Session)(nil)).Where("token_hash = ?", session).Exists(ctx)
			if err != nil {
				return err
			}
		}
		if !ok {
			im.rep.APIKeys.Skipped++
			continue
		}
		k := &APIKey{TokenHash: TokenHash(refString(r["apikey"])), Issued: times[0], Expires: times[1], NotValidBefore: times[2],
			UserID: refInt(r["user_id"]), UserRole: refString(r["user_role"]), SessionTokenHash: session}
		if err := count(insertNew(ctx, im.db, k, "tkn_hash"))(&im.rep.APIKeys); err != nil {
			return err
		}
	}
	return nil
}

// unrefreshable stands in for a refresh digest no token has: the key
// verifies until it expires but cannot be refreshed.
const unrefreshable = "0000000000000000000000000000000000000000000000000000000000000000"

func (im *importer) copyNoSessionKeys(ctx context.Context) error {
	keys, err := im.src.rows(ctx, "apikeys_nosession", `apikey, issued, expires, not_valid_before, refresh_token,
		refresh_issued, refresh_expires, refresh_nbf, user_id, user_role`)
	if err != nil {
		return err
	}
	withoutRefresh := 0
	for _, r := range keys {
		times, ok := im.keyCopyable(r)
		if !ok {
			im.rep.NoSessionKeys.Skipped++
			continue
		}
		k := &NoSessionKey{TokenHash: TokenHash(refString(r["apikey"])), Issued: times[0], Expires: times[1], NotValidBefore: times[2],
			RefreshHash: unrefreshable, RefreshIssued: times[0], RefreshExpires: times[0], RefreshNBF: times[0],
			UserID: refInt(r["user_id"]), UserRole: refString(r["user_role"])}
		// The reference stores an argon2 hash of the refresh token; it is
		// kept as it is (RefreshMatches verifies it) where the column can
		// hold it.
		phc := refString(r["refresh_token"])
		refresh, rok := refTimes(r, "refresh_issued", "refresh_expires", "refresh_nbf")
		kept := rok && strings.HasPrefix(phc, "$argon2") && password.CheckStored(phc) == nil &&
			(im.refreshWidth == 0 || len(phc) <= im.refreshWidth)
		if kept {
			k.RefreshHash, k.RefreshIssued, k.RefreshExpires, k.RefreshNBF = phc, refresh[0], refresh[1], refresh[2]
		}
		inserted, err := insertNew(ctx, im.db, k, "tkn_hash")
		if err := count(inserted, err)(&im.rep.NoSessionKeys); err != nil {
			return err
		}
		if inserted && !kept {
			withoutRefresh++
		}
	}
	if withoutRefresh > 0 {
		im.rep.Notes = append(im.rep.Notes, fmt.Sprintf("%d no-session API keys came over without their refresh tokens "+
			"(their argon2 hashes are unreadable, outside the hasher's bounds or do not fit apikeys_nosession.refresh_hash, %d characters wide here): "+
			"they verify until they expire but cannot be refreshed", withoutRefresh, im.refreshWidth))
	}
	return nil
}

// count returns a function that counts an insertNew outcome in c.
func count(inserted bool, err error) func(c *Count) error {
	return func(c *Count) error {
		if err != nil {
			return err
		}
		if inserted {
			c.Imported++
		} else {
			c.Skipped++
		}
		return nil
	}
}

// refreshHashWidth returns the declared width of
// apikeys_nosession.refresh_hash (0 when the database does not bound it, as
// SQLite does not).
func refreshHashWidth(ctx context.Context, db bun.IDB) (int, error) {
	var schema string
	switch db.Dialect().Name().String() {
	case "pg":
		schema = "current_schema()"
	case "mysql":
		schema = "DATABASE()"
	default:
		return 0, nil
	}
	var n sql.NullInt64
	err := db.NewRaw(`SELECT character_maximum_length FROM information_schema.columns
		WHERE table_schema = `+schema+` AND table_name = 'apikeys_nosession' AND column_name = 'refresh_hash'`).Scan(ctx, &n)
	if err != nil {
		return 0, fmt.Errorf("width of apikeys_nosession.refresh_hash: %w", err)
	}
	return int(n.Int64), nil
}

// insertNew inserts a row unless its key column (the primary key) already
// holds its value, and reports whether it did.
func insertNew(ctx context.Context, db bun.IDB, model any, key string) (bool, error) {
	q := db.NewInsert().Model(model)
	if isMySQL(db) {
		// MySQL has no DO NOTHING, and INSERT IGNORE would also turn other
		// errors (a value too long for its column) into warnings: only the
		// duplicate key is taken as "already there" (a failed statement
		// does not end a MySQL transaction).
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
