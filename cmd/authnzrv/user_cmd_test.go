package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
	"github.com/authnzrv/authnzrv/identity/password"
)

func runCLI(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// step is one command line of a scripted CLI session and what it must do.
type step struct {
	name string
	args []string
	code int
	want string // in stdout or stderr
}

// runSteps runs the steps in order on one environment.
func runSteps(t *testing.T, env []string, steps []step) {
	t.Helper()
	for _, s := range steps {
		r := cli(t, env, "", s.args...)
		if r.code != s.code || !strings.Contains(r.all(), s.want) {
			t.Fatalf("%s: %v: exit %d %q; want exit %d with %q", s.name, s.args, r.code, r.all(), s.code, s.want)
		}
	}
}

// TestUserCLI manages users from the shell on every database.
func TestUserCLI(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		serverReady(t, db)
		runSteps(t, cliEnv(t, db), []step{
			{"add", []string{"user", "add", "Ops@Example.org", "--name", "Ops Person", "--role", "staff", "--password", "a new password 123"}, 0, "user 4 ops@example.org (staff) added"},
			{"add twice", []string{"user", "add", "ops@example.org"}, 1, "a user with e-mail ops@example.org exists"},
			{"list", []string{"user", "list"}, 0, "4   ops@example.org      staff      true    true"},
			{"lock", []string{"user", "lock", "ops@example.org"}, 0, "role locked, active false"},
			{"unlock", []string{"user", "unlock", "4"}, 0, "role staff, active true"},
			{"set-role to an unknown role", []string{"user", "set-role", "4", "wizard"}, 1,
				`unknown role "wizard": the roles of the permissions model are superuser, staff, authenticated, anonymous, locked`},
			{"set-role", []string{"user", "set-role", "4", "authenticated"}, 0, "user 4 ops@example.org: role authenticated"},
			{"lock a system user", []string{"user", "lock", "2"}, 1, "refused by the admin policy"},
			{"passwd", []string{"user", "passwd", "ops@example.org", "--password", "another password 456"}, 0, "password of user 4 ops@example.org set"},
			{"passwd with a weak password", []string{"user", "passwd", "ops@example.org", "--password", "123qweasdzxc"}, 1, "password refused: Your password is on the list of the most common passwords"},
			{"no such user", []string{"user", "lock", "nobody@example.org"}, 1, `no user "nobody@example.org"`},
		})
	})
}

// TestUserAddValidates: `user add` checks like sign-up: the e-mail rules
// (then stores it normalised), the full name, the configured password
// policy and the model's roles; nothing refused is stored, and a generated
// password passes even a strict policy.
func TestUserAddValidates(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		st := serverReady(t, db)
		env := cliEnv(t, db)
		add := func(email string, flags ...string) []string { return append([]string{"user", "add", email}, flags...) }
		good := []string{"--password", "a new password 123"}
		runSteps(t, env, []step{
			{"reserved local part", add("Admin@example.org", good...), 1, `"Admin@example.org" is not an acceptable e-mail address`},
			{"disposable domain", add("someone@mailinator.com", good...), 1, "is not an acceptable e-mail address"},
			{"two @", add("a@b@example.org", good...), 1, "is not an acceptable e-mail address"},
			{"trailing newline", add("ops@example.org\n", good...), 1, "is not an acceptable e-mail address"},
			{"link in the name", add("ops@example.org", append(good, "--name", "see https://spam.example")...), 1, "--name: the full name appears to hold a link"},
			{"short password", add("ops@example.org", "--password", "short1"), 1, "password refused: Your password is too short. It must have at least 12 characters."},
			{"common password", add("ops@example.org", "--password", "123qweasdzxc"), 1, "most common passwords"},
			{"password like the e-mail", add("longname.person@example.org", "--password", "longname.person@example.org"), 1, "too similar"},
			{"all digits", add("ops@example.org", "--password", "918273645019283"), 1, "cannot be all numbers"},
			{"unknown role lists the roles", add("ops@example.org", append(good, "--role", "wizard")...), 1,
				`unknown role "wizard": the roles of the permissions model are superuser, staff, authenticated, anonymous, locked`},
			{"normalised", add("Ops@EXAMPLE.org", append(good, "--name", "Ops  Person", "--role", "staff")...), 0, "user 4 ops@example.org (staff) added"},
			{"duplicate once normalised", add("OPS@example.ORG", good...), 1, "a user with e-mail ops@example.org exists"},
		})
		users, err := st.ListUsers(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(users) != 4 || *users[3].FullName != "Ops Person" || !users[3].IsActive || !users[3].EmailVerified {
			t.Fatalf("users after the refusals: %+v", users)
		}

		strict := append(slices.Clone(env), "AUTHNZERVER_PASSPOLICY=min_pass_length:40; max_unsafe_similarity:50; max_char_frequency:0.3; min_pwned_matches:25")
		r := cli(t, strict, "", "user", "add", "gen@example.org")
		if r.code != 0 {
			t.Fatalf("generated password: exit %d: %s", r.code, r.all())
		}
		_, pw, ok := strings.Cut(strings.TrimSpace(r.stdout), "password: ")
		if !ok || len(pw) < 40 {
			t.Fatalf("generated password %q is shorter than the policy's 40", pw)
		}
		u, err := st.UserByEmail(context.Background(), "gen@example.org")
		if err != nil {
			t.Fatal(err)
		}
		h, _ := password.NewHasher(password.Options{})
		if ok, err := h.Verify(context.Background(), u.Password, pw); !ok || err != nil {
			t.Fatalf("the printed password does not match the stored hash: %v", err)
		}
		r = cli(t, strict, "", "user", "passwd", "gen@example.org", "--password", "a new password 123")
		if r.code != 1 || !strings.Contains(r.stderr, "at least 40 characters") {
			t.Fatalf("passwd under the strict policy: exit %d %s", r.code, r.all())
		}
	})
}

