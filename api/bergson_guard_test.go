package api_test

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authnzrv/authnzrv/api"
	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/engine/limiter"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

func authenticate(t *testing.T, e *testEnv, user, pw string) (int, string) {
	t.Helper()
	status, _, body := e.send(t, bergsonRequest{method: "POST", path: "/v1/account/authenticate", contentType: "application/json",
		body: `{"username": "` + user + `", "password": "` + pw + `"}`})
	return status, body
}

// TestBergsonLockout: the REST authenticate and the Fernet password checks
// count failures on the same account (the username) with the same limit;
// the lock-out then refuses the right password on both, and /enable (which
// sets is_active only) does not lift it.
func TestBergsonLockout(t *testing.T) {
	t.Parallel()
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		t.Parallel()
		e := bergsonEnv(t, db, nil) // Tries: 3
		e.account("lockuser", "secret1", false, "")
		const denied = `{"error": "Access denied"}`
		for range 2 {
			if status, body := authenticate(t, e, "lockuser", "wrong11"); status != 403 || body != denied {
				t.Fatalf("wrong password: %d %s", status, body)
			}
		}
		// The third failure, through the Fernet API, reaches the limit.
		r := e.do("user-passcheck-nosession", map[string]any{"email": "lockuser", "password": "wrong11"})
		if r.Success {
			t.Fatalf("passcheck with a wrong password succeeded: %+v", r)
		}
		if status, body := authenticate(t, e, "lockuser", "secret1"); status != 403 || body != denied {
			t.Fatalf("right password after the lock-out: %d %s", status, body)
		}
		u, err := e.store.UserByEmail(context.Background(), "lockuser")
		if err != nil || u.UserRole != "locked" || u.IsActive {
			t.Fatalf("locked user: %+v, %v", u, err)
		}
		if r := e.do("user-passcheck-nosession", map[string]any{"email": "lockuser", "password": "secret1"}); r.Success {
			t.Fatal("Fernet passcheck passed a locked account")
		}
		status, _, body := e.send(t, bergsonRequest{method: "PUT", path: "/v1/account/enable", contentType: "application/json", body: `{"username": "lockuser"}`})
		if status != 200 || body != `{"status": 1, "message": "Account enabled"}` {
			t.Fatalf("enable: %d %s", status, body)
		}
		if status, body := authenticate(t, e, "lockuser", "secret1"); status != 403 || body != denied {
			t.Fatalf("right password after enable of a locked account: %d %s", status, body)
		}
	})
}

// TestBergsonFernetLogin: a Bergson account logs in through the Fernet API
// with its username as e-mail, and an imported PBKDF2 hash is rehashed there
// too.
func TestBergsonFernetLogin(t *testing.T) {
	t.Parallel()
	e := bergsonEnv(t, identitytest.SQLite(t), nil)
	e.account("fernetuser", "secret1", false, "c2FsdA==")
	r := e.do("user-passcheck-nosession", map[string]any{"email": "fernetuser", "password": "secret1"})
	if !r.Success {
		t.Fatalf("passcheck of a Bergson account: %+v", r)
	}
	e.checkAccount(t, accountState{Username: "fernetuser", Exists: true, Password: "secret1"})
	if status, body := authenticate(t, e, "fernetuser", "secret1"); status != 200 {
		t.Fatalf("authenticate after the Fernet check: %d %s", status, body)
	}
}

// TestBergsonRateLimit: REST requests draw from the rate limiter under
// their own request types (ipaddr group).
func TestBergsonRateLimit(t *testing.T) {
	t.Parallel()
	lim, err := limiter.NewLocal(1000)
	if err != nil {
		t.Fatal(err)
	}
	e := bergsonEnv(t, identitytest.SQLite(t), nil,
		withOptions(func(o *api.Options) { o.Limiter = lim }),
		withEngine(func(o *engine.Options) { o.RateLimits = map[string]int{"bergson-authenticate": 2} }))
	e.account("rateuser", "secret1", false, "")
	for range 2 {
		if status, body := authenticate(t, e, "rateuser", "secret1"); status != 200 {
			t.Fatalf("within the limit: %d %s", status, body)
		}
	}
	status, h, body := e.send(t, bergsonRequest{method: "POST", path: "/v1/account/authenticate", contentType: "application/json",
		body: `{"username": "rateuser", "password": "secret1"}`})
	if status != http.StatusTooManyRequests || body != `{"error": "Too many requests. Try again later."}` || h.Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d %s %v", status, body, h)
	}
	// Another endpoint has its own bucket.
	if status, _, body := e.send(t, bergsonRequest{method: "GET", path: "/v1/account/exists", query: "username=rateuser"}); status != 200 {
		t.Fatalf("exists: %d %s", status, body)
	}
}

// TestBergsonReplayAcrossInstances: two servers sharing one Redis accept a
// signed request once between them.
func TestBergsonReplayAcrossInstances(t *testing.T) {
	t.Parallel()
	u := os.Getenv("AUTHNZRV_TEST_REDIS")
	if u == "" {
		t.Skip("AUTHNZRV_TEST_REDIS is not set: skipping the shared-nonce test (e.g. AUTHNZRV_TEST_REDIS=redis://127.0.0.1:6379/0)")
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	token, _ := identity.NewToken()
	prefix := "authnzrv:test:hawk:" + token[:12] + ":"
	t.Cleanup(func() {
		keys, _ := c.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			c.Del(context.Background(), keys...)
		}
	})
	nonces := api.ReplayNonces{Guard: limiter.NewRedisReplay(c, prefix, 2*time.Minute, false)}
	shared := withOptions(func(o *api.Options) { o.Bergson.Nonces = nonces })
	a := bergsonEnv(t, identitytest.SQLite(t), testSenders(), shared)
	b := bergsonEnv(t, identitytest.SQLite(t), testSenders(), shared)
	for _, e := range []*testEnv{a, b} {
		e.account("replayuser", "secret1", false, "")
	}
	req := bergsonRequest{method: "POST", path: "/v1/account/authenticate", contentType: "application/json",
		body: `{"username": "replayuser", "password": "secret1"}`}
	s := sign(t, a, req, "someone", keySomeone, "password=secret1&username=replayuser", hawkNow())
	// Both servers listen on 127.0.0.1; the signature names a's port, so b
	// gets the same Host header.
	if status, body, signed := a.sendSigned(t, s); status != 200 || !signed {
		t.Fatalf("first use on instance a: %d %s", status, body)
	}
	status, _, body := b.sendTo(t, a, s.bergsonRequest)
	if status != 401 || body != `{"error": "Signature validation of your request failed."}` {
		t.Fatalf("replay on instance b: %d %s", status, body)
	}
	// A new nonce is fine on b.
	s2 := sign(t, a, req, "someone", keySomeone, "password=secret1&username=replayuser", hawkNow())
	if status, _, body := b.sendTo(t, a, s2.bergsonRequest); status != 200 {
		t.Fatalf("fresh request on instance b: %d %s", status, body)
	}
}
