package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authnzrv/authnzrv/config"
)

const configKey = "uQ0D2Mz_Xpm3Hn5ehwJb8BVcgGJdfoXU2p-2vvENJeM="

// runConfig runs the real root command with args and its own environment
// (never the process's), returning stdout, stderr and the error main would
// turn into exit status 1.
func runConfig(t *testing.T, environ []string, args ...string) (string, string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(withEnviron(context.Background(), environ))
	return out.String(), errb.String(), err
}

// baseEnv is a valid configuration in dir.
func baseEnv(dir string) []string {
	return []string{"AUTHNZERVER_AUTHDB=sqlite:///" + filepath.Join(dir, "db.sqlite"), "AUTHNZERVER_SECRET=" + configKey,
		"AUTHNZERVER_PIISALT=a salt", "AUTHNZERVER_BASEDIR=" + dir}
}

// TestConfigCheckCommand: `authnzrv config check` prints "configuration ok"
// or fails with the one-line error; notes go to stderr; the database is not
// opened.
func TestConfigCheckCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	envFile := filepath.Join(dir, "b.env")
	if err := os.WriteFile(envFile, []byte("AUTHNZERVER_PORT=13431\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(kv ...string) []string { return append(baseEnv(dir), kv...) }
	tests := []struct {
		name    string
		environ []string
		args    []string
		wantErr string // "" = exit 0
		stderr  string // must appear on stderr
	}{
		{"valid", env(), nil, "", ""},
		{"valid on PostgreSQL without connecting", append(env(), "AUTHNZERVER_AUTHDB=postgresql://nobody:pw@127.0.0.1:1/none"), nil, "", ""},
		{"bad boolean flag", env(), []string{"--metrics", "maybe"}, `metrics: flag --metrics: "maybe" is not a boolean (want 1/0, true/false, yes/no or on/off)`, ""},
		{"bad boolean variable", env("AUTHNZERVER_EMAILTLSVERIFY=verify"), nil, `emailtlsverify: env AUTHNZERVER_EMAILTLSVERIFY: "verify" is not a boolean (want 1/0, true/false, yes/no or on/off)`, ""},
		{"port out of range", env(), []string{"--port=70000"}, "port: flag --port: 70000 is above the maximum 65535", ""},
		{"bad log format", env("AUTHNZERVER_LOGFORMAT=yaml"), nil, `logformat: env AUTHNZERVER_LOGFORMAT: "yaml" is not one of text, json`, ""},
		{"missing envfile", env(), []string{"--envfile", filepath.Join(dir, "absent.env")}, "envfile: open " + filepath.Join(dir, "absent.env") + ": no such file or directory", ""},
		{"secret not a key", env("AUTHNZERVER_SECRET=not the key at all"), nil, "secret: env AUTHNZERVER_SECRET: not a Fernet key", ""},
		{"bad password policy", env("AUTHNZERVER_PASSPOLICY=min_pass_length:x"), nil, "passpolicy:", ""},
		{"bad argon2 parameters", env("AUTHNZERVER_ARGON2PARAMS=m=1"), nil, "argon2params:", ""},
		{"model without a role the server assigns", env("AUTHNZERVER_PERMISSIONS=" + filepath.Join("..", "..", "testdata", "permissions", "custom-permissions-model.json")), nil,
			`policies: permissions model custom-permissions-model.json: no role "authenticated"`, ""},
		{"bad rate limits", env("AUTHNZERVER_RATELIMITS=ipaddr:many"), nil, "ratelimits", ""},
		{"bad providers file", env("AUTHNZERVER_OAUTHPROVIDERS=" + filepath.Join(dir, "b.env")), nil, "oauthproviders:", ""},
		{"unknown variable warns", env("AUTHNZERVER_PROT=1"), nil, "",
			"warning: unknown variable AUTHNZERVER_PROT (env): no configuration item uses it; did you mean AUTHNZERVER_PORT?\n"},
		{"ignored variable noted", env("AUTHNZERVER_CACHEDIR=/tmp"), nil, "",
			"note: ignored variable AUTHNZERVER_CACHEDIR (env): set by the reference's tests; authnzrv has no cache directory\n"},
		{"disagreement noted", env("AUTHNZERVER_PORT=13440"), []string{"--port=13450", "--envfile=" + envFile}, "",
			"note: port: flag --port=13450 wins over env AUTHNZERVER_PORT (13440), envfile " + envFile + " (13431)\n"},
		{"arguments refused", env(), []string{"extra"}, `unknown command "extra"`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, stderr, err := runConfig(t, tc.environ, append([]string{"config", "check"}, tc.args...)...)
			if tc.wantErr == "" {
				if err != nil || out != "configuration ok\n" {
					t.Fatalf("out %q err %v, want configuration ok", out, err)
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "\n") || out != "" {
					t.Fatalf("out %q err %v, want one line with %q", out, err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "not the key at all") || strings.Contains(err.Error(), "nobody:pw") {
					t.Fatalf("error repeats a secret: %v", err)
				}
			}
			if tc.stderr != "" && !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("stderr %q lacks %q", stderr, tc.stderr)
			}
			if _, err := os.Stat(filepath.Join(dir, "db.sqlite")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("config check created the database: %v", err)
			}
		})
	}
}

