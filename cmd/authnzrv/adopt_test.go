package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/client"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// adoptBin is the authnzrv binary the adoption tests share: built once per
// test run (TestMain removes it).
var adoptBin struct {
	once sync.Once
	dir  string
	path string
	out  []byte
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if adoptBin.dir != "" {
		os.RemoveAll(adoptBin.dir)
	}
	os.Exit(code)
}

// sharedBinary builds the binary on first use.
func sharedBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	adoptBin.once.Do(func() {
		if adoptBin.dir, adoptBin.err = os.MkdirTemp("", "authnzrv-adopt-test-"); adoptBin.err != nil {
			return
		}
		adoptBin.path = filepath.Join(adoptBin.dir, "authnzrv")
		adoptBin.out, adoptBin.err = exec.Command("go", "build", "-o", adoptBin.path, ".").CombinedOutput()
	})
	if adoptBin.err != nil {
		t.Fatalf("go build: %v\n%s", adoptBin.err, adoptBin.out)
	}
	return adoptBin.path
}

// refDir is testdata/reference/autosetup/<kind>.
func refDir(kind string) string {
	return filepath.Join("..", "..", "testdata", "reference", "autosetup", kind)
}

// refManifest is the part of testdata/reference/autosetup/manifest.json
// these tests read.
type refManifest struct {
	BasedirAsWritten string         `json:"basedir_as_written"`
	FernetKey        string         `json:"fernet_key"`
	RowCounts        map[string]int `json:"row_counts"`
	Users            []struct {
		UserID   int64   `json:"user_id"`
		Email    string  `json:"email"`
		Password *string `json:"password"`
		IsActive bool    `json:"is_active"`
	} `json:"users"`
	Sessions []struct {
		Token  string `json:"token"`
		UserID int64  `json:"user_id"`
		Live   bool   `json:"live"`
	} `json:"sessions"`
	Deleted []struct {
		Token string `json:"token"`
	} `json:"deleted_sessions"`
	APIKeys []struct {
		Claims       map[string]any `json:"claims"`
		UserID       int64          `json:"user_id"`
		UserRole     string         `json:"user_role"`
		SessionBound bool           `json:"session_bound"`
		RefreshToken *string        `json:"refresh_token"`
	} `json:"api_keys"`
}

