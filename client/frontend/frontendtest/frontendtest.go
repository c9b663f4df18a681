// Package frontendtest runs a real authnzrv in-process for the tests of
// frontends: a fresh SQLite database in a temporary directory, migrated and
// bootstrapped, the default policy engine, and the protocol served by
// httptest. It is meant for tests only.
package frontendtest

import (
	"context"
	"net/http/httptest"
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

// Secret is the shared Fernet key of test servers.
const Secret = "uQ0D2Mz_Xpm3Hn5ehwJb8BVcgGJdfoXU2p-2vvENJeM="

// GoodPassword passes the default password policy.
const GoodPassword = "aROwQin9L8nNtPTEMLXd"

// Server is a running authnzrv.
type Server struct {
	// URL is the server's base URL.
	URL string
	// Client talks to it with Secret.
	Client *client.Client
	// Store is its identity store, for test set-up.
	Store *identity.Store

	t testing.TB
}

// Option adjusts the server's options before it starts.
type Option func(*api.Options)

// New starts a server; it stops when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	ctx := context.Background()
	db := identitytest.SQLite(t)
	bdb, err := identity.Open(ctx, db.Driver, db.DSN)
	if err != nil {
		t.Fatalf("frontendtest: open: %v", err)
	}
	t.Cleanup(func() { bdb.Close() })
	if err := identity.Migrate(ctx, bdb); err != nil {
		t.Fatalf("frontendtest: migrate: %v", err)
	}
	store := identity.NewStore(bdb)
	p := password.DefaultParams()
	p.Memory, p.Time, p.Threads = 64, 1, 1 // cheap: hashing is tested in identity/password
	hasher, err := password.NewHasher(password.Options{Params: p})
	if err != nil {
		t.Fatalf("frontendtest: hasher: %v", err)
	}
	eng, err := engine.New(ctx, engine.Options{})
	if err != nil {
		t.Fatalf("frontendtest: engine: %v", err)
	}
	if _, err := store.Bootstrap(ctx, hasher, eng.Roles(), "admin@example.org", "correct horse battery staple 93!"); err != nil {
		t.Fatalf("frontendtest: bootstrap: %v", err)
	}
	v, err := validate.New(validate.Options{FQDN: "authnzrv.test"})
	if err != nil {
		t.Fatalf("frontendtest: validator: %v", err)
	}
	ph, err := pii.New("test salt")
	if err != nil {
		t.Fatalf("frontendtest: pii: %v", err)
	}
	o := api.Options{Secret: Secret, AllowedHosts: "localhost;127.0.0.1", Workers: 2, RateLimited: true, MaxBodySize: 64 << 10}
	for _, f := range opts {
		f(&o)
	}
	srv, err := api.New(o, api.Deps{
		Store: store, Hasher: hasher, Engine: eng, Rates: eng, PII: ph,
		Validator: validator{v: v, policy: validate.DefaultPolicy()},
	})
	if err != nil {
		t.Fatalf("frontendtest: server: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	c, err := client.New(hs.URL, Secret)
	if err != nil {
		t.Fatalf("frontendtest: client: %v", err)
	}
	return &Server{URL: hs.URL, Client: c, Store: store, t: t}
}

// validator adapts identity/validate to api.Validator.
type validator struct {
	v      *validate.Validator
	policy validate.Policy
}

func (a validator) Email(e string) bool                          { return a.v.Email(e) }
func (a validator) FullName(ctx context.Context, n string) error { return a.v.FullName(ctx, n) }
func (a validator) NormalizeEmail(e string) string               { return validate.NormalizeEmail(e) }
func (a validator) NormalizeFullName(n string) string            { return validate.NormalizeFullName(n) }
func (a validator) Password(ctx context.Context, pw, email, name string) (bool, []string) {
	return a.v.Password(ctx, pw, email, name, a.policy)
}

// Do sends a request and fails the test on transport errors.
func (s *Server) Do(request string, body map[string]any) *client.Reply {
	s.t.Helper()
	r, err := s.Client.Do(context.Background(), request, body)
	if err != nil {
		s.t.Fatalf("frontendtest: %s: %v", request, err)
	}
	return r
}

// Verify marks an account's e-mail as verified (user-set-emailverified),
// which activates it.
func (s *Server) Verify(email string) {
	s.t.Helper()
	if r := s.Do("user-set-emailverified", map[string]any{"email": email}); !r.Success {
		s.t.Fatalf("frontendtest: verify: %v %v", r.Reason(), r.Messages)
	}
}

// User signs up and verifies an account and returns its id.
func (s *Server) User(fullName, email string) int64 {
	s.t.Helper()
	r := s.Do("user-new", map[string]any{"full_name": fullName, "email": email, "password": GoodPassword})
	if !r.Success {
		s.t.Fatalf("frontendtest: user-new: %v %v", r.Reason(), r.Messages)
	}
	s.Verify(email)
	id, _ := r.Response["user_id"].(float64)
	return int64(id)
}

// APIKey issues a no-session API key for the user (apikey-new-nosession)
// and returns its claims JSON. The key's issue and not-before times are
// moved one second into the past, so that it verifies at once (authnzrv
// requires both to be strictly before now).
func (s *Server) APIKey(userID int64, role string) string {
	s.t.Helper()
	r := s.Do("apikey-new-nosession", map[string]any{
		"issuer": "authnzrv-test", "audience": "frontend", "subject": "/api", "apiversion": 1,
		"expires_seconds": 3600, "not_valid_before": 0, "user_id": userID, "user_role": role,
		"ip_address": "127.0.0.1", "refresh_expires": 86400, "refresh_nbf": 0,
	})
	key, _ := r.Response["apikey"].(string)
	if !r.Success || key == "" {
		s.t.Fatalf("frontendtest: apikey-new-nosession: %v %v", r.Reason(), r.Messages)
	}
	past := time.Now().UTC().Add(-time.Second)
	if _, err := s.Store.DB().NewRaw("UPDATE apikeys_nosession SET issued = ?, not_valid_before = ? WHERE user_id = ?", past, past, userID).
		Exec(context.Background()); err != nil {
		s.t.Fatalf("frontendtest: backdate key: %v", err)
	}
	return key
}
