package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFinding10PermissionWarnings: a secret or PII salt file other users
// can read, and a base directory other users can write, start with a
// warning naming the file and the fix; private ones start without.
func TestFinding10PermissionWarnings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		dirMode, fileMode os.FileMode
		want              []string
	}{
		{"private", 0o700, 0o600, nil},
		{"world-readable secret files", 0o700, 0o644, []string{
			"secret: the file SECRET is readable by other users (mode 0644): chmod 600 it",
			"piisalt: the file SALT is readable by other users (mode 0644): chmod 600 it"}},
		{"a 0777 base directory", 0o777, 0o600, []string{"basedir: DIR is writable by other users (mode 0777): chmod 700 it"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "base")
			secret, salt := filepath.Join(dir, "secret"), filepath.Join(dir, "salt")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			for path, content := range map[string]string{secret: configKey + "\n", salt: "a salt\n"} {
				if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tc.fileMode); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chmod(dir, tc.dirMode); err != nil { // beyond the umask
				t.Fatal(err)
			}
			cmd := newRootCmd()
			cmd.SetContext(withEnviron(context.Background(), []string{"AUTHNZERVER_AUTHDB=sqlite:///" + filepath.Join(dir, "db.sqlite"),
				"AUTHNZERVER_SECRET=" + secret, "AUTHNZERVER_PIISALT=" + salt, "AUTHNZERVER_BASEDIR=" + dir}))
			cfg, err := loadConfig(cmd)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			newLogger(context.Background(), &buf, cfg)
			var warnings []string
			for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				if strings.Contains(l, "level=WARN") && strings.Contains(l, "mode 0") {
					warnings = append(warnings, l)
				}
			}
			if len(warnings) != len(tc.want) {
				t.Fatalf("warnings %q, want %d", warnings, len(tc.want))
			}
			for _, w := range tc.want {
				w = strings.NewReplacer("SECRET", secret, "SALT", salt, "DIR", dir).Replace(w)
				if !strings.Contains(buf.String(), w) {
					t.Errorf("no warning %q in %q", w, buf.String())
				}
			}
			if strings.Contains(buf.String(), configKey) {
				t.Fatal("the log holds the secret")
			}
		})
	}
}
