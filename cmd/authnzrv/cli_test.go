package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
	"github.com/authnzrv/authnzrv/identity/password"
)

// cliResult is what one command line did: its output and exit code.
type cliResult struct {
	stdout, stderr string
	code           int
}

// all is stdout and stderr together, for "the output mentions" checks.
func (r cliResult) all() string { return r.stdout + r.stderr }

// cli runs a command line the way main does (run: exit code, the error as
// one line on stderr) with its own environment, never the process's, so
// tests may run in parallel.
func cli(t *testing.T, environ []string, stdin string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(withEnviron(context.Background(), environ), args, strings.NewReader(stdin), &out, &errb)
	return cliResult{out.String(), errb.String(), code}
}

// cliEnv is a configuration for the CLI on db: cheap hashing, its own base
// directory.
func cliEnv(t *testing.T, db identitytest.DB) []string {
	t.Helper()
	return []string{"AUTHNZERVER_AUTHDB=" + db.URL, "AUTHNZERVER_SECRET=" + configKey, "AUTHNZERVER_PIISALT=salt",
		"AUTHNZERVER_ARGON2PARAMS=m=1024,t=1,p=1", "AUTHNZERVER_BASEDIR=" + t.TempDir()}
}

// testAdminPassword is the superuser's password in serverReady databases.
const testAdminPassword = "bootstrap-Pa55word-xQ8vZ"