// TestConfigShowCommand: `authnzrv config show` lists every item with its
// value and source, as a table or JSON, with no secret in either.
func TestConfigShowCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte(configKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(dir, "b.env")
	if err := os.WriteFile(envFile, []byte("AUTHNZERVER_PORT=13431\nAUTHNZERVER_EMAILPASS=smtp-secret-file\nAUTHNZERVER_PIISALT=salt-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	environ := []string{
		"AUTHNZERVER_AUTHDB=postgresql://u:db-secret-env@127.0.0.1:5432/test", "AUTHNZERVER_SECRET=" + secretFile,
		"AUTHNZERVER_PIISALT=salt-from-env", "AUTHNZERVER_BASEDIR=" + dir, "AUTHNZERVER_REDIS=redis://:redis-secret@127.0.0.1:6379/0",
		"AUTHNZERVER_PORT=13440", "AUTHNZERVER_METRICS=no", "AUTHNZERVER_SECRETKEY=ignored-secret",
	}
	args := []string{"config", "show", "--envfile", envFile, "--port", "13450", "--emailpass=smtp-secret-flag"}
	leaks := []string{configKey, "smtp-secret-file", "smtp-secret-flag", "salt-from-file", "salt-from-env", "db-secret-env", "redis-secret", "ignored-secret"}
	t.Run("table", func(t *testing.T) {
		t.Parallel()
		out, stderr, err := runConfig(t, environ, args...)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range leaks {
			if strings.Contains(out+stderr, l) {
				t.Errorf("output holds %q", l)
			}
		}
		rows := map[string][]string{}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "note: ") || strings.HasPrefix(line, "warning: ") {
				continue
			}
			if f := strings.Fields(line); len(f) >= 3 {
				rows[f[0]] = f[1:]
			}
		}
		wants := map[string]string{
			"port":      "13450 flag --port",
			"secret":    "[redacted] env AUTHNZERVER_SECRET, read from " + secretFile,
			"piisalt":   "[redacted] env AUTHNZERVER_PIISALT",
			"emailpass": "[redacted] flag --emailpass",
			"authdb":    "postgresql://u:xxxxx@127.0.0.1:5432/test env AUTHNZERVER_AUTHDB",
			"redis":     "redis://:xxxxx@127.0.0.1:6379/0 env AUTHNZERVER_REDIS",
			"metrics":   "false env AUTHNZERVER_METRICS",
			"workers":   "4 default",
			"listen":    "127.0.0.1 default",
		}
		for item, want := range wants {
			if got := strings.Join(rows[item], " "); got != want {
				t.Errorf("%s row %q, want %q", item, got, want)
			}
		}
		if len(rows) != len(config.Items())-3+1 { // resolvable items and the header
			t.Errorf("%d rows:\n%s", len(rows), out)
		}
		for _, want := range []string{
			"note: port: flag --port=13450 wins over env AUTHNZERVER_PORT (13440), envfile " + envFile + " (13431)",
			"note: emailpass: flag --emailpass=[redacted] wins over envfile " + envFile + " ([redacted])",
			"note: ignored variable AUTHNZERVER_SECRETKEY (env)",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q", want)
			}
		}
	})
	t.Run("json", func(t *testing.T) {
		t.Parallel()
		out, _, err := runConfig(t, environ, append(args, "--json")...)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range leaks {
			if strings.Contains(out, l) {
				t.Errorf("output holds %q", l)
			}
		}
		var doc shown
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if doc.EnvFile != envFile || len(doc.Items) != len(config.Items())-3 || len(doc.Disagreements) != 3 || len(doc.Ignored) != 1 || len(doc.Unknown) != 0 {
			t.Fatalf("document %+v", doc)
		}
		byName := map[string]shownItem{}
		for _, it := range doc.Items {
			byName[it.Item] = it
		}
		if p := byName["port"]; p.Value != "13450" || p.Source != "flag --port" {
			t.Errorf("port %+v", p)
		}
		if s := byName["secret"]; s.Value != "[redacted]" || !s.Secret || s.File != secretFile || s.Variable != "AUTHNZERVER_SECRET" || s.Source != "env AUTHNZERVER_SECRET" {
			t.Errorf("secret %+v", s)
		}
		if w := byName["workers"]; w.Value != "4" || w.Source != "default" || w.Variable != "" {
			t.Errorf("workers %+v", w)
		}
	})
	t.Run("load error", func(t *testing.T) {
		t.Parallel()
		out, _, err := runConfig(t, append(environ, "AUTHNZERVER_WORKERS=many"), "config", "show")
		if err == nil || err.Error() != `workers: env AUTHNZERVER_WORKERS: "many" is not an integer` || out != "" {
			t.Fatalf("out %q err %v", out, err)
		}
	})
}

