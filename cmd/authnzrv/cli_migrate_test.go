package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
	"github.com/authnzrv/authnzrv/migrations"
)

// schemaTables are the tables the migrations create, in the order the
// rollback drops them.
var schemaTables = []string{"totp_challenges", "totp_recovery_codes", "totp_secrets", "social_logins", "social_states", "hawk_nonces", "lockouts", "login_failures", "apikeys_nosession", "apikeys", "sessions", "users", "roles"}

// tablesPresent returns which of names db has.
func tablesPresent(t *testing.T, db identitytest.DB, names ...string) []string {
	t.Helper()
	ctx := context.Background()
	bdb, err := identity.Open(ctx, db.Driver, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	var out []string
	for _, n := range names {
		ok, err := identity.HasTable(ctx, bdb, n)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			out = append(out, n)
		}
	}
	return out
}

// TestMigrateStatusOnlyReads: `migrate status` refuses a missing SQLite
// file, and on an empty database lists every migration as pending without
// creating the migration table or anything else.
func TestMigrateStatusOnlyReads(t *testing.T) {
	t.Run("missing sqlite file", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "nope.sqlite")
		r := cli(t, cliEnv(t, identitytest.DB{URL: "sqlite:///" + path}), "", "migrate", "status")
		if r.code != 1 || !strings.Contains(r.stderr, "authdb: the SQLite database "+path+" does not exist") || fileExists(path) {
			t.Fatalf("exit %d %q (file created: %t)", r.code, r.all(), fileExists(path))
		}
	})
	t.Run("empty sqlite file", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "empty.sqlite")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		r := cli(t, cliEnv(t, identitytest.DB{URL: "sqlite:///" + path}), "", "migrate", "status")
		if st, _ := os.Stat(path); r.code != 1 || !strings.Contains(r.stderr, "is empty: it holds no authnzrv schema") || st.Size() != 0 {
			t.Fatalf("exit %d %q", r.code, r.all())
		}
	})
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		if db.Driver == "sqlite" {
			// Someone else's SQLite database.
			sdb, err := sql.Open("sqlite", db.DSN)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sdb.Exec("CREATE TABLE notes (body TEXT)"); err != nil {
				t.Fatal(err)
			}
			sdb.Close()
		}
		env := cliEnv(t, db)
		r := cli(t, env, "", "migrate", "status")
		want := "# no migration table: the database was never migrated\n"
		for _, m := range migrationNames(t) {
			want += m + "\tpending\n"
		}
		if r.code != 0 || r.stdout != want {
			t.Fatalf("exit %d %q, want %q", r.code, r.all(), want)
		}
		if got := tablesPresent(t, db, append([]string{identity.MigrationTable, "bun_migration_locks"}, schemaTables...)...); len(got) != 0 {
			t.Fatalf("migrate status created %v", got)
		}
		runSteps(t, env, []step{
			{"up", []string{"migrate", "up"}, 0, fmt.Sprintf("applied %d migrations: %s", len(migrationNames(t)), strings.Join(migrationNames(t), ", "))},
			{"status after up", []string{"migrate", "status"}, 0, appliedStatus(t)},
			{"up again", []string{"migrate", "up"}, 0, "nothing to apply: the schema is current"},
		})
	})
}

// TestMigrateUpCreatesSQLite: `migrate up` is the one command that creates
// a missing SQLite file, and says so.
func TestMigrateUpCreatesSQLite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "new.sqlite")
	r := cli(t, cliEnv(t, identitytest.DB{URL: "sqlite:///" + path}), "", "migrate", "up")
	if r.code != 0 || !strings.HasPrefix(r.stdout, fmt.Sprintf("created the SQLite database %s\napplied %d migrations", path, len(migrationNames(t)))) || mode(t, path) != 0o600 {
		t.Fatalf("exit %d %q", r.code, r.all())
	}
}

