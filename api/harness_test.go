package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/api"
	"github.com/authnzrv/authnzrv/client"
	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
	"github.com/authnzrv/authnzrv/identity/password"
	"github.com/authnzrv/authnzrv/identity/pii"
	"github.com/authnzrv/authnzrv/identity/validate"
)

const (
	testSecret    = "uQ0D2Mz_Xpm3Hn5ehwJb8BVcgGJdfoXU2p-2vvENJeM="
	otherSecret   = "0aVGrC6WLGQe8DPPVJ6Jb5_nDrwRbbNTq6fakBAMHTs="
	adminEmail    = "admin@example.org"
	adminPassword = "correct horse battery staple 93!"
)

// testParams keep Argon2 cheap in tests; the hashing itself is tested in
// identity/password.
func testParams() password.Params {
	p := password.DefaultParams()
	p.Memory, p.Time, p.Threads = 64, 1, 1
	return p
}

// testEnv is a running server on a fresh database, and a client for it.
type testEnv struct {
	// peers are the other servers on the same database (newEnvOnStore).
	peers []*testEnv
	// clock is the server's and the store's clock.
	clock  *testClock
	t      testing.TB
	url    string
	c      *client.Client
	store  *identity.Store
	hasher *password.Hasher
	srv    *api.Server
	db     identitytest.DB
}

// envConfig is what a test may change about a server before it starts.
type envConfig struct {
	api    api.Options
	policy validate.Policy
	engine engine.Options
	hasher password.Options
	// logger receives the server's log (nil: none).
	logger *slog.Logger
}

type envOption func(*envConfig)

// withLog sends the server's log to w as text lines.
func withLog(w io.Writer) envOption {
	return withLogger(slog.New(slog.NewTextHandler(w, nil)))
}

func withOptions(f func(*api.Options)) envOption {
	return func(c *envConfig) { f(&c.api) }
}

func withPolicy(f func(*validate.Policy)) envOption {
	return func(c *envConfig) { f(&c.policy) }
}

func withEngine(f func(*engine.Options)) envOption {
	return func(c *envConfig) { f(&c.engine) }
}

func withHasher(f func(*password.Options)) envOption {
	return func(c *envConfig) { f(&c.hasher) }
}

func withLogger(l *slog.Logger) envOption {
	return func(c *envConfig) { c.logger = l }
}

