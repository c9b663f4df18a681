package api_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/api"
	"github.com/authnzrv/authnzrv/client"
	"github.com/authnzrv/authnzrv/engine/limiter"
	"github.com/authnzrv/authnzrv/identity/identitytest"
	"github.com/fernet/fernet-go"
)

func withLockout(tries int, d time.Duration) envOption {
	return withOptions(func(o *api.Options) {
		o.Lockout = api.Lockout{Enabled: true, Tries: tries, Duration: d, BackoffBase: 40 * time.Millisecond, BackoffCap: time.Second}
	})
}

func loginBody(e *testEnv, email, pw string) map[string]any {
	return map[string]any{"session_token": e.newSession(nil), "email": email, "password": pw}
}

// TestLoginBackoffAndLockout: security.md §4 with the counters and the
// unlock time in the database (quirks #29, #30).
func TestLoginBackoffAndLockout(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db, withLockout(3, time.Hour))
		// Failures 1..3 are answered normally, each after a longer wait
		// (the server's injected clock records the waits).
		for i := range 3 {
			r := e.do("user-login", loginBody(e, adminEmail, "wrong password"))
			expect(t, r, false, "user does not exist or password doesn't match")
			slept := e.clock.Slept()
			want := time.Duration(float64(40*time.Millisecond) * pow15(i))
			if len(slept) != i+1 || slept[i] != want {
				t.Fatalf("after failure %d the server waited %v, want %v last", i+1, slept, want)
			}
		}
		// Failure 4 locks the user and replaces the reply.
		r := e.do("user-login", loginBody(e, adminEmail, "wrong password"))
		if r.Success || r.Reason() != "" || len(r.Messages) != 1 || r.Messages[0] != "Your user account has been locked after repeated login failures. Try again in an hour or contact the server admins." {
			t.Fatalf("lock-out reply %+v", r)
		}
		if v, ok := r.Response["user_id"]; !ok || v != nil {
			t.Fatalf("user_id %v", r.Response["user_id"])
		}
		// Locked: the right password does not help.
		expect(t, e.do("user-login", loginBody(e, adminEmail, adminPassword)), false, "")
		u, err := e.store.UserByID(context.Background(), 1)
		if err != nil || u.UserRole != "locked" || u.IsActive {
			t.Fatalf("user 1 after lock-out: %+v %v", u, err)
		}
		// The unlock time is in the database: a fresh server (a restart, or
		// another instance) sees it. Let it expire and log in there.
		e.sql("UPDATE lockouts SET unlock_at = ?", time.Now().UTC().Add(-time.Second))
		e2 := newEnvOnStore(t, e, withLockout(3, time.Hour))
		r = e2.do("user-login", loginBody(e2, adminEmail, adminPassword))
		expect(t, r, true, "", "Login successful.")
		if str(r, "user_role") != "superuser" {
			t.Fatalf("role after unlock %q", str(r, "user_role"))
		}
		// A success reset the count: the next failure is answered normally.
		expect(t, e2.do("user-login", loginBody(e2, adminEmail, "wrong password")), false, "user does not exist or password doesn't match")
		// Unknown e-mails back off too, and lock nobody.
		for range 4 {
			e.do("user-passcheck-nosession", map[string]any{"email": "ghost@example.org", "password": "x"})
		}
		r = e.do("user-passcheck-nosession", map[string]any{"email": "ghost@example.org", "password": "x"})
		if r.Success || len(r.Messages) != 1 || r.Messages[0][:30] != "Your user account has been loc" {
			t.Fatalf("unknown e-mail reply %+v", r)
		}
	})
}

func pow15(i int) float64 {
	f := 1.0
	for range i {
		f *= 1.5
	}
	return f
}

// newEnvOnStore starts a second server on the same database.
// Their caches' invalidations reach each other in process, as NOTIFY or
// Redis carry them between real instances.
func newEnvOnStore(t *testing.T, e *testEnv, opts ...envOption) *testEnv {
	t.Helper()
	e2 := newEnv(t, e.db, opts...)
	link := func(from, to *testEnv) {
		from.store.PublishInvalidations(func(_ context.Context, msg string) error {
			to.store.Cache().Apply(msg)
			return nil
		})
		from.peers = append(from.peers, to)
	}
	link(e, e2)
	link(e2, e)
	return e2
}

func asStatus(err error, target **client.StatusError) bool { return errors.As(err, target) }

// TestRateLimits: the policy's buckets enforced with 429 and Retry-After.
func TestRateLimits(t *testing.T) {
	e := newEnv(t, identitytest.SQLite(t), withOptions(func(o *api.Options) {
		l, err := limiter.NewLocal(1000)
		if err != nil {
			t.Fatal(err)
		}
		o.Limiter = l
	}))
	ok, limited := 0, 0
	var retry string
	for range 8 {
		_, err := e.c.Do(context.Background(), "user-new", map[string]any{"full_name": "X", "email": "not-an-email", "password": "x"})
		var se *client.StatusError
		switch {
		case err == nil:
			ok++
		case asStatus(err, &se) && se.Code == http.StatusTooManyRequests:
			limited++
			retry = se.RetryAfter
		default:
			t.Fatal(err)
		}
	}
	// user-new: 5 per minute from one address (security.md §5.1).
	if ok != 5 || limited != 3 {
		t.Fatalf("%d admitted, %d limited; want 5 and 3", ok, limited)
	}
	if n, err := strconv.Atoi(retry); err != nil || n < 1 || n > 60 {
		t.Fatalf("Retry-After %q", retry)
	}
	// Another address has its own budget.
	c2, _ := client.New(e.url, testSecret, client.WithClientIP("198.51.100.2"))
	if _, err := c2.Do(context.Background(), "user-new", map[string]any{"full_name": "X", "email": "not-an-email", "password": "x"}); err != nil {
		t.Fatalf("other address: %v", err)
	}
	// An e-mail request type without an e-mail is refused outright.
	_, err := e.c.Do(context.Background(), "user-lookup-email", map[string]any{})
	var se *client.StatusError
	if !asStatus(err, &se) || se.Code != http.StatusTooManyRequests {
		t.Fatalf("e-mail type without e-mail: %v", err)
	}
}

