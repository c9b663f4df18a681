package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/client"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
	"github.com/authnzrv/authnzrv/identity/password"
)

// referenceDB builds the reference fixture (testdata/reference) in db.
func referenceDB(t *testing.T, db identitytest.DB) {
	t.Helper()
	driver := "pgx"
	if db.Driver == "sqlite" {
		driver = "sqlite"
	}
	conn, err := sql.Open(driver, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, f := range []string{"schema.sql", "data.sql"} {
		src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "reference", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, stmt := range strings.Split(string(src), ";\n") {
			if strings.TrimSpace(stripComments(stmt)) == "" {
				continue
			}
			if _, err := conn.Exec(stmt); err != nil {
				t.Fatalf("%s: %v\n%s", f, err, stmt)
			}
		}
	}
}

func stripComments(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestImportReference: a reference database's users log in here with their
// old passwords, their live sessions and API keys work, and a second run
// imports nothing new.
func TestImportReference(t *testing.T) {
	bin := binary(t)
	identitytest.Each(t, func(t *testing.T, target identitytest.DB) {
		for _, srcKind := range []string{"sqlite", "postgres"} {
			t.Run("from "+srcKind, func(t *testing.T) {
				var src identitytest.DB
				if srcKind == "sqlite" {
					src = identitytest.SQLite(t)
				} else {
					src = identitytest.Postgres(t)
				}
				referenceDB(t, src)
				tgt := target
				if srcKind == "postgres" {
					tgt = identitytest.SQLite(t) // a fresh target for the second source
				}
				dir := t.TempDir()
				env := []string{"AUTHNZERVER_AUTHDB=" + tgt.URL, "AUTHNZERVER_SECRET=" + clusterKey, "AUTHNZERVER_PIISALT=salt",
					"AUTHNZERVER_BASEDIR=" + dir, "AUTHNZERVER_ARGON2PARAMS=m=1024,t=1,p=1"}
				out, err := runCLI(t, env, "import", "--from", src.URL, "--json")
				if err != nil {
					t.Fatalf("import: %v\n%s", err, out)
				}
				var rep identity.ImportReport
				if err := json.Unmarshal([]byte(out), &rep); err != nil {
					t.Fatalf("report %q: %v", out, err)
				}
				if rep.Roles.Imported != 5 || rep.Users.Imported != 5 || rep.Sessions.Imported != 1 || rep.Sessions.Skipped != 1 ||
					rep.APIKeys.Imported != 1 || rep.NoSessionKeys.Imported != 1 || rep.NoSessionKeys.Skipped != 1 {
					t.Fatalf("first import: %+v", rep)
				}
				out, err = runCLI(t, env, "import", "--from", src.URL, "--json")
				if err != nil {
					t.Fatal(err)
				}
				rep = identity.ImportReport{}
				json.Unmarshal([]byte(out), &rep)
				if rep.Roles.Imported+rep.Users.Imported+rep.Users.Updated+rep.Sessions.Imported+rep.APIKeys.Imported+rep.NoSessionKeys.Imported != 0 {
					t.Fatalf("second import changed something: %+v", rep)
				}
				text, err := runCLI(t, env, "import", "--from", src.URL)
				if err != nil || !strings.Contains(text, "users") || !strings.Contains(text, "apikeys_nosession") {
					t.Fatalf("text report: %v\n%s", err, text)
				}

				// Serve the imported database.
				port := freePort(t)
				cmd := start(t, bin, port, append(env, fmt.Sprintf("AUTHNZERVER_PORT=%d", port)))
				c, _ := client.New(fmt.Sprintf("http://127.0.0.1:%d", port), clusterKey)
				ctx := context.Background()
				for _, who := range []struct{ email, pw string }{{"admin@example.org", "aROwQin9L8nNtPTEMLXd"}, {"oldtimer@example.org", "correct horse battery staple"}} {
					r, err := c.Do(ctx, "user-passcheck-nosession", map[string]any{"email": who.email, "password": who.pw})
					if err != nil || !r.Success {
						t.Fatalf("%s with the old password: %v %+v", who.email, err, r)
					}
				}
				r, err := c.Do(ctx, "session-exists", map[string]any{"session_token": "live-session-token-of-user-4-aaaaaaaaaaaaaaaaa"})
				if err != nil || !r.Success {
					t.Fatalf("imported session: %v %+v", err, r)
				}
				claims := map[string]any{"uid": 4, "rol": "authenticated", "tkn": "session-bound-apikey-token-cccccccccccccccccccc", "aud": "a", "sub": "s", "ver": 1, "exp": "x"}
				r, err = c.Do(ctx, "apikey-verify", map[string]any{"apikey_dict": claims, "user_id": 4, "user_role": "authenticated"})
				if err != nil || !r.Success {
					t.Fatalf("imported API key: %v %+v", err, r)
				}
				claims["tkn"] = "nosession-apikey-token-dddddddddddddddddddddddd"
				r, err = c.Do(ctx, "apikey-verify-nosession", map[string]any{"apikey_dict": claims, "user_id": 4, "user_role": "authenticated"})
				if err != nil || !r.Success {
					t.Fatalf("imported no-session key: %v %+v", err, r)
				}
				// New users continue after the imported ids.
				r, err = c.Do(ctx, "user-new", map[string]any{"full_name": "New Person", "email": "new@example.org", "password": "aROwQin9L8nNtPTEMLXd"})
				if err != nil || !r.Success || r.Response["user_id"].(float64) != 8 {
					t.Fatalf("sign-up after import: %v %+v", err, r)
				}
				cmd.Process.Signal(syscall.SIGTERM)
				cmd.Wait()
			})
			if target.Driver == "postgres" {
				break // one source is enough for the PostgreSQL target
			}
		}
	})
}

// conflictingTarget is a set-up database where user 4 is someone else than
// the reference fixture's user 4.
func conflictingTarget(t *testing.T) identitytest.DB {
	t.Helper()
	ctx := context.Background()
	db := identitytest.SQLite(t)
	bdb, err := identity.Open(ctx, db.Driver, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	if err := identity.Migrate(ctx, bdb); err != nil {
		t.Fatal(err)
	}
	s := identity.NewStore(bdb)
	h, _ := password.NewHasher(password.Options{Params: password.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}})
	if _, err := s.Bootstrap(ctx, h, []string{"superuser", "staff", "authenticated", "anonymous", "locked"}, "admin@example.org", "pw"); err != nil {
		t.Fatal(err)
	}
	u := &identity.User{SystemID: "someone-else", Password: "$argon2id$x", Email: "someone@example.org", UserRole: "authenticated",
		CreatedOn: time.Now(), LastUpdated: time.Now()}
	if err := s.InsertUser(ctx, u); err != nil || u.UserID != 4 {
		t.Fatalf("user 4: %+v %v", u, err)
	}
	return db
}

// TestImportConflictsNeedAllowPartial: an import that would leave
// conflicting rows behind writes nothing and exits non-zero, naming
// --allow-partial; with --allow-partial it imports the rest.
func TestImportConflictsNeedAllowPartial(t *testing.T) {
	src := identitytest.SQLite(t)
	referenceDB(t, src)
	cases := []struct {
		args      []string
		fails     bool
		users     int
		sessions  int
		conflicts string
	}{
		{nil, true, 4, 0, "conflict: user 4: the id belongs to another e-mail here"},
		{[]string{"--allow-partial"}, false, 5, 0, "conflict: user 4: the id belongs to another e-mail here"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(append([]string{"import"}, tc.args...), " "), func(t *testing.T) {
			tgt := conflictingTarget(t)
			env := []string{"AUTHNZERVER_AUTHDB=" + tgt.URL, "AUTHNZERVER_SECRET=" + clusterKey, "AUTHNZERVER_PIISALT=salt",
				"AUTHNZERVER_BASEDIR=" + t.TempDir()}
			out, err := runCLI(t, env, append([]string{"import", "--from", src.URL}, tc.args...)...)
			if (err != nil) != tc.fails || !strings.Contains(out, tc.conflicts) {
				t.Fatalf("import %v: %v\n%s", tc.args, err, out)
			}
			if tc.fails && !strings.Contains(err.Error(), "--allow-partial") {
				t.Fatalf("error %q does not name --allow-partial", err)
			}
			bdb, err := identity.Open(context.Background(), tgt.Driver, tgt.DSN)
			if err != nil {
				t.Fatal(err)
			}
			defer bdb.Close()
			// Users 1-3 and the other user 4; with --allow-partial user 7
			// too (1-3 are updated in place: same ids and e-mails).
			if n, _ := bdb.NewSelect().Table("users").Count(context.Background()); int(n) != tc.users {
				t.Fatalf("%d users, want %d", n, tc.users)
			}
			if n, _ := bdb.NewSelect().Table("sessions").Count(context.Background()); int(n) != tc.sessions {
				t.Fatalf("%d sessions, want %d (user 4's session belongs to the user left behind)", n, tc.sessions)
			}
		})
	}
}

// TestImportFromMySQL: --from mysql://… opens the source with the MySQL
// driver (the reference's schema, with the key columns MySQL can index).
func TestImportFromMySQL(t *testing.T) {
	src := identitytest.MySQL(t)
	ctx := context.Background()
	bdb, err := identity.Open(ctx, src.Driver, src.DSN)
	if err != nil {
		t.Fatal(err)
	}
	mysqlKeys := strings.NewReplacer("VARCHAR PRIMARY KEY", "VARCHAR(255) PRIMARY KEY", "apikey TEXT PRIMARY KEY", "apikey VARCHAR(255) PRIMARY KEY",
		"session_token TEXT NOT NULL", "session_token VARCHAR(255) NOT NULL", "TIMESTAMP", "DATETIME(6)")
	for _, f := range []string{"schema.sql", "data.sql"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "reference", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, stmt := range strings.Split(mysqlKeys.Replace(string(b)), ";\n") {
			if strings.TrimSpace(stripComments(stmt)) == "" {
				continue
			}
			if _, err := bdb.ExecContext(ctx, stmt); err != nil {
				t.Fatalf("%s: %v\n%s", f, err, stmt)
			}
		}
	}
	bdb.Close()
	tgt := identitytest.SQLite(t)
	env := []string{"AUTHNZERVER_AUTHDB=" + tgt.URL, "AUTHNZERVER_SECRET=" + clusterKey, "AUTHNZERVER_PIISALT=salt", "AUTHNZERVER_BASEDIR=" + t.TempDir()}
	out, err := runCLI(t, env, "import", "--from", src.URL, "--json")
	if err != nil {
		t.Fatalf("import from MySQL: %v\n%s", err, out)
	}
	var rep identity.ImportReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report %q: %v", out, err)
	}
	if rep.Roles.Imported != 5 || rep.Users.Imported != 5 || rep.Sessions.Imported != 1 || rep.APIKeys.Imported != 1 || rep.NoSessionKeys.Imported != 1 || rep.Conflicts != 0 {
		t.Fatalf("report %+v", rep)
	}
}
