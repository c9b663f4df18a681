package identity_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
	"github.com/authnzrv/authnzrv/identity/password"
)

// refFixture is a reference database to adopt and what must come of it.
type refFixture struct {
	name string
	// load writes the fixture into an empty database.
	load func(t *testing.T, db identitytest.DB)
	// want are the report's counts: roles, users, sessions imported and
	// skipped, apikeys, no-session keys imported and skipped.
	want [7]int
	// counts are the reference's row counts per table.
	counts map[string]int
	// users are logins (e-mail, password) that must verify afterwards.
	users []login
	// sessions are tokens that must be live afterwards; dead ones must not.
	sessions, dead []string
	// key is a session-bound key, nokey a no-session key (with its
	// refresh token), both of user uid with role "authenticated".
	key, nokey, refresh string
	keyUID, nokeyUID    int64
}

type login struct {
	email, password string
	id              int64
}

// manifest is the part of testdata/reference/autosetup/manifest.json the
// tests read.
type manifest struct {
	Databases map[string]struct {
		RowCounts map[string]int `json:"row_counts"`
		Users     []struct {
			UserID   int64   `json:"user_id"`
			Email    string  `json:"email"`
			Password *string `json:"password"`
		} `json:"users"`
		Sessions []struct {
			Token string `json:"token"`
			Live  bool   `json:"live"`
		} `json:"sessions"`
		Deleted []struct {
			Token string `json:"token"`
		} `json:"deleted_sessions"`
		APIKeys []struct {
			Token        string  `json:"token"`
			UserID       int64   `json:"user_id"`
			SessionBound bool    `json:"session_bound"`
			RefreshToken *string `json:"refresh_token"`
		} `json:"api_keys"`
	} `json:"databases"`
}

func readManifest(t *testing.T) manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "reference", "autosetup", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// fixtures are the hand-made reference database (testdata/reference) and
// the one the reference's own autosetup wrote (testdata/reference/autosetup).
func fixtures(t *testing.T, driver string) []refFixture {
	hand := refFixture{
		name: "hand-made", load: loadHandMade, want: [7]int{5, 5, 1, 1, 1, 1, 1},
		counts: map[string]int{"roles": 5, "users": 5, "sessions": 2, "apikeys": 1, "apikeys_nosession": 2},
		users: []login{{"admin@example.org", "aROwQin9L8nNtPTEMLXd", 1}, {"oldtimer@example.org", "correct horse battery staple", 4},
			{"unverified@example.org", "correct horse battery staple", 7}},
		sessions: []string{"live-session-token-of-user-4-aaaaaaaaaaaaaaaaa"},
		dead:     []string{"expired-session-token-of-user-4-bbbbbbbbbbbbbb"},
		key:      "session-bound-apikey-token-cccccccccccccccccccc", keyUID: 4,
		nokey: "nosession-apikey-token-dddddddddddddddddddddddd", nokeyUID: 4, refresh: "aROwQin9L8nNtPTEMLXd",
	}
	auto := refFixture{name: "autosetup", load: loadAutosetup, want: [7]int{5, 7, 4, 1, 1, 1, 0}}
	m := readManifest(t).Databases[driver]
	auto.counts = m.RowCounts
	for _, u := range m.Users {
		if u.Password != nil {
			auto.users = append(auto.users, login{u.Email, *u.Password, u.UserID})
		}
	}
	for _, s := range m.Sessions {
		if s.Live {
			auto.sessions = append(auto.sessions, s.Token)
		} else {
			auto.dead = append(auto.dead, s.Token)
		}
	}
	for _, s := range m.Deleted {
		auto.dead = append(auto.dead, s.Token)
	}
	for _, k := range m.APIKeys {
		if k.SessionBound {
			auto.key, auto.keyUID = k.Token, k.UserID
		} else {
			auto.nokey, auto.nokeyUID, auto.refresh = k.Token, k.UserID, *k.RefreshToken
		}
	}
	return []refFixture{hand, auto}
}