func loadManifest(t *testing.T, kind string) refManifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "reference", "autosetup", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Databases map[string]refManifest `json:"databases"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m.Databases[kind]
}

// refBaseDir makes a copy of the base directory the reference's autosetup
// wrote for kind ("sqlite" or "postgres"), as an operator moving it would:
// the paths in its .env point to the copy, and for PostgreSQL its authdb to
// db, where the reference's dump is restored. The secret files get the
// reference's mode 0400.
func refBaseDir(t *testing.T, kind string, db identitytest.DB) (dir string, m refManifest) {
	t.Helper()
	m = loadManifest(t, kind)
	dir = filepath.Join(t.TempDir(), "basedir")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	files := []string{".authnzerver-secret-key", ".authnzerver-salt", ".authnzerver-admin-credentials", ".env", "default-permissions-model.json"}
	if kind == "sqlite" {
		files = append(files, ".authdb.sqlite")
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(refDir(kind), f))
		if err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		switch f {
		case ".env":
			b = []byte(strings.ReplaceAll(string(b), m.BasedirAsWritten, dir))
			if kind == "postgres" {
				var lines []string
				for _, l := range strings.Split(string(b), "\n") {
					if strings.HasPrefix(l, "AUTHNZERVER_AUTHDB=") {
						l = "AUTHNZERVER_AUTHDB=" + db.URL
					}
					lines = append(lines, l)
				}
				b = []byte(strings.Join(lines, "\n"))
			}
		case ".authdb.sqlite":
			mode = 0o600
		case ".authnzerver-secret-key", ".authnzerver-salt", ".authnzerver-admin-credentials":
			mode = 0o400
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, mode); err != nil {
			t.Fatal(err)
		}
	}
	if kind == "postgres" {
		restoreDump(t, db)
	}
	return dir, m
}

// restoreDump restores the reference's pg_dump into db with psql.
func restoreDump(t *testing.T, db identitytest.DB) {
	t.Helper()
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql is needed to restore testdata/reference/autosetup/postgres/dump.sql")
	}
	out, err := exec.Command(psql, "-q", "-v", "ON_ERROR_STOP=1", "-f", filepath.Join(refDir("postgres"), "dump.sql"), db.URL).CombinedOutput()
	if err != nil {
		t.Fatalf("restore dump.sql: %v\n%s", err, out)
	}
}

// server is a running binary and its log.
type server struct {
	cmd    *exec.Cmd
	log    *bytes.Buffer
	mu     *sync.Mutex
	exited chan struct{}
}

// logText returns what the server logged so far.
func (s server) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// lockedWriter serialises writes to a buffer.
type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// launch starts the binary with only env as its AUTHNZERVER_* environment.
func launch(t *testing.T, bin string, env []string, args ...string) server {
	t.Helper()
	s := server{log: &bytes.Buffer{}, mu: &sync.Mutex{}, exited: make(chan struct{})}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = append(clearedEnv(), env...)
	s.cmd.Stdout, s.cmd.Stderr = lockedWriter{s.mu, s.log}, lockedWriter{s.mu, s.log}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.exited
	})
	return s
}

// healthy waits until the server answers /health with 200, or fails with
// its log when it exits or takes too long.
func (s server) healthy(t *testing.T, port int) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.exited:
			t.Fatalf("server exited (%v):\n%s", s.cmd.ProcessState, s.logText())
		case <-deadline:
			t.Fatalf("server did not become healthy:\n%s", s.logText())
		case <-tick.C:
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port))
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return
				}
			}
		}
	}
}

// stop ends the server with SIGTERM and waits for it to exit.
func (s server) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not stop:\n%s", s.logText())
	}
}

// flows runs the reference protocol flows of the manifest against a server
// that adopted the database: logins with old passwords, the reference's
// sessions and API keys, and (where the column holds the reference's argon2
// refresh hash) a refresh with the old refresh token.
func flows(t *testing.T, port int, key string, m refManifest, refreshes bool) {
	t.Helper()
	ctx := context.Background()
	c, err := client.New(fmt.Sprintf("http://127.0.0.1:%d", port), key)
	if err != nil {
		t.Fatal(err)
	}
	do := func(req string, args map[string]any) *client.Reply {
		t.Helper()
		r, err := c.Do(ctx, req, args)
		if err != nil {
			t.Fatalf("%s: %v", req, err)
		}
		return r
	}
	for _, u := range m.Users {
		if u.Password == nil {
			continue
		}
		r := do("user-passcheck-nosession", map[string]any{"email": u.Email, "password": *u.Password})
		if r.Success != u.IsActive {
			t.Errorf("passcheck %s: %+v", u.Email, r)
		}
		if !u.IsActive {
			continue
		}
		s := do("session-new", map[string]any{"ip_address": "127.0.0.1", "user_agent": "adopt-test", "user_id": nil,
			"expires": time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04:05.000000"), "extra_info_json": nil})
		r = do("user-login", map[string]any{"session_token": s.Response["session_token"], "email": u.Email, "password": *u.Password})
		if !r.Success || r.Response["user_id"] != float64(u.UserID) {
			t.Errorf("login %s with the old password: %+v", u.Email, r)
		}
	}
	for _, s := range m.Sessions {
		r := do("session-exists", map[string]any{"session_token": s.Token})
		if r.Success != s.Live {
			t.Errorf("session-exists %.8s…: %+v, want %v", s.Token, r, s.Live)
		}
	}
	for _, s := range m.Deleted {
		if r := do("session-exists", map[string]any{"session_token": s.Token}); r.Success {
			t.Errorf("a session the reference deleted exists: %.8s…", s.Token)
		}
	}
	for _, k := range m.APIKeys {
		req := "apikey-verify-nosession"
		if k.SessionBound {
			req = "apikey-verify"
		}
		if r := do(req, map[string]any{"apikey_dict": k.Claims, "user_id": k.UserID, "user_role": k.UserRole}); !r.Success {
			t.Errorf("%s: %+v", req, r)
		}
		if k.RefreshToken == nil {
			continue
		}
		refresh := map[string]any{"apikey_dict": k.Claims, "user_id": k.UserID, "user_role": k.UserRole, "refresh_token": *k.RefreshToken,
			"ip_address": "127.0.0.1", "expires_seconds": 3600, "not_valid_before": 1, "refresh_expires": 7200, "refresh_nbf": 1}
		if r := do("apikey-refresh-nosession", refresh); r.Success != refreshes {
			t.Errorf("refresh with the reference's refresh token: %+v, want success %v", r, refreshes)
		} else if refreshes {
			if r := do("apikey-refresh-nosession", refresh); r.Success {
				t.Errorf("the old refresh token worked twice")
			}
		}
	}
	if r := do("user-new", map[string]any{"full_name": "After Adoption", "email": "after@example.org", "password": "Quartz-Lantern-4817-Heron-x"}); !r.Success || r.Response["user_id"] != float64(8) {
		t.Errorf("sign-up after the adoption: %+v", r)
	}
}

// eachAdoptable runs fn on SQLite and PostgreSQL.
func eachAdoptable(t *testing.T, fn func(t *testing.T, db identitytest.DB)) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		if db.Driver == "mysql" {
			t.Skip("adoption in place is SQLite and PostgreSQL only (TestAdoptRefused covers MySQL's refusal)")
		}
		fn(t, db)
	})
}

// TestAdoptAutosetupDatabase: authnzrv started on a base directory and
// database the reference's own autosetup made (its .env given to
// --envfile, its secret and salt files, its credentials file) adopts the
// database in place and answers the reference's protocol flows; reference
// variables it does not use are logged once as ignored; a second start
// finds nothing to adopt.
func TestAdoptAutosetupDatabase(t *testing.T) {
	bin := sharedBinary(t)
	eachAdoptable(t, func(t *testing.T, db identitytest.DB) {
		t.Parallel()
		dir, m := refBaseDir(t, db.Driver, db)
		port := freePort(t)
		env := []string{"AUTHNZERVER_ARGON2PARAMS=m=1024,t=1,p=1", "AUTHNZERVER_CACHEDIR=/nonexistent"}
		args := []string{"--envfile", filepath.Join(dir, ".env"), "--port", fmt.Sprint(port)}
		s := launch(t, bin, env, args...)
		s.healthy(t, port)
		log := s.logText()
		if !strings.Contains(log, "adopted the reference authnzerver's database in place") || strings.Count(log, "AUTHNZERVER_CACHEDIR") != 1 {
			t.Fatalf("log:\n%s", log)
		}
		if db.Driver == "sqlite" {
			backups, _ := filepath.Glob(filepath.Join(dir, ".authdb.sqlite.before-adoption-*"))
			if len(backups) != 1 || modeOf(t, backups[0]) != 0o600 || !strings.Contains(log, backups[0]) {
				t.Fatalf("backups %v", backups)
			}
		} else {
			rollback, _ := filepath.Glob(filepath.Join(dir, "authnzrv-adoption-rollback-*.sql"))
			if len(rollback) != 1 || modeOf(t, rollback[0]) != 0o600 || !strings.Contains(log, rollback[0]) {
				t.Fatalf("rollback files %v", rollback)
			}
		}
		flows(t, port, m.FernetKey, m, true)
		s.stop(t)

		s = launch(t, bin, env, args...)
		s.healthy(t, port)
		if log := s.logText(); strings.Contains(log, "adopted") || !strings.Contains(log, "already set up") {
			t.Fatalf("second start:\n%s", log)
		}
		s.stop(t)
		for _, f := range []string{".authnzerver-secret-key", ".authnzerver-salt", ".authnzerver-admin-credentials", "default-permissions-model.json"} {
			same(t, filepath.Join(refDir(db.Driver), f), filepath.Join(dir, f))
		}
	})
}

// same fails unless two files hold the same bytes.
func same(t *testing.T, want, got string) {
	t.Helper()
	a, err1 := os.ReadFile(want)
	b, err2 := os.ReadFile(got)
	if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
		t.Errorf("%s changed (%v %v)", got, err1, err2)
	}
}

// TestAdoptWithAutosetupFlag: --autosetup on the reference's base
// directory reuses its files (never overwrites them) and adopts its
// database; the superuser logs in with the reference's credentials file.
func TestAdoptWithAutosetupFlag(t *testing.T) {
	bin := sharedBinary(t)
	t.Parallel()
	dir, m := refBaseDir(t, "sqlite", identitytest.DB{})
	port := freePort(t)
	s := launch(t, bin, []string{"AUTHNZERVER_ARGON2PARAMS=m=1024,t=1,p=1"}, "--autosetup", "--basedir", dir, "--port", fmt.Sprint(port))
	s.healthy(t, port)
	if !strings.Contains(s.logText(), "adopted the reference authnzerver's database in place") {
		t.Fatalf("log:\n%s", s.logText())
	}
	creds, _ := os.ReadFile(filepath.Join(dir, ".authnzerver-admin-credentials"))
	email, pass, _ := strings.Cut(strings.TrimSpace(string(creds)), " ")
	c, _ := client.New(fmt.Sprintf("http://127.0.0.1:%d", port), m.FernetKey)
	if r, err := c.Do(context.Background(), "user-passcheck-nosession", map[string]any{"email": email, "password": pass}); err != nil || !r.Success {
		t.Fatalf("superuser with the reference's credentials: %v %+v", err, r)
	}
	s.stop(t)
	for _, f := range []string{".authnzerver-secret-key", ".authnzerver-salt", ".authnzerver-admin-credentials", "default-permissions-model.json"} {
		same(t, filepath.Join(refDir("sqlite"), f), filepath.Join(dir, f))
	}
	env, _ := os.ReadFile(filepath.Join(dir, ".env"))
	if want, _ := os.ReadFile(filepath.Join(refDir("sqlite"), ".env")); string(env) != strings.ReplaceAll(string(want), m.BasedirAsWritten, dir) {
		t.Errorf(".env was rewritten:\n%s", env)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, ".authnzerver-admin-credentials*")); len(matches) != 1 {
		t.Errorf("credentials files %v", matches)
	}
}

// TestAdoptFixture: the hand-made reference fixture (testdata/reference)
// is adopted at start from the reference's environment variables.
func TestAdoptFixture(t *testing.T) {
	bin := sharedBinary(t)
	eachAdoptable(t, func(t *testing.T, db identitytest.DB) {
		t.Parallel()
		referenceDB(t, db)
		port := freePort(t)
		s := launch(t, bin, []string{"AUTHNZERVER_AUTHDB=" + db.URL, "AUTHNZERVER_SECRET=" + clusterKey, "AUTHNZERVER_PIISALT=salt",
			"AUTHNZERVER_BASEDIR=" + t.TempDir(), "AUTHNZERVER_ARGON2PARAMS=m=1024,t=1,p=1", fmt.Sprintf("AUTHNZERVER_PORT=%d", port)})
		s.healthy(t, port)
		c, _ := client.New(fmt.Sprintf("http://127.0.0.1:%d", port), clusterKey)
		ctx := context.Background()
		checks := []struct {
			req  string
			args map[string]any
		}{
			{"user-passcheck-nosession", map[string]any{"email": "admin@example.org", "password": "aROwQin9L8nNtPTEMLXd"}},
			{"user-passcheck-nosession", map[string]any{"email": "oldtimer@example.org", "password": "correct horse battery staple"}},
			{"session-exists", map[string]any{"session_token": "live-session-token-of-user-4-aaaaaaaaaaaaaaaaa"}},
			{"apikey-verify", map[string]any{"apikey_dict": claims("session-bound-apikey-token-cccccccccccccccccccc"),
				"user_id": 4, "user_role": "authenticated"}},
			{"apikey-verify-nosession", map[string]any{"apikey_dict": claims("nosession-apikey-token-dddddddddddddddddddddddd"),
				"user_id": 4, "user_role": "authenticated"}},
		}
		for _, ch := range checks {
			if r, err := c.Do(ctx, ch.req, ch.args); err != nil || !r.Success {
				t.Errorf("%s: %v %+v", ch.req, err, r)
			}
		}
		if r, err := c.Do(ctx, "session-exists", map[string]any{"session_token": "expired-session-token-of-user-4-bbbbbbbbbbbbbb"}); err != nil || r.Success {
			t.Errorf("expired session: %v %+v", err, r)
		}
		s.stop(t)
	})
}

// claims are the claims of a key of the hand-made fixture's user 4.
func claims(tkn string) map[string]any {
	return map[string]any{"uid": 4, "rol": "authenticated", "tkn": tkn, "aud": "a", "sub": "s", "ver": 1, "exp": "x"}
}

// referenceState is what a database holds: its tables and their row
// counts.
func referenceState(t *testing.T, db identitytest.DB) (identity.Survey, map[string]int) {
	t.Helper()
	ctx := context.Background()
	bdb, err := identity.Open(ctx, db.Driver, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	sv, err := identity.Inspect(ctx, bdb)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, tb := range sv.Tables {
		n, err := bdb.NewSelect().Table(tb).Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		counts[tb] = int(n)
	}
	return sv, counts
}

// TestAdoptCrashLeavesReference: the binary killed (SIGKILL, by PID) in
// the middle of an adoption, after copying the users, leaves the database
// exactly as the reference left it; the next start adopts it.
func TestAdoptCrashLeavesReference(t *testing.T) {
	bin := sharedBinary(t)
	eachAdoptable(t, func(t *testing.T, db identitytest.DB) {
		t.Parallel()
		dir, m := refBaseDir(t, db.Driver, db)
		target := db
		if db.Driver == "sqlite" {
			target = identitytest.DB{Driver: "sqlite", DSN: filepath.Join(dir, ".authdb.sqlite")}
		}
		before, counts := referenceState(t, target)
		port := freePort(t)
		env := []string{"AUTHNZERVER_ARGON2PARAMS=m=1024,t=1,p=1"}
		args := []string{"--envfile", filepath.Join(dir, ".env"), "--port", fmt.Sprint(port)}
		cmd := exec.Command(bin, args...)
		cmd.Env = append(clearedEnv(), append(env, envAdoptPause+"=1")...)
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		paused := make(chan string, 1)
		go func() {
			var seen strings.Builder
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				seen.WriteString(sc.Text() + "\n")
				if strings.Contains(sc.Text(), "adoption paused") {
					paused <- ""
					break
				}
			}
			paused <- seen.String()
			for sc.Scan() {
			}
		}()
		select {
		case out := <-paused:
			if out != "" {
				t.Fatalf("the binary ended before pausing:\n%s", out)
			}
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			t.Fatal("the adoption never paused")
		}
		if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		after, afterCounts := referenceState(t, target)
		if after.State != identity.DBReference || !slices.Equal(after.Tables, before.Tables) || !mapsEq(afterCounts, counts) {
			t.Fatalf("after the kill: %+v %v, want %+v %v", after, afterCounts, before, counts)
		}
		for tb, n := range m.RowCounts {
			if counts[tb] != n {
				t.Fatalf("%s holds %d rows, the manifest says %d", tb, counts[tb], n)
			}
		}

		s := launch(t, bin, env, args...)
		s.healthy(t, port)
		if !strings.Contains(s.logText(), "adopted the reference authnzerver's database in place") {
			t.Fatalf("restart:\n%s", s.logText())
		}
		c, _ := client.New(fmt.Sprintf("http://127.0.0.1:%d", port), m.FernetKey)
		if r, err := c.Do(context.Background(), "session-exists", map[string]any{"session_token": m.Sessions[0].Token}); err != nil || !r.Success {
			t.Fatalf("session after the restart: %v %+v", err, r)
		}
		s.stop(t)
	})
}

func mapsEq(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func modeOf(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// TestAdoptRefused: a reference database with --adopt 0, one on MySQL, and
// a database holding someone else's tables stop the start with one line
// saying why, and the database is left as it was.
func TestAdoptRefused(t *testing.T) {
	bin := sharedBinary(t)
	cases := []struct {
		name  string
		db    func(t testing.TB) identitytest.DB
		setup func(t *testing.T, db identitytest.DB)
		args  []string
		want  []string
	}{
		{"adopt 0", identitytest.SQLite, referenceDB, []string{"--adopt", "0"}, []string{"--adopt is 0", "authnzrv import", "reference authnzerver"}},
		{"adopt 0 postgres", identitytest.Postgres, referenceDB, []string{"--adopt", "0"}, []string{"--adopt is 0", "authnzrv import"}},
		{"someone else's tables", identitytest.SQLite, foreignTables, nil, []string{"2 tables that are neither", "inventory, widgets"}},
		{"mysql", identitytest.MySQL, referenceMySQL, nil, []string{"SQLite and PostgreSQL only", "authnzrv import"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := tc.db(t)
			tc.setup(t, db)
			before, counts := referenceState(t, db)
			cmd := exec.Command(bin, append(tc.args, "--port", fmt.Sprint(freePort(t)))...)
			cmd.Env = append(clearedEnv(), "AUTHNZERVER_AUTHDB="+db.URL, "AUTHNZERVER_SECRET="+clusterKey, "AUTHNZERVER_PIISALT=salt",
				"AUTHNZERVER_BASEDIR="+t.TempDir())
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("started:\n%s", out)
			}
			// The log's notes come first; the refusal is the last line.
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			last := lines[len(lines)-1]
			for _, w := range tc.want {
				if !strings.Contains(last, w) {
					t.Fatalf("last line %q lacks %q; output:\n%s", last, w, out)
				}
			}
			if after, afterCounts := referenceState(t, db); !slices.Equal(after.Tables, before.Tables) || !mapsEq(afterCounts, counts) {
				t.Fatalf("the refused database changed: %+v %v", after, afterCounts)
			}
		})
	}
}

// foreignTables makes two tables of some other application.
func foreignTables(t *testing.T, db identitytest.DB) {
	t.Helper()
	conn, err := sql.Open("sqlite", db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{"CREATE TABLE widgets (id INTEGER PRIMARY KEY)", "CREATE TABLE inventory (id INTEGER PRIMARY KEY)"} {
		if _, err := conn.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

// referenceMySQL makes the reference's tables (enough of them to be
// recognised) on MySQL.
func referenceMySQL(t *testing.T, db identitytest.DB) {
	t.Helper()
	bdb, err := identity.Open(context.Background(), db.Driver, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	for _, q := range []string{`CREATE TABLE roles (name VARCHAR(100) PRIMARY KEY, "desc" VARCHAR(280) NOT NULL)`,
		"CREATE TABLE users (user_id INTEGER PRIMARY KEY, email VARCHAR(280))",
		"CREATE TABLE sessions (session_token VARCHAR(200) PRIMARY KEY, user_id INTEGER)"} {
		if _, err := bdb.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}