// TestReplayGuard: with a request TTL, an old token is refused and an
// identical token is accepted once.
func TestReplayGuard(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	e := newEnv(t, identitytest.SQLite(t), withLog(&logs), withOptions(func(o *api.Options) {
		o.RequestTTL = 120 * time.Second
		o.Replay = limiter.NewLocalReplay(1000, 180*time.Second)
	}))
	msg := func(id int) string {
		return fmt.Sprintf(`{"request": "session-exists", "body": {"session_token": "x"}, "reqid": %d, "client_ipaddr": "1.2.3.4"}`, id)
	}
	body := seal(t, testSecret, msg(7))
	for i, want := range []int{200, 401, 401} {
		code, _, _ := rawPost(t, "POST", e.url+"/", body, "")
		if code != want {
			t.Fatalf("send %d: HTTP %d, want %d", i+1, code, want)
		}
	}
	// The same request sealed again is a new token: accepted.
	if code, _, _ := rawPost(t, "POST", e.url+"/", seal(t, testSecret, msg(7)), ""); code != 200 {
		t.Fatalf("fresh token: %d", code)
	}
	// Tokens minted at other times (no clock to wait for: the token carries
	// its own timestamp).
	now := time.Now()
	for _, tc := range []struct {
		name  string
		at    time.Time
		codes []int
	}{
		{"older than the TTL", now.Add(-125 * time.Second), []int{401}},
		{"more than 60 s in the future", now.Add(90 * time.Second), []int{401}},
		{"within the clock skew, once", now.Add(50 * time.Second), []int{200, 401}},
		{"near the end of its TTL, once", now.Add(-110 * time.Second), []int{200, 401}},
	} {
		b := sealAt(t, testSecret, msg(9), tc.at)
		for i, want := range tc.codes {
			if code, _, _ := rawPost(t, "POST", e.url+"/", b, ""); code != want {
				t.Fatalf("%s, send %d: HTTP %d, want %d", tc.name, i+1, code, want)
			}
		}
	}
	// The operator learns why: the first stale token is logged with its
	// age (a frontend clock 125 s behind); the next one within 10 s is
	// only counted.
	lines := logs.String()
	if !strings.Contains(lines, "authentic request token refused for its age") || !regexp.MustCompile(`token_age_s=12[5-7] `).MatchString(lines) ||
		!strings.Contains(lines, "requestttl_s=120") || strings.Count(lines, "refused for its age") != 1 {
		t.Fatalf("log:\n%s", lines)
	}
	// A token made with another key is not "stale": nothing about clocks.
	other := seal(t, "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=", msg(10))
	if code, _, _ := rawPost(t, "POST", e.url+"/", other, ""); code != 401 || strings.Count(logs.String(), "refused for its age") != 1 {
		t.Fatalf("foreign key: HTTP %d", code)
	}
}

// TestReplayGuardFull: an in-process guard at its bound refuses new tokens
// with 503 (it never forgets a
// live token to make room), and serves again once older tokens expired.
func TestReplayGuardFull(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	guardNow := time.Now()
	e := newEnv(t, identitytest.SQLite(t), withOptions(func(o *api.Options) {
		o.RequestTTL = 120 * time.Second
		o.Replay = limiter.NewLocalReplay(3, 180*time.Second, limiter.WithReplayClock(func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return guardNow
		}))
	}))
	send := func(id int) int {
		msg := fmt.Sprintf(`{"request": "session-exists", "body": {"session_token": "x"}, "reqid": %d, "client_ipaddr": "1.2.3.4"}`, id)
		code, _, _ := rawPost(t, "POST", e.url+"/", seal(t, testSecret, msg), "")
		return code
	}
	for i, want := range []int{200, 200, 200, 503, 503} {
		if code := send(i); code != want {
			t.Fatalf("request %d: HTTP %d, want %d", i+1, code, want)
		}
	}
	mu.Lock()
	guardNow = guardNow.Add(200 * time.Second)
	mu.Unlock()
	if code := send(9); code != 200 {
		t.Fatalf("after the oldest tokens expired: HTTP %d", code)
	}
}

// sealAt encrypts msg as a client whose clock says at.
func sealAt(t *testing.T, secret, msg string, at time.Time) []byte {
	t.Helper()
	k := fernet.MustDecodeKeys(secret)[0]
	tok, err := fernet.EncryptAndSignAtTime([]byte(msg), k, at)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(base64.StdEncoding.EncodeToString(tok))
}