// loadHandMade builds testdata/reference/{schema,data}.sql in db.
func loadHandMade(t *testing.T, db identitytest.DB) {
	t.Helper()
	driver := map[string]string{"sqlite": "sqlite", "postgres": "pgx"}[db.Driver]
	conn, err := sql.Open(driver, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, f := range []string{"schema.sql", "data.sql"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "reference", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, stmt := range strings.Split(string(b), ";\n") {
			if !hasSQL(stmt) {
				continue
			}
			if _, err := conn.Exec(stmt); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		}
	}
}

func hasSQL(stmt string) bool {
	for _, l := range strings.Split(stmt, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "--") {
			return true
		}
	}
	return false
}

// loadAutosetup puts the database the reference's autosetup wrote into db:
// a copy of the SQLite file, or the PostgreSQL dump restored with psql.
func loadAutosetup(t *testing.T, db identitytest.DB) {
	t.Helper()
	dir := filepath.Join("..", "testdata", "reference", "autosetup")
	if db.Driver == "sqlite" {
		b, err := os.ReadFile(filepath.Join(dir, "sqlite", ".authdb.sqlite"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(db.DSN, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql is needed to restore testdata/reference/autosetup/postgres/dump.sql")
	}
	out, err := exec.Command(psql, "-q", "-v", "ON_ERROR_STOP=1", "-f", filepath.Join(dir, "postgres", "dump.sql"), db.URL).CombinedOutput()
	if err != nil {
		t.Fatalf("restore dump.sql: %v\n%s", err, out)
	}
}

// eachAdoptable runs fn on SQLite and PostgreSQL; adoption in place is not
// offered on MySQL (TestAdoptRefusedOnMySQL).
func eachAdoptable(t *testing.T, fn func(t *testing.T, db identitytest.DB)) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		if db.Driver == "mysql" {
			t.Skip("adoption in place is SQLite and PostgreSQL only: the reference never ran on MySQL")
		}
		fn(t, db)
	})
}

// rowCounts counts the rows of tables (named with prefix).
func rowCounts(t *testing.T, db bun.IDB, prefix string, tables []string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, tb := range tables {
		n, err := db.NewSelect().Table(prefix + tb).Count(context.Background())
		if err != nil {
			t.Fatalf("count %s%s: %v", prefix, tb, err)
		}
		out[tb] = int(n)
	}
	return out
}

