package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/client"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

const clusterKey = "uQ0D2Mz_Xpm3Hn5ehwJb8BVcgGJdfoXU2p-2vvENJeM="

// randomIP keeps this run's rate-limit buckets apart from other runs that
// share the Redis.
func randomIP() string {
	var b [3]byte
	rand.Read(b[:])
	return fmt.Sprintf("10.%d.%d.%d", b[0], b[1], b[2])
}

func redisURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("AUTHNZRV_TEST_REDIS")
	if u == "" {
		t.Skip("AUTHNZRV_TEST_REDIS is not set: skipping the multi-instance tests (e.g. AUTHNZRV_TEST_REDIS=redis://127.0.0.1:6379/0)")
	}
	return u
}

// instance is one running authnzrv and a client for it.
type instance struct {
	cmd  *exec.Cmd
	port int
	c    *client.Client
}

func startInstance(t *testing.T, bin string, env []string, ip string) *instance {
	t.Helper()
	port := freePort(t)
	cmd := start(t, bin, port, append(env, "AUTHNZERVER_PORT="+strconv.Itoa(port)))
	c, err := client.New(fmt.Sprintf("http://127.0.0.1:%d", port), clusterKey, client.WithClientIP(ip))
	if err != nil {
		t.Fatal(err)
	}
	return &instance{cmd: cmd, port: port, c: c}
}

func (in *instance) stop(t *testing.T) {
	t.Helper()
	in.cmd.Process.Signal(syscall.SIGTERM)
	if err := in.cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
}

func status(err error) int {
	var se *client.StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	if err != nil {
		return -1
	}
	return 200
}