// newEnv starts a server on db through the real stack: migrations, system
// users, the policy engine with the default model, and HTTP.
func newEnv(t testing.TB, db identitytest.DB, opts ...envOption) *testEnv {
	t.Helper()
	ctx := context.Background()
	bdb, err := identity.Open(ctx, db.Driver, db.DSN)
	if err != nil {
		t.Fatalf("open %s: %v", db, err)
	}
	t.Cleanup(func() { bdb.Close() })
	if err := identity.Migrate(ctx, bdb); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	store := identity.NewStore(bdb)
	clock := &testClock{}
	store.SetClock(clock.Now)
	// The suites run with the identity cache on: its invalidations must
	// keep every answer what it was without it.
	store.UseCache(identity.NewCache(identity.CacheOptions{TTL: time.Minute}))
	cfg := envConfig{
		api: api.Options{Secret: testSecret, AllowedHosts: "localhost;127.0.0.1", Workers: 2, RateLimited: true, MaxBodySize: 64 << 10,
			Now: clock.Now, Sleep: clock.Sleep},
		policy: validate.DefaultPolicy(),
		hasher: password.Options{Params: testParams()},
	}
	for _, f := range opts {
		f(&cfg)
	}
	hasher, err := password.NewHasher(cfg.hasher)
	if err != nil {
		t.Fatal(err)
	}
	// As the server does: the API's tracer and metrics see the decisions.
	if cfg.engine.Tracer == nil {
		cfg.engine.Tracer = cfg.api.Tracer
	}
	if cfg.engine.Observer == nil && cfg.api.Metrics != nil {
		cfg.engine.Observer = cfg.api.Metrics
	}
	eng, err := engine.New(ctx, cfg.engine)
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	if _, err := store.Bootstrap(ctx, hasher, eng.Roles(), adminEmail, adminPassword); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	v, err := validate.New(validate.Options{FQDN: "authnzrv.test"})
	if err != nil {
		t.Fatal(err)
	}
	o, policy := cfg.api, cfg.policy
	ph, err := pii.New("test salt")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(o, api.Deps{
		Store: store, Hasher: hasher, Engine: eng, Rates: eng, PII: ph, Logger: cfg.logger,
		Validator: testValidator{v: v, policy: policy},
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	c, err := client.New(hs.URL, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{t: t, url: hs.URL, c: c, store: store, hasher: hasher, srv: srv, db: db, clock: clock}
}

type testValidator struct {
	v      *validate.Validator
	policy validate.Policy
}

func (a testValidator) Email(e string) bool                          { return a.v.Email(e) }
func (a testValidator) FullName(ctx context.Context, n string) error { return a.v.FullName(ctx, n) }
func (a testValidator) NormalizeEmail(e string) string               { return validate.NormalizeEmail(e) }
func (a testValidator) NormalizeFullName(n string) string            { return validate.NormalizeFullName(n) }
func (a testValidator) Password(ctx context.Context, pw, email, name string) (bool, []string) {
	return a.v.Password(ctx, pw, email, name, a.policy)
}

// do sends a request and fails the test on transport errors.
func (e *testEnv) do(request string, body map[string]any) *client.Reply {
	e.t.Helper()
	r, err := e.c.Do(context.Background(), request, body)
	if err != nil {
		e.t.Fatalf("%s: %v", request, err)
	}
	return r
}

// str returns a string key of the action response.
func str(r *client.Reply, k string) string {
	s, _ := r.Response[k].(string)
	return s
}

// num returns a numeric key of the action response as int64 (-1 if absent).
func num(r *client.Reply, k string) int64 {
	f, ok := r.Response[k].(float64)
	if !ok {
		return -1
	}
	return int64(f)
}

func future() string {
	return time.Now().UTC().Add(24 * time.Hour).Format("2006-01-02T15:04:05.000000")
}

// newSession creates a live session for userID (nil: anonymous).
func (e *testEnv) newSession(userID any) string {
	e.t.Helper()
	r := e.do("session-new", map[string]any{
		"ip_address": "203.0.113.7", "user_agent": "Mozilla/5.0 test", "user_id": userID,
		"expires": future(), "extra_info_json": map[string]any{"k": "v"},
	})
	if !r.Success {
		e.t.Fatalf("session-new: %+v", r)
	}
	return str(r, "session_token")
}

const goodPassword = "aROwQin9L8nNtPTEMLXd"

// signup creates a user and returns its id.
func (e *testEnv) signup(email string) int64 {
	e.t.Helper()
	r := e.do("user-new", map[string]any{"full_name": "Test User", "email": email, "password": goodPassword})
	if !r.Success {
		e.t.Fatalf("user-new %s: %+v", email, r)
	}
	return num(r, "user_id")
}

// verifiedUser signs up and verifies a user.
func (e *testEnv) verifiedUser(email string) int64 {
	e.t.Helper()
	id := e.signup(email)
	if r := e.do("user-set-emailverified", map[string]any{"email": email}); !r.Success {
		e.t.Fatalf("verify %s: %+v", email, r)
	}
	return id
}

// sql runs a statement directly on the test database (test set-up only).
func (e *testEnv) sql(query string, args ...any) {
	e.t.Helper()
	if _, err := e.store.DB().NewRaw(query, args...).Exec(context.Background()); err != nil {
		e.t.Fatalf("sql %q: %v", query, err)
	}
	// A direct write bypasses the store's invalidations (an operator's
	// SQL waits for the cache TTL; the tests do not).
	e.store.Cache().Apply("all")
	for _, other := range e.peers {
		other.store.Cache().Apply("all")
	}
}

func messagesEqual(got []string, want ...string) bool {
	return strings.Join(got, "\x00") == strings.Join(want, "\x00")
}

func expect(t testing.TB, r *client.Reply, success bool, reason string, messages ...string) {
	t.Helper()
	if r.Success != success || r.Reason() != reason {
		t.Fatalf("got success=%v failure_reason=%q, want success=%v failure_reason=%q (reply %+v)", r.Success, r.Reason(), success, reason, r)
	}
	if messages != nil && !messagesEqual(r.Messages, messages...) {
		t.Fatalf("messages = %q, want %q", r.Messages, messages)
	}
	if rs, _ := r.Response["success"].(bool); rs != success {
		t.Fatalf("response.success = %v, want %v", rs, success)
	}
	if !success && reason != "" && fmt.Sprint(r.Response["failure_reason"]) != reason {
		t.Fatalf("response.failure_reason = %v", r.Response["failure_reason"])
	}
}

// testClock is the clock the tests give the server and its store: real
// time, but strictly increasing from one reading to the next (a row
// written now is "before" the next reading, with no sleep), and a Sleep
// that records the wait and moves the clock on instead of waiting.
type testClock struct {
	mu    sync.Mutex
	last  time.Time
	slept []time.Duration
}

// Now returns the later of the real time and a microsecond after the last
// reading.
func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := time.Now()
	if !n.After(c.last) {
		n = c.last.Add(time.Microsecond)
	}
	c.last = n
	return n
}

// Sleep records d and advances the clock by it.
func (c *testClock) Sleep(_ context.Context, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = append(c.slept, d)
	if now := time.Now(); now.After(c.last) {
		c.last = now
	}
	c.last = c.last.Add(d)
}

// Slept returns the waits recorded so far.
func (c *testClock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.slept)
}