// TestUserShow prints every user_info column, never the password hash, and
// counts the sessions and API keys.
func TestUserShow(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		st := serverReady(t, db)
		env := cliEnv(t, db)
		runSteps(t, env, []step{{"add", []string{"user", "add", "ops@example.org", "--password", "a new password 123"}, 0, "added"}})
		ctx := context.Background()
		now := time.Now().UTC()
		tok, err := st.CreateSession(ctx, identity.NewSessionParams{IPAddress: "203.0.113.9", UserAgent: "test", UserID: 4, Expires: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateSession(ctx, identity.NewSessionParams{IPAddress: "203.0.113.9", UserAgent: "test", UserID: 4, Expires: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := st.NewAPIKey(ctx, "bound-key", tok, 4, "authenticated", now, now.Add(time.Hour), now); err != nil {
			t.Fatal(err)
		}
		if err := st.NewNoSessionKey(ctx, identity.NoSessionKeyParams{Token: "free-key", RefreshToken: "refresh", UserID: 4, UserRole: "authenticated",
			Issued: now, Expires: now.Add(time.Hour), NotValidBefore: now, RefreshExpires: now.Add(time.Hour), RefreshNotValidTill: now}); err != nil {
			t.Fatal(err)
		}

		r := cli(t, env, "", "user", "show", "OPS@example.org", "--json")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.all())
		}
		var shown map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil {
			t.Fatalf("%v: %s", err, r.stdout)
		}
		for col := range identity.UserInfoColumns {
			if _, ok := shown[col]; !ok {
				t.Errorf("user show lacks the user_info column %s", col)
			}
		}
		if _, ok := shown["password"]; ok || strings.Contains(r.stdout, "$argon2") {
			t.Fatalf("user show prints the password hash: %s", r.stdout)
		}
		if shown["email"] != "ops@example.org" || shown["sessions"] != 2.0 || shown["apikeys"] != 1.0 || shown["apikeys_nosession"] != 1.0 ||
			shown["extra_info"].(map[string]any)["provenance"] != "cli-created" {
			t.Fatalf("user show: %s", r.stdout)
		}

		r = cli(t, env, "", "user", "show", "4")
		for _, want := range []string{"user_id ", "email ", "ops@example.org", "sessions ", "apikeys_nosession ", `"provenance":"cli-created"`} {
			if r.code != 0 || !strings.Contains(r.stdout, want) || strings.Contains(r.stdout, "$argon2") {
				t.Fatalf("text form lacks %q or shows the hash: exit %d %s", want, r.code, r.all())
			}
		}
		runSteps(t, env, []step{{"no such user", []string{"user", "show", "99"}, 1, `no user "99"`}})
	})
}

