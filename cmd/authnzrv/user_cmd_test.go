package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
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

// TestUserCLI manages users from the shell on both databases.
func TestUserCLI(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		env := []string{"AUTHNZERVER_AUTHDB=" + db.URL, "AUTHNZERVER_SECRET=uQ0D2Mz_Xpm3Hn5ehwJb8BVcgGJdfoXU2p-2vvENJeM=",
			"AUTHNZERVER_PIISALT=salt", "AUTHNZERVER_ARGON2PARAMS=m=1024,t=1,p=1", "AUTHNZERVER_BASEDIR=" + t.TempDir()}
		steps := []struct {
			args []string
			want string
			fail bool
		}{
			{[]string{"user", "add", "Ops@Example.org", "--name", "Ops Person", "--role", "staff"}, "user 1 ops@example.org (staff) added", false},
			{[]string{"user", "add", "ops@example.org"}, "exists", true},
			{[]string{"user", "list"}, "ops@example.org  staff", false},
			{[]string{"user", "lock", "ops@example.org"}, "role locked, active false", false},
			{[]string{"user", "unlock", "1"}, "role staff, active true", false},
			{[]string{"user", "set-role", "1", "wizard"}, "the role is not a role of the permissions model", true},
			{[]string{"user", "passwd", "ops@example.org", "--password", "a new password 123"}, "password of user 1 ops@example.org set", false},
			{[]string{"user", "lock", "nobody@example.org"}, `no user "nobody@example.org"`, true},
		}
		// Roles exist once the server (or migrate + bootstrap) ran; the CLI
		// on an empty database needs them: run the server's bootstrap.
		if _, err := runCLI(t, env, "user", "list"); err != nil {
			t.Fatal(err)
		}
		seedRoles(t, db)
		for _, s := range steps {
			out, err := runCLI(t, env, s.args...)
			if (err != nil) != s.fail {
				t.Fatalf("%v: err %v\n%s", s.args, err, out)
			}
			msg := out
			if err != nil {
				msg += err.Error()
			}
			if !strings.Contains(msg, s.want) {
				t.Fatalf("%v: %q lacks %q", s.args, msg, s.want)
			}
		}
	})
}

func TestHashersCalibrate(t *testing.T) {
	out, err := runCLI(t, nil, "hashers", "calibrate", "--memory", "1024", "--threads", "1", "--target", "5ms")
	if err != nil || !strings.Contains(out, "m=1024,t=") {
		t.Fatalf("%v %s", err, out)
	}
}

// seedRoles inserts the default model's roles (what start-up does before
// the system users).
func seedRoles(t *testing.T, db identitytest.DB) {
	t.Helper()
	ctx := context.Background()
	bdb, err := identity.Open(ctx, db.Driver, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	for _, r := range []string{"superuser", "staff", "authenticated", "anonymous", "locked"} {
		if _, err := bdb.NewRaw(`INSERT INTO roles (name, "desc") VALUES (?, ?)`, r, "Role with "+r+" privileges").Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