// TestMigrateDown: without --yes it only says which migrations and tables
// it would drop; with --yes it drops them, unless users other than the
// system users are there and --force-data-loss is missing.
func TestMigrateDown(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		env := cliEnv(t, db)
		names := migrationNames(t)
		slices.Reverse(names)
		plan := "migrate down rolls back group 1: " + strings.Join(names, ", ") + "\n" +
			"it drops the tables totp_challenges (0 rows), totp_recovery_codes (0 rows), totp_secrets (0 rows), social_logins (0 rows), social_states (0 rows), hawk_nonces (0 rows), lockouts (0 rows), login_failures (0 rows), apikeys_nosession (0 rows), apikeys (0 rows), sessions (0 rows), users (%USERS% rows), roles (5 rows)\n"
		serverReady(t, db)
		r := cli(t, env, "", "migrate", "down")
		if r.code != 1 || r.stdout != strings.ReplaceAll(plan, "%USERS%", "3") ||
			r.stderr != "authnzrv: migrate down: refused without --yes; nothing was changed\n" {
			t.Fatalf("without --yes: exit %d\n%s", r.code, r.all())
		}
		if got := tablesPresent(t, db, schemaTables...); len(got) != len(schemaTables) {
			t.Fatalf("tables after a refused rollback: %v", got)
		}
		// Only the system users: --yes is enough.
		r = cli(t, env, "", "migrate", "down", "--yes")
		if r.code != 0 || !strings.Contains(r.stdout, "rolled back group 1: "+strings.Join(names, ", ")) {
			t.Fatalf("--yes: exit %d\n%s", r.code, r.all())
		}
		if got := tablesPresent(t, db, schemaTables...); len(got) != 0 {
			t.Fatalf("tables the plan named are still there: %v", got)
		}
		runSteps(t, env, []step{{"nothing left", []string{"migrate", "down", "--yes"}, 0, "nothing to roll back"}})

		// A user of the service: --force-data-loss as well.
		serverReady(t, db)
		runSteps(t, env, []step{
			{"add", []string{"user", "add", "ops@example.org", "--password", "a new password 123"}, 0, "added"},
			{"--yes alone", []string{"migrate", "down", "--yes"}, 1,
				"migrate down: refused: the users table holds 1 users besides the system users; nothing was changed (add --yes --force-data-loss to drop them)"},
			{"--force-data-loss alone", []string{"migrate", "down", "--force-data-loss"}, 1, "refused without --yes"},
		})
		if got := tablesPresent(t, db, schemaTables...); len(got) != len(schemaTables) {
			t.Fatalf("tables after refused rollbacks: %v", got)
		}
		r = cli(t, env, "", "migrate", "down", "--yes", "--force-data-loss")
		if r.code != 0 || !strings.HasPrefix(r.stdout, strings.ReplaceAll(plan, "%USERS%", "4")) || !strings.Contains(r.stdout, "rolled back group 1") {
			t.Fatalf("--yes --force-data-loss: exit %d\n%s", r.code, r.all())
		}
		if got := tablesPresent(t, db, schemaTables...); len(got) != 0 {
			t.Fatalf("tables left: %v", got)
		}
	})
}

// TestMigrateDownPlanMatchesSQL: the plan read from the down migrations by
// the recording connection names exactly the tables the migrations create,
// for every dialect.
func TestMigrateDownPlanMatchesSQL(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		serverReady(t, db)
		ctx := context.Background()
		bdb, err := identity.Open(ctx, db.Driver, db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer bdb.Close()
		p, err := planRollback(ctx, bdb)
		if err != nil {
			t.Fatal(err)
		}
		if p.Group != 1 || strings.Join(p.Tables, ",") != strings.Join(schemaTables, ",") || len(p.Migrations) != len(migrationNames(t)) {
			t.Fatalf("plan %+v", p)
		}
	})
}

// migrationNames lists the migrations in the order they apply (the same for
// every dialect).
func migrationNames(t *testing.T) []string {
	t.Helper()
	ms, err := migrations.For("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ms.Sorted() {
		names = append(names, m.Name+"_"+m.Comment)
	}
	return names
}

// appliedStatus is migrate status after every migration applied in group 1.
func appliedStatus(t *testing.T) string {
	var b strings.Builder
	for _, m := range migrationNames(t) {
		b.WriteString(m + "\tapplied (group 1)\n")
	}
	return b.String()
}