// serverReady gives db the state a server's first start leaves: `migrate
// up`, then the server's bootstrap with the default model's roles and the
// three system users (1 admin@example.org, superuser; 2 anonymous; 3 locked).
func serverReady(t *testing.T, db identitytest.DB) *identity.Store {
	t.Helper()
	if r := cli(t, cliEnv(t, db), "", "migrate", "up"); r.code != 0 {
		t.Fatalf("migrate up: exit %d: %s", r.code, r.all())
	}
	ctx := context.Background()
	bdb, err := identity.Open(ctx, db.Driver, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bdb.Close() })
	e, err := engine.New(ctx, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	params, err := parseArgon2Params("m=1024,t=1,p=1")
	if err != nil {
		t.Fatal(err)
	}
	h, err := password.NewHasher(password.Options{Params: params})
	if err != nil {
		t.Fatal(err)
	}
	st := identity.NewStore(bdb)
	if _, err := st.Bootstrap(ctx, h, e.Roles(), "admin@example.org", testAdminPassword); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestExitCodes: 0 ok, 1 the command failed, 2 it was called wrongly, with
// cobra's "did you mean" for commands and the closest flag for flags; the
// error is one line on stderr.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := []string{"AUTHNZERVER_AUTHDB=sqlite:///" + filepath.Join(dir, "typo.sqlite"), "AUTHNZERVER_SECRET=" + configKey,
		"AUTHNZERVER_PIISALT=salt", "AUTHNZERVER_BASEDIR=" + dir}
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string // "" = nothing on stderr
	}{
		{"ok", []string{"keygen"}, 0, ""},
		{"failed", []string{"user", "list"}, 1, "does not exist"},
		{"unknown subcommand with suggestion", []string{"user", "lsit"}, 2,
			`unknown command "lsit" for "authnzrv user"; did you mean "list"?`},
		{"unknown command of the root", []string{"usr", "list"}, 2, `unknown command "usr" for "authnzrv"; did you mean "user"?`},
		{"unknown nested subcommand", []string{"policy", "evl"}, 2, `did you mean "eval"?`},
		{"unknown command without suggestion", []string{"frobnicate"}, 2, `unknown command "frobnicate" for "authnzrv" (see 'authnzrv --help')`},
		{"group without subcommand", []string{"user"}, 2, "authnzrv user needs a sub-command: add, delete, list"},
		{"unknown flag with suggestion", []string{"user", "list", "--authbd", "x"}, 2, "unknown flag: --authbd; did you mean --authdb?"},
		{"unknown flag of the root", []string{"--prot", "1"}, 2, "did you mean --port?"},
		{"unknown flag without suggestion", []string{"keygen", "--zzzzzz"}, 2, "unknown flag: --zzzzzz (see 'authnzrv keygen --help')"},
		{"unknown shorthand", []string{"keygen", "-q"}, 2, "unknown shorthand flag"},
		{"bad flag value", []string{"hashers", "calibrate", "--memory", "lots"}, 2, `invalid argument "lots"`},
		{"too few arguments", []string{"user", "show"}, 2, "accepts 1 arg(s), received 0; usage: authnzrv user show ID|EMAIL"},
		{"too many arguments", []string{"keygen", "extra"}, 2, `unknown command "extra" for "authnzrv keygen"`},
		{"bad argument", []string{"migrate", "sideways"}, 2, `migrate takes up, down or status, not "sideways"`},
		{"unknown flag of the root, once prefixed", []string{"--version"}, 2, "authnzrv: unknown flag: --version (see 'authnzrv --help')\n"},
		{"help on an unknown topic", []string{"help", "user", "lsit"}, 2, `unknown command "lsit" for "authnzrv user"; did you mean "list"?`},
		{"help on a known topic", []string{"help", "user"}, 0, ""},
		{"completion for an unknown shell", []string{"completion", "bsh"}, 2, `unknown command "bsh" for "authnzrv completion"; did you mean "bash"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := cli(t, missing, "", tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d: %s", r.code, tc.code, r.all())
			}
			if tc.stderr == "" {
				if r.stderr != "" {
					t.Fatalf("stderr %q", r.stderr)
				}
				return
			}
			if !strings.Contains(r.stderr, tc.stderr) || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "authnzrv: ") {
				t.Fatalf("stderr %q, want one line with %q", r.stderr, tc.stderr)
			}
		})
	}
}

// TestExitCodeOfTheBinary: the process itself exits 2 for `user lsit`,
// which used to print help and exit 0.
func TestExitCodeOfTheBinary(t *testing.T) {
	bin := binary(t)
	cmd := exec.Command(bin, "user", "lsit")
	cmd.Env = clearedEnv()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(errb.String(), `did you mean "list"?`) {
		t.Fatalf("exit %v, stderr %q; want 2 with a suggestion", err, errb.String())
	}
}

// TestExitCodeMapping: main's mapping from errors to codes.
func TestExitCodeMapping(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		code int
	}{
		{nil, 0},
		{errors.New("boom"), 1},
		{errUsage, 2},
		{&usageError{"x"}, 2},
		{errors.Join(errors.New("wrapped"), &usageError{"x"}), 2},
	} {
		if got := exitCode(tc.err); got != tc.code {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.code)
		}
	}
}

// walkCommands calls fn for every command under root.
func walkCommands(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		walkCommands(sub, fn)
	}
}

// TestHelpListsOwnFlags: every sub-command's help lists only its own flags
// (and --envfile), with one line pointing at `authnzrv --help` for the
// server settings when it accepts them; the root lists the server flags.
func TestHelpListsOwnFlags(t *testing.T) {
	t.Parallel()
	server := serverFlagUsages()
	var paths [][]string
	walkCommands(newRootCmd(), func(c *cobra.Command) {
		if c.HasParent() {
			paths = append(paths, strings.Fields(c.CommandPath())[1:])
		}
	})
	if len(paths) < 20 {
		t.Fatalf("only %d commands found", len(paths))
	}
	for _, p := range paths {
		t.Run(strings.Join(p, " "), func(t *testing.T) {
			t.Parallel()
			r := cli(t, nil, "", append(p, "--help")...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.all())
			}
			var cmd *cobra.Command
			walkCommands(newRootCmd(), func(c *cobra.Command) {
				if c.CommandPath() == "authnzrv "+strings.Join(p, " ") {
					cmd = c
				}
			})
			accepts := false
			cmd.Flags().VisitAll(func(f *pflag.Flag) {
				if u, ok := server[f.Name]; ok && u == f.Usage {
					accepts = true
					if strings.Contains(r.stdout, "--"+f.Name+" ") {
						t.Errorf("help lists the server flag --%s", f.Name)
					}
				} else if !f.Hidden && !strings.Contains(r.stdout, "--"+f.Name) {
					t.Errorf("help lacks its own flag --%s", f.Name)
				}
			})
			if got := strings.Contains(r.stdout, "Server settings (--authdb, --secret, …): see `authnzrv --help`"); got != accepts {
				t.Errorf("pointer line present %t, want %t:\n%s", got, accepts, r.stdout)
			}
		})
	}
	t.Run("root", func(t *testing.T) {
		t.Parallel()
		r := cli(t, nil, "", "--help")
		for _, f := range []string{"--authdb", "--secret", "--piisalt", "--port", "--autosetup"} {
			if !strings.Contains(r.stdout, f) {
				t.Errorf("root help lacks %s", f)
			}
		}
	})
}

// TestHelpHiddenServerFlagsAccepted: the server flags hidden from the user
// and migrate commands' help still work there.
func TestHelpHiddenServerFlagsAccepted(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		serverReady(t, db)
		env := []string{"AUTHNZERVER_SECRET=" + configKey, "AUTHNZERVER_PIISALT=salt", "AUTHNZERVER_BASEDIR=" + t.TempDir()}
		for _, args := range [][]string{
			{"user", "list", "--authdb", db.URL},
			{"migrate", "status", "--authdb=" + db.URL, "--argon2params", "m=1024,t=1,p=1"},
		} {
			r := cli(t, env, "", args...)
			if r.code != 0 || !strings.Contains(r.stdout, "admin@example.org") && !strings.Contains(r.stdout, "applied") {
				t.Fatalf("%v: exit %d: %s", args, r.code, r.all())
			}
		}
	})
}