// TestTwoInstancesShareOneBudget: two servers on one PostgreSQL database and
// one Redis give an attacker one budget, not two (issue: abuse protection).
func TestTwoInstancesShareOneBudget(t *testing.T) {
	rurl := redisURL(t)
	bin := binary(t)
	db := identitytest.Postgres(t)
	dir := t.TempDir()
	secret, salt := filepath.Join(dir, "secret"), filepath.Join(dir, "salt")
	os.WriteFile(secret, []byte(clusterKey), 0o600)
	os.WriteFile(salt, []byte("cluster salt"), 0o600)
	env := []string{
		"AUTHNZERVER_BASEDIR=" + dir, "AUTHNZERVER_AUTHDB=" + db.URL, "AUTHNZERVER_SECRET=" + secret,
		"AUTHNZERVER_PIISALT=" + salt, "AUTHNZERVER_ADMIN_EMAIL=boss@example.org",
		"AUTHNZERVER_ADMIN_PASSWORD=the boss password 1!", "AUTHNZERVER_ARGON2PARAMS=m=1024,t=1,p=1",
		"AUTHNZERVER_REDIS=" + rurl, "AUTHNZERVER_REQUESTTTL=60", "AUTHNZERVER_USERLOCKTRIES=2",
		"AUTHNZERVER_RATELIMITS=ipaddr:720; user:480; session:600; apikey:720; burst:150; session-exists:10",
	}
	ip := randomIP()
	a := startInstance(t, bin, env, ip)
	b := startInstance(t, bin, env, ip)
	ctx := context.Background()
	parent := t
	// A normal user to lock out (locking the superuser would fail /health).
	if r, err := a.c.Do(ctx, "user-new", map[string]any{"full_name": "Target User", "email": "target@example.org", "password": "aROwQin9L8nNtPTEMLXd"}); err != nil || !r.Success {
		t.Fatalf("user-new: %v %+v", err, r)
	}
	if r, err := b.c.Do(ctx, "user-set-emailverified", map[string]any{"email": "target@example.org"}); err != nil || !r.Success {
		t.Fatalf("verify: %v %+v", err, r)
	}

	t.Run("a per-IP limit of 10 admits 10 across both instances", func(t *testing.T) {
		admitted, limited := 0, 0
		for i := range 16 {
			in := a
			if i%2 == 1 {
				in = b
			}
			_, err := in.c.Do(ctx, "session-exists", map[string]any{"session_token": "nope"})
			switch status(err) {
			case 200:
				admitted++
			case http.StatusTooManyRequests:
				limited++
			default:
				t.Fatal(err)
			}
		}
		if admitted < 10 || admitted > 11 || admitted+limited != 16 {
			t.Fatalf("admitted %d, limited %d: want 10 (11 if a token refilled) of 16", admitted, limited)
		}
	})

	t.Run("failures on A lock the account for B, and the lock survives a restart", func(t *testing.T) {
		login := func(in *instance, pw string) *client.Reply {
			tok, err := in.c.Do(ctx, "session-new", map[string]any{"ip_address": ip, "user_agent": "e2e", "user_id": nil, "extra_info_json": nil, "expires": time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04:05.000000")})
			if err != nil || !tok.Success {
				t.Fatalf("session-new: %v %+v", err, tok)
			}
			r, err := in.c.Do(ctx, "user-login", map[string]any{"session_token": tok.Response["session_token"], "email": "target@example.org", "password": pw})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		for range 2 {
			if r := login(a, "wrong"); r.Success || r.Reason() != "user does not exist or password doesn't match" {
				t.Fatalf("failure on A: %+v", r)
			}
		}
		if r := login(b, "wrong"); r.Success || r.Reason() != "" || len(r.Messages) != 1 {
			t.Fatalf("third failure on B did not lock: %+v", r)
		}
		if r := login(b, "aROwQin9L8nNtPTEMLXd"); r.Success {
			t.Fatal("locked account logged in on B")
		}
		a.stop(t)
		a = startInstance(parent, bin, env, ip)
		if r := login(a, "aROwQin9L8nNtPTEMLXd"); r.Success {
			t.Fatal("lock-out forgotten by a restart")
		}
	})

	t.Run("a replayed token is refused by the other instance", func(t *testing.T) {
		msg := fmt.Sprintf(`{"request": "session-exists", "body": {"session_token": "x"}, "reqid": 1, "client_ipaddr": %q}`, randomIP())
		token, err := a.c.Seal([]byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.c.Post(ctx, "/", token); err != nil {
			t.Fatalf("first use on A: %v", err)
		}
		if _, err := b.c.Post(ctx, "/", token); status(err) != http.StatusUnauthorized {
			t.Fatalf("replay on B: %v, want HTTP 401", err)
		}
	})
}

// TestRedisOutage: with Redis gone, redisfailure=open keeps serving without
// limits and redisfailure=closed refuses with 503 naming the store (issue
// 13, finding 6: not 401, which reads like a wrong key); neither crashes.
func TestRedisOutage(t *testing.T) {
	redisURL(t)
	server, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed")
	}
	bin := binary(t)
	rport := freePort(t)
	redis := exec.Command(server, "--port", strconv.Itoa(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := redis.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { redis.Process.Kill(); redis.Wait() })
	time.Sleep(300 * time.Millisecond)
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte(clusterKey), 0o600)
	common := []string{
		"AUTHNZERVER_SECRET=" + secret, "AUTHNZERVER_PIISALT=salt", "AUTHNZERVER_ARGON2PARAMS=m=1024,t=1,p=1",
		fmt.Sprintf("AUTHNZERVER_REDIS=redis://127.0.0.1:%d/0", rport), "AUTHNZERVER_BASEDIR=" + dir,
	}
	ip := randomIP()
	open := startInstance(t, bin, append(common, "AUTHNZERVER_AUTHDB=sqlite:///"+filepath.Join(dir, "open.sqlite"), "AUTHNZERVER_REDISFAILURE=open"), ip)
	closed := startInstance(t, bin, append(common, "AUTHNZERVER_AUTHDB=sqlite:///"+filepath.Join(dir, "closed.sqlite"), "AUTHNZERVER_REDISFAILURE=closed"), ip)
	ctx := context.Background()
	for _, in := range []*instance{open, closed} {
		if _, err := in.c.Do(ctx, "session-exists", map[string]any{"session_token": "x"}); err != nil {
			t.Fatalf("before the outage: %v", err)
		}
	}
	redis.Process.Kill() // the dedicated server, by its PID
	redis.Wait()
	if _, err := open.c.Do(ctx, "session-exists", map[string]any{"session_token": "x"}); err != nil {
		t.Fatalf("fail-open instance during the outage: %v", err)
	}
	if _, err := closed.c.Do(ctx, "session-exists", map[string]any{"session_token": "x"}); status(err) != http.StatusServiceUnavailable ||
		!strings.Contains(err.Error(), "(Redis) is unavailable") {
		t.Fatalf("fail-closed instance during the outage: %v, want 503 naming Redis", err)
	}
	for _, in := range []*instance{open, closed} {
		if in.cmd.ProcessState != nil {
			t.Fatal("an instance exited during the outage")
		}
		in.stop(t)
	}
}

// TestCacheInvalidationAcrossInstances: two servers with the identity cache
// on (a TTL far above the test's length) share a database; a lock on one
// reaches the other's cache through PostgreSQL's NOTIFY (PostgreSQL) or
// Redis (two processes on one SQLite file): the other instance stops
// serving the user's session. The time it took is logged (in practice well
// under the 100 ms the issue asks for; the TTL bounds it when a message is
// lost).
func TestCacheInvalidationAcrossInstances(t *testing.T) {
	rurl := redisURL(t)
	bin := binary(t)
	for _, transport := range []string{"postgres-notify", "redis"} {
		t.Run(transport, func(t *testing.T) {
			dir := t.TempDir()
			secret := filepath.Join(dir, "secret")
			os.WriteFile(secret, []byte(clusterKey), 0o600)
			env := []string{
				"AUTHNZERVER_BASEDIR=" + dir, "AUTHNZERVER_SECRET=" + secret, "AUTHNZERVER_PIISALT=cache salt",
				"AUTHNZERVER_ADMIN_EMAIL=boss@example.org", "AUTHNZERVER_ADMIN_PASSWORD=the boss password 1!",
				"AUTHNZERVER_ARGON2PARAMS=m=1024,t=1,p=1", "AUTHNZERVER_CACHETTL=600", "AUTHNZERVER_RATELIMITS=none",
			}
			if transport == "redis" {
				env = append(env, "AUTHNZERVER_AUTHDB=sqlite:///"+filepath.Join(dir, "shared.sqlite"), "AUTHNZERVER_REDIS="+rurl)
			} else {
				env = append(env, "AUTHNZERVER_AUTHDB="+identitytest.Postgres(t).URL)
			}
			ip := randomIP()
			a := startInstance(t, bin, env, ip)
			defer a.stop(t)
			b := startInstance(t, bin, env, ip)
			defer b.stop(t)
			ctx := context.Background()
			do := func(in *instance, req string, body map[string]any) *client.Reply {
				t.Helper()
				r, err := in.c.Do(ctx, req, body)
				if err != nil {
					t.Fatalf("%s: %v", req, err)
				}
				return r
			}
			r := do(a, "user-new", map[string]any{"full_name": "Cached User", "email": "cached@example.org", "password": "aROwQin9L8nNtPTEMLXd"})
			uid := int64(r.Response["user_id"].(float64))
			do(a, "user-set-emailverified", map[string]any{"email": "cached@example.org"})
			r = do(a, "session-new", map[string]any{"ip_address": "203.0.113.7", "user_agent": "test", "user_id": uid,
				"expires": time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04:05.000000"), "extra_info_json": nil})
			token := r.Response["session_token"].(string)
			// Both caches hold the session and the user.
			for _, in := range []*instance{a, b} {
				if !do(in, "session-exists", map[string]any{"session_token": token}).Success {
					t.Fatal("session missing before the lock")
				}
			}
			if r := do(a, "internal-user-lock", map[string]any{"target_userid": uid, "action": "lock"}); !r.Success {
				t.Fatalf("lock: %+v", r)
			}
			start := time.Now()
			for do(b, "session-exists", map[string]any{"session_token": token}).Success {
				if time.Since(start) > 30*time.Second {
					t.Fatal("the other instance still serves the locked user's session after 30 s")
				}
			}
			t.Logf("%s: the other instance stopped serving the session %v after the lock", transport, time.Since(start))
		})
	}
}