// TestConfigLogFormat: --logformat picks slog's text or JSON handler, and
// the logger carries the configuration's notes once, without secrets.
func TestConfigLogFormat(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, out string)
	}{
		{"text", []string{"--logformat=text"}, func(t *testing.T, out string) {
			want := `level=INFO msg="configuration: secret: flag --secret=[redacted] wins over env AUTHNZERVER_SECRET ([redacted])"`
			if !strings.Contains(out, want) || strings.HasPrefix(out, "{") {
				t.Fatalf("text log %q lacks %q", out, want)
			}
		}},
		{"json", []string{"--logformat", "JSON"}, func(t *testing.T, out string) {
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 3 {
				t.Fatalf("%d lines: %q", len(lines), out)
			}
			for _, l := range lines {
				var rec map[string]any
				if err := json.Unmarshal([]byte(l), &rec); err != nil {
					t.Fatalf("not JSON: %q", l)
				}
				if msg, _ := rec["msg"].(string); !strings.HasPrefix(msg, "configuration: ") {
					t.Fatalf("record %v", rec)
				}
			}
			if !strings.Contains(out, `"level":"WARN","msg":"configuration: unknown variable AUTHNZERVER_LISTN (env)`) {
				t.Fatalf("no warning for the unknown variable: %q", out)
			}
		}},
		{"debug level", []string{"--debugmode=on"}, func(t *testing.T, out string) {
			if !strings.Contains(out, "level=DEBUG msg=probe") {
				t.Fatalf("debug record missing: %q", out)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd := newRootCmd()
			second := "v3BUDHeBBMIFYnumN3GjpcD9bvDJaJzLjGDY9FfuACU="
			if err := cmd.ParseFlags(append([]string{"--secret=" + second}, tc.args...)); err != nil {
				t.Fatal(err)
			}
			cmd.SetContext(withEnviron(context.Background(), append(baseEnv(dir), "AUTHNZERVER_LISTN=x", "AUTHNZERVER_CACHEDIR=/c")))
			cfg, err := loadConfig(cmd)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			log := newLogger(context.Background(), &buf, cfg)
			log.Debug("probe")
			if strings.Contains(buf.String(), configKey) || strings.Contains(buf.String(), second) {
				t.Fatalf("log holds the secret: %q", buf.String())
			}
			tc.check(t, buf.String())
		})
	}
}

// TestConfigExitCodes: the built binary exits 0 with "configuration ok" and
// 1 with one line on stderr.
func TestConfigExitCodes(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	tests := []struct {
		name   string
		args   []string
		env    []string
		code   int
		stdout string
		stderr string
	}{
		{"check ok", []string{"config", "check"}, baseEnv(dir), 0, "configuration ok\n", ""},
		{"check refused", []string{"config", "check", "--bergson", "sure"}, baseEnv(dir), 1, "",
			"authnzrv: bergson: flag --bergson: \"sure\" is not a boolean (want 1/0, true/false, yes/no or on/off)\n"},
		{"check missing envfile", []string{"config", "check", "--envfile=" + filepath.Join(dir, "nope")}, baseEnv(dir), 1, "",
			"authnzrv: envfile: open " + filepath.Join(dir, "nope") + ": no such file or directory\n"},
		{"show ok", []string{"config", "show", "--json"}, baseEnv(dir), 0, `"item": "allowedhosts"`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			cmd.Env = append(clearedEnv(), tc.env...)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || !strings.Contains(out.String(), tc.stdout) || (tc.stderr != "" && errb.String() != tc.stderr) {
				t.Fatalf("exit %d stdout %q stderr %q; want %d %q %q", code, out.String(), errb.String(), tc.code, tc.stdout, tc.stderr)
			}
		})
	}
}