func keys(m map[string]int) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestAdoptReference: both reference databases are adopted in place on
// SQLite and PostgreSQL; afterwards the reference's users verify with their
// old passwords, live sessions exist under their old tokens, API keys
// verify, the reference's tables are kept under the prefix, a second
// adoption does nothing, and the way back restores the reference's
// database.
func TestAdoptReference(t *testing.T) {
	for _, name := range []string{"hand-made", "autosetup"} {
		t.Run(name, func(t *testing.T) {
			eachAdoptable(t, func(t *testing.T, db identitytest.DB) {
				fx := fixtures(t, db.Driver)[map[string]int{"hand-made": 0, "autosetup": 1}[name]]
				ctx := context.Background()
				fx.load(t, db)
				bdb, err := identity.Open(ctx, db.Driver, db.DSN)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { bdb.Close() })
				sv, err := identity.Inspect(ctx, bdb)
				if err != nil || sv.State != identity.DBReference {
					t.Fatalf("inspect before: %+v %v", sv, err)
				}
				before := rowCounts(t, bdb, "", keys(fx.counts))
				rollback := filepath.Join(t.TempDir(), "rollback.sql")
				a, err := identity.Adopt(ctx, bdb, identity.AdoptOptions{DSN: db.DSN, SQLitePath: db.DSN, RollbackFile: rollback})
				if err != nil {
					t.Fatal(err)
				}
				r := a.Report
				got := [7]int{r.Roles.Imported, r.Users.Imported, r.Sessions.Imported, r.Sessions.Skipped, r.APIKeys.Imported,
					r.NoSessionKeys.Imported, r.NoSessionKeys.Skipped}
				if got != fx.want || r.Conflicts != 0 {
					t.Fatalf("report %+v, want counts %v", r, fx.want)
				}
				if sv, _ := identity.Inspect(ctx, bdb); sv.State != identity.DBOurs {
					t.Fatalf("inspect after: %+v", sv)
				}
				if kept := rowCounts(t, bdb, identity.AdoptedPrefix, keys(fx.counts)); !mapsEqual(kept, before) {
					t.Fatalf("kept tables hold %v, want %v", kept, before)
				}
				checkAdopted(t, identity.NewStore(bdb), fx, db.Driver)

				// Nothing left to do: a second adoption, and the migrations.
				if again, err := identity.Adopt(ctx, bdb, identity.AdoptOptions{DSN: db.DSN, SQLitePath: db.DSN}); again != nil || err != nil {
					t.Fatalf("second adoption: %+v %v", again, err)
				}
				if err := identity.Migrate(ctx, bdb); err != nil {
					t.Fatal(err)
				}

				// The way back.
				var back *bun.DB
				if db.Driver == "sqlite" {
					if a.Backup == "" || modeOf(t, a.Backup) != 0o600 {
						t.Fatalf("backup %q", a.Backup)
					}
					if back, err = identity.Open(ctx, "sqlite", a.Backup); err != nil {
						t.Fatal(err)
					}
					defer back.Close()
				} else {
					sqlText, err := os.ReadFile(rollback)
					if err != nil || string(sqlText) != a.RollbackSQL || modeOf(t, rollback) != 0o600 {
						t.Fatalf("rollback file: %v", err)
					}
					if _, err := bdb.ExecContext(ctx, a.RollbackSQL); err != nil {
						t.Fatalf("rollback: %v\n%s", err, a.RollbackSQL)
					}
					back = bdb
				}
				if sv, err := identity.Inspect(ctx, back); err != nil || sv.State != identity.DBReference || slices.ContainsFunc(sv.Tables, func(s string) bool {
					return !slices.Contains(keys(fx.counts), s) && s != "groups" && s != "user_groups" && s != "preferences"
				}) {
					t.Fatalf("after the way back: %+v %v", sv, err)
				}
				if after := rowCounts(t, back, "", keys(fx.counts)); !mapsEqual(after, before) {
					t.Fatalf("after the way back %v, want %v", after, before)
				}
			})
		})
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func modeOf(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// checkAdopted checks the reference's users, sessions and keys through the
// store.
func checkAdopted(t *testing.T, s *identity.Store, fx refFixture, driver string) {
	t.Helper()
	ctx := context.Background()
	h, err := password.NewHasher(password.Options{MemoryBudget: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range fx.users {
		got, err := s.UserByEmail(ctx, u.email)
		if err != nil || got.UserID != u.id {
			t.Fatalf("user %s: %+v %v", u.email, got, err)
		}
		if ok, err := h.Verify(ctx, got.Password, u.password); !ok || err != nil {
			t.Errorf("user %s: the old password does not verify (%v)", u.email, err)
		}
	}
	for _, tok := range fx.sessions {
		if _, err := s.LiveSession(ctx, tok); err != nil {
			t.Errorf("session %.8s…: %v", tok, err)
		}
	}
	for _, tok := range fx.dead {
		if _, err := s.LiveSession(ctx, tok); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("dead session %.8s… exists: %v", tok, err)
		}
	}
	if _, err := s.VerifyAPIKey(ctx, fx.key, fx.keyUID, "authenticated"); err != nil {
		t.Errorf("session-bound key: %v", err)
	}
	if _, err := s.VerifyNoSessionKey(ctx, fx.nokey, fx.nokeyUID, "authenticated"); err != nil {
		t.Errorf("no-session key: %v", err)
	}
	// The refresh token works: the column holds the reference's argon2 hash.
	k, err := s.RefreshableKey(ctx, fx.nokey, fx.nokeyUID, "authenticated")
	if err != nil || !identity.RefreshMatches(k, fx.refresh) || identity.RefreshMatches(k, fx.refresh+"x") {
		t.Errorf("refresh with the old refresh token on %s: %v", driver, err)
	}
	// New users continue after the adopted ids.
	if u := newUser(t, s, "after-adoption@example.org", nil); u.UserID != 8 {
		t.Errorf("new user id %d, want 8", u.UserID)
	}
}

// TestAdoptInterruptedChangesNothing: an adoption that fails half-way (here
// after copying the users) leaves the reference's database exactly as it
// was; then it adopts.
func TestAdoptInterruptedChangesNothing(t *testing.T) {
	eachAdoptable(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		loadAutosetup(t, db)
		bdb, err := identity.Open(ctx, db.Driver, db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer bdb.Close()
		before, _ := identity.Inspect(ctx, bdb)
		tables := []string{"roles", "users", "sessions", "apikeys", "apikeys_nosession"}
		counts := rowCounts(t, bdb, "", tables)
		stop := errors.New("stopped after the users")
		_, err = identity.Adopt(ctx, bdb, identity.AdoptOptions{DSN: db.DSN, SQLitePath: db.DSN,
			AfterUsers: func(context.Context) error { return stop }})
		if !errors.Is(err, stop) {
			t.Fatalf("interrupted adoption: %v", err)
		}
		after, _ := identity.Inspect(ctx, bdb)
		if !slices.Equal(after.Tables, before.Tables) || after.State != identity.DBReference || !mapsEqual(rowCounts(t, bdb, "", tables), counts) {
			t.Fatalf("after the interruption: %+v, want %+v", after, before)
		}
		if backups, _ := filepath.Glob(db.DSN + ".before-adoption-*"); len(backups) != 0 {
			t.Fatalf("backups of an adoption that did not happen: %v", backups)
		}
		if a, err := identity.Adopt(ctx, bdb, identity.AdoptOptions{DSN: db.DSN, SQLitePath: db.DSN}); err != nil || a == nil {
			t.Fatalf("adoption after the interruption: %v", err)
		}
	})
}

// TestInspect: what a database holds decides what start-up does.
func TestInspect(t *testing.T) {
	cases := []struct {
		name  string
		setup []string
		state identity.DBState
		says  string
	}{
		{"empty", nil, identity.DBEmpty, "empty"},
		{"someone else's", []string{"CREATE TABLE widgets (id INTEGER PRIMARY KEY)", "CREATE TABLE users (id INTEGER PRIMARY KEY)"}, identity.DBForeign, "widgets"},
		{"sessions without tokens", []string{"CREATE TABLE roles (name VARCHAR(10))", "CREATE TABLE users (id INTEGER)", "CREATE TABLE sessions (id INTEGER)"},
			identity.DBForeign, "neither"},
		{"a failed first start of an older authnzrv", []string{"CREATE TABLE bun_migrations (id INTEGER)"}, identity.DBOurs, "authnzrv"},
	}
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ctx := context.Background()
				target := db
				if db.Driver == "sqlite" {
					target = identitytest.SQLite(t)
				} else if db.Driver == "postgres" {
					target = identitytest.Postgres(t)
				} else {
					target = identitytest.MySQL(t)
				}
				bdb, err := identity.Open(ctx, target.Driver, target.DSN)
				if err != nil {
					t.Fatal(err)
				}
				defer bdb.Close()
				for _, q := range tc.setup {
					if _, err := bdb.ExecContext(ctx, q); err != nil {
						t.Fatal(err)
					}
				}
				sv, err := identity.Inspect(ctx, bdb)
				if err != nil || sv.State != tc.state || !strings.Contains(sv.Describe(), tc.says) {
					t.Fatalf("%+v %q %v, want state %d saying %q", sv, sv.Describe(), err, tc.state, tc.says)
				}
			})
		}
		t.Run("migrated", func(t *testing.T) {
			s := bootstrapped(t, db)
			if sv, err := identity.Inspect(context.Background(), s.DB()); err != nil || sv.State != identity.DBOurs {
				t.Fatalf("%+v %v", sv, err)
			}
		})
	})
}

// TestAdoptRefusedOnMySQL: the reference never ran on MySQL, and MySQL's
// DDL cannot be rolled back.
func TestAdoptRefusedOnMySQL(t *testing.T) {
	db := identitytest.MySQL(t)
	bdb, err := identity.Open(context.Background(), db.Driver, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	if _, err := identity.Adopt(context.Background(), bdb, identity.AdoptOptions{}); !errors.Is(err, identity.ErrAdoptUnsupported) {
		t.Fatalf("adopt on MySQL: %v", err)
	}
}
