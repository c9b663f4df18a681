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

	"github.com/authnzrv/authnzrv/client"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
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
