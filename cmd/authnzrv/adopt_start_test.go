package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartChecksBeforeWriting: a start that cannot succeed (listen port
// taken, base directory unusable, Redis not answering, a broken permissions
// model) stops with one line naming the cause before it writes anything: the
// database file is never made, so no superuser exists without its
// credentials file.
func TestStartChecksBeforeWriting(t *testing.T) {
	bin := sharedBinary(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() }) // after the parallel subtests
	cases := []struct {
		name string
		env  func(dir string) []string
		want string
	}{
		{"port taken", func(string) []string {
			return []string{fmt.Sprintf("AUTHNZERVER_PORT=%d", busy.Addr().(*net.TCPAddr).Port)}
		}, "listen on"},
		{"base directory is a file", func(dir string) []string {
			f := filepath.Join(dir, "not-a-directory")
			os.WriteFile(f, nil, 0o600)
			return []string{"AUTHNZERVER_BASEDIR=" + f}
		}, "basedir"},
		{"redis does not answer", func(string) []string { return []string{"AUTHNZERVER_REDIS=redis://127.0.0.1:1/0"} }, "redis"},
		{"broken permissions model", func(dir string) []string {
			f := filepath.Join(dir, "model.json")
			os.WriteFile(f, []byte(`{"roles": [`), 0o600)
			return []string{"AUTHNZERVER_PERMISSIONS=" + f}
		}, "permissions"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			dbPath := filepath.Join(dir, "db", "auth.sqlite")
			env := append([]string{"AUTHNZERVER_AUTHDB=sqlite:///" + dbPath, "AUTHNZERVER_SECRET=" + clusterKey, "AUTHNZERVER_PIISALT=salt",
				"AUTHNZERVER_BASEDIR=" + dir, fmt.Sprintf("AUTHNZERVER_PORT=%d", freePort(t))}, tc.env(dir)...)
			cmd := exec.Command(bin)
			cmd.Env = append(clearedEnv(), env...)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("started:\n%s", out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if last := strings.ToLower(lines[len(lines)-1]); !strings.Contains(last, tc.want) {
				t.Fatalf("last line %q does not name %q:\n%s", last, tc.want, out)
			}
			if _, err := os.Stat(dbPath); !os.IsNotExist(err) {
				t.Fatalf("the database was written: %v", err)
			}
			if m, _ := filepath.Glob(filepath.Join(dir, ".authnzerver-admin-credentials*")); len(m) != 0 {
				t.Fatalf("credentials written: %v", m)
			}
		})
	}
}