// TestUserDelete asks the admin policy (system users, the last superuser),
// says what it would delete, and deletes only with --yes.
func TestUserDelete(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		st := serverReady(t, db)
		env := cliEnv(t, db)
		ctx := context.Background()
		runSteps(t, env, []step{
			{"add", []string{"user", "add", "ops@example.org", "--password", "a new password 123"}, 0, "added"},
		})
		if _, err := st.CreateSession(ctx, identity.NewSessionParams{IPAddress: "203.0.113.9", UserAgent: "t", UserID: 4, Expires: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		runSteps(t, env, []step{
			{"without --yes", []string{"user", "delete", "ops@example.org"}, 1, "would delete user 4 ops@example.org (role authenticated) with 1 sessions and 0 API keys"},
			{"still there", []string{"user", "show", "4"}, 0, "ops@example.org"},
			{"the anonymous user", []string{"user", "delete", "2", "--yes"}, 1, "refused by the admin policy"},
			{"the locked dummy user", []string{"user", "delete", "dummyuser@localhost", "--yes"}, 1, "(system_user)"},
			{"the last superuser", []string{"user", "delete", "1", "--yes"}, 1, "(last_superuser)"},
			{"with --yes", []string{"user", "delete", "ops@example.org", "--yes"}, 0, "deleted user 4 ops@example.org (role authenticated) with 1 sessions and 0 API keys"},
			{"gone", []string{"user", "show", "4"}, 1, `no user "4"`},
			{"second superuser", []string{"user", "add", "boss@example.org", "--role", "superuser", "--password", "a new password 123"}, 0, "added"},
			{"no longer the last superuser", []string{"user", "delete", "1", "--yes"}, 0, "deleted user 1 admin@example.org"},
		})
		if n, err := st.CountSessions(ctx, 4); err != nil || n != 0 {
			t.Fatalf("sessions of the deleted user: %d %v", n, err)
		}
	})
}

// TestUserCommandsRefuseMissingDatabase: a user command pointed at a
// database that does not exist (or was never migrated, or is behind) says
// so in one line naming authdb, exits 1 and creates nothing.
func TestUserCommandsRefuseMissingDatabase(t *testing.T) {
	t.Run("sqlite path mistyped", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		path := filepath.Join(dir, "tpyo.sqlite")
		env := cliEnv(t, identitytest.DB{URL: "sqlite:///" + path})
		for _, args := range [][]string{{"user", "list"}, {"user", "show", "1"}, {"user", "add", "ops@example.org"}, {"user", "delete", "1", "--yes"}} {
			r := cli(t, env, "", args...)
			if r.code != 1 || r.stderr != "authnzrv: authdb: the SQLite database "+path+" does not exist (check --authdb or AUTHNZERVER_AUTHDB; `authnzrv migrate up` creates a new one)\n" {
				t.Fatalf("%v: exit %d %q", args, r.code, r.all())
			}
			if fileExists(path) {
				t.Fatalf("%v created %s", args, path)
			}
		}
	})
	t.Run("sqlite file without the schema", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "empty.sqlite")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		r := cli(t, cliEnv(t, identitytest.DB{URL: "sqlite:///" + path}), "", "user", "list")
		if r.code != 1 || r.stderr != "authnzrv: authdb: the SQLite database "+path+" is empty: it holds no authnzrv schema (`authnzrv migrate up` creates it)\n" {
			t.Fatalf("exit %d %q", r.code, r.all())
		}
		if st, _ := os.Stat(path); st.Size() != 0 {
			t.Fatalf("the empty file was written to: %d bytes", st.Size())
		}
	})
	t.Run("postgres database missing", func(t *testing.T) {
		t.Parallel()
		db := identitytest.Postgres(t)
		missing := strings.Replace(db.URL, "/authnzrv_test_", "/authnzrv_missing_", 1)
		r := cli(t, cliEnv(t, identitytest.DB{URL: missing}), "", "user", "list")
		u, _ := url.Parse(missing)
		want := `authnzrv: authdb: the PostgreSQL database "` + strings.TrimPrefix(u.Path, "/") + `" does not exist on the server at ` + u.Host + "\n"
		if r.code != 1 || r.stderr != want {
			t.Fatalf("exit %d %q", r.code, r.all())
		}
	})
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		t.Run("never migrated", func(t *testing.T) {
			r := cli(t, cliEnv(t, db), "", "user", "list")
			if db.Driver == "sqlite" {
				if r.code != 1 || !strings.Contains(r.stderr, "does not exist") {
					t.Fatalf("exit %d %q", r.code, r.all())
				}
				return
			}
			if r.code != 1 || !strings.Contains(r.stderr, "authdb: the database holds no authnzrv schema") {
				t.Fatalf("exit %d %q", r.code, r.all())
			}
		})
		t.Run("migrations pending", func(t *testing.T) {
			st := serverReady(t, db)
			if _, err := st.DB().NewDelete().TableExpr(identity.MigrationTable).Where("name = ?", "20261122000003").Exec(context.Background()); err != nil {
				t.Fatal(err)
			}
			r := cli(t, cliEnv(t, db), "", "user", "list")
			if r.code != 1 || !strings.Contains(r.stderr, "authdb: 1 migrations are pending (20261122000003_lockout): run `authnzrv migrate up`") {
				t.Fatalf("exit %d %q", r.code, r.all())
			}
		})
	})
}

func TestHashersCalibrate(t *testing.T) {
	out, err := runCLI(t, nil, "hashers", "calibrate", "--memory", "1024", "--threads", "1", "--target", "5ms")
	if err != nil || !strings.Contains(out, "m=1024,t=") {
		t.Fatalf("%v %s", err, out)
	}
}
