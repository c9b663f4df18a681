package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/client"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// binary is the authnzrv executable built once for the end-to-end tests.
func binary(t *testing.T) string {
	t.Helper()
	return sharedBinary(t) // built once per test run
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// start runs the binary and waits until /health answers 200.
func start(t *testing.T, bin string, port int, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = nil
	logf, err := os.Create(filepath.Join(t.TempDir(), "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	url := fmt.Sprintf("http://127.0.0.1:%d/health", port)
	for i := 0; i < 600; i++ {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(logf.Name())
	t.Fatalf("server did not become healthy:\n%s", b)
	return nil
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// TestAutosetupServes: `authnzrv --autosetup --basedir DIR` with nothing else
// makes the secrets, the database and a superuser, then serves; a frontend
// with the generated key logs the superuser in.
func TestAutosetupServes(t *testing.T) {
	bin := binary(t)
	dir := filepath.Join(t.TempDir(), "base")
	port := freePort(t)
	env := []string{"AUTHNZERVER_ARGON2PARAMS=m=1024,t=1,p=1"}
	cmd := start(t, bin, port, env, "--autosetup", "--basedir", dir, "--port", fmt.Sprint(port))

	for _, f := range []string{".authnzerver-secret-key", ".authnzerver-salt", ".authnzerver-admin-credentials", ".authdb.sqlite", ".env"} {
		if m := mode(t, filepath.Join(dir, f)); m != 0o600 {
			t.Errorf("%s has mode %o, want 600", f, m)
		}
	}
	secret, _ := os.ReadFile(filepath.Join(dir, ".authnzerver-secret-key"))
	creds, _ := os.ReadFile(filepath.Join(dir, ".authnzerver-admin-credentials"))
	email, pass, ok := strings.Cut(strings.TrimSpace(string(creds)), " ")
	if !ok || len(pass) != 22 {
		t.Fatalf("credentials file %q", creds)
	}
	c, err := client.New(fmt.Sprintf("http://127.0.0.1:%d", port), string(secret))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r, err := c.Do(ctx, "session-new", map[string]any{"ip_address": "127.0.0.1", "user_agent": "e2e", "user_id": nil,
		"expires": time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04:05.000000"), "extra_info_json": nil})
	if err != nil || !r.Success {
		t.Fatalf("session-new: %v %+v", err, r)
	}
	r, err = c.Do(ctx, "user-login", map[string]any{"session_token": r.Response["session_token"], "email": email, "password": pass})
	if err != nil || !r.Success || r.Response["user_role"] != "superuser" {
		t.Fatalf("login: %v %+v", err, r)
	}
	// SIGTERM: a clean exit.
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	// 222: a second start on the same directory adds no credentials file.
	cmd = start(t, bin, port, env, "--envfile", filepath.Join(dir, ".env"))
	matches, _ := filepath.Glob(filepath.Join(dir, ".authnzerver-admin-credentials*"))
	if len(matches) != 1 {
		t.Fatalf("credentials files %v", matches)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
}

// TestStartsFromEnvironment: the reference's variables start a server on
// PostgreSQL or SQLite with the admin e-mail and password given.
func TestStartsFromEnvironment(t *testing.T) {
	bin := binary(t)
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		dir := t.TempDir()
		secretFile := filepath.Join(dir, "secret")
		saltFile := filepath.Join(dir, "salt")
		os.WriteFile(secretFile, []byte("uQ0D2Mz_Xpm3Hn5ehwJb8BVcgGJdfoXU2p-2vvENJeM=\n"), 0o600)
		os.WriteFile(saltFile, []byte("a salt for the e2e test\n"), 0o600)
		port := freePort(t)
		env := []string{
			"AUTHNZERVER_BASEDIR=" + dir, "AUTHNZERVER_AUTHDB=" + db.URL, "AUTHNZERVER_SECRET=" + secretFile,
			"AUTHNZERVER_PIISALT=" + saltFile, "AUTHNZERVER_LISTEN=127.0.0.1", "AUTHNZERVER_PORT=" + fmt.Sprint(port),
			"AUTHNZERVER_ALLOWEDHOSTS=localhost;127.0.0.1", "AUTHNZERVER_ADMIN_EMAIL=boss@example.org",
			"AUTHNZERVER_ADMIN_PASSWORD=the boss password 1!", "AUTHNZERVER_ARGON2PARAMS=m=1024,t=1,p=1",
		}
		cmd := start(t, bin, port, env)
		creds, _ := os.ReadFile(filepath.Join(dir, ".authnzerver-admin-credentials"))
		if string(creds) != "boss@example.org password-was-user-generated\n" {
			t.Fatalf("credentials %q", creds)
		}
		c, _ := client.New(fmt.Sprintf("http://127.0.0.1:%d", port), "uQ0D2Mz_Xpm3Hn5ehwJb8BVcgGJdfoXU2p-2vvENJeM=")
		r, err := c.Do(context.Background(), "user-passcheck-nosession", map[string]any{"email": "boss@example.org", "password": "the boss password 1!"})
		if err != nil || !r.Success {
			t.Fatalf("passcheck: %v %+v", err, r)
		}
		// Prometheus metrics of the running binary.
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
		if err != nil {
			t.Fatal(err)
		}
		metrics, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{`authnzrv_password_hash_seconds_count{op="verify"}`, `authnzrv_policy_revision_info{revision=`,
			`go_sql_open_connections{db_name="authnzrv"}`, `authnzrv_ratelimit_total{result="admitted"}`,
			`authnzrv_requests_total{outcome="success",request="user-passcheck-nosession"} 1`} {
			if !strings.Contains(string(metrics), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("exit: %v", err)
		}
	})
}

// TestRefusesBadConfig: start-up validation gives a one-line reason.
func TestRefusesBadConfig(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"no secret", []string{"AUTHNZERVER_AUTHDB=sqlite:///" + dir + "/x.sqlite", "AUTHNZERVER_PIISALT=salt"}, "secret"},
		{"not a Fernet key", []string{"AUTHNZERVER_AUTHDB=sqlite:///" + dir + "/x.sqlite", "AUTHNZERVER_PIISALT=salt", "AUTHNZERVER_SECRET=this is a direct text secret"}, "secret"},
		{"bad database URL", []string{"AUTHNZERVER_AUTHDB=mysql://x", "AUTHNZERVER_PIISALT=salt", "AUTHNZERVER_SECRET=uQ0D2Mz_Xpm3Hn5ehwJb8BVcgGJdfoXU2p-2vvENJeM="}, "authdb"},
		{"bad password policy", []string{"AUTHNZERVER_AUTHDB=sqlite:///" + dir + "/x.sqlite", "AUTHNZERVER_PIISALT=salt", "AUTHNZERVER_SECRET=uQ0D2Mz_Xpm3Hn5ehwJb8BVcgGJdfoXU2p-2vvENJeM=", "AUTHNZERVER_PASSPOLICY=min_pass_length:x"}, "passpolicy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, "--basedir", dir)
			cmd.Env = append(clearedEnv(), tc.env...)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("started with %v", tc.env)
			}
			lines := 0
			sc := bufio.NewScanner(strings.NewReader(string(out)))
			for sc.Scan() {
				lines++
			}
			if lines != 1 || !strings.Contains(strings.ToLower(string(out)), tc.want) || strings.Contains(string(out), "direct text secret") {
				t.Fatalf("output %q: want one line naming %q, not echoing the secret", out, tc.want)
			}
		})
	}
}

// clearedEnv is the process environment without AUTHNZERVER_* variables.
func clearedEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AUTHNZERVER_") && !strings.HasPrefix(kv, "PORT=") {
			out = append(out, kv)
		}
	}
	return out
}
