package social

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// testRedirect is the redirect URL the test providers are configured with;
// mockoidc redirects the browser there, and nothing listens on it.
const testRedirect = "http://127.0.0.1:1/auth/callback"

// idpUser is a mockoidc user whose ID token carries the claims Identity is
// made of (mockoidc's own MockUser has no name claim).
type idpUser struct {
	sub, email, name, username string
	emailVerified              any // bool, a string, or nil for no claim
}

func (u idpUser) ID() string { return u.sub }

func (u idpUser) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]any{"sub": u.sub, "email": u.email})
}

func (u idpUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	raw, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	claims := jwt.MapClaims{}
	if err := json.Unmarshal(raw, &claims); err != nil {
		return nil, err
	}
	for k, v := range map[string]any{"email": u.email, "name": u.name, "preferred_username": u.username} {
		if v != "" {
			claims[k] = v
		}
	}
	if u.emailVerified != nil {
		claims["email_verified"] = u.emailVerified
	}
	return claims, nil
}

var janeDoe = idpUser{sub: "248289761001", email: "jane@example.org", name: "Jane Doe", username: "jane", emailVerified: true}

// idp is a mockoidc server on 127.0.0.1 whose handlers run one at a time:
// mockoidc keeps its sessions in a plain map and its clock offset in a plain
// field, and the race detector sees no order between requests arriving on
// different connections.
type idp struct {
	*mockoidc.MockOIDC
	mu       sync.Mutex
	requests map[string]int // path -> count, under mu
}

type idpConfig struct {
	user        mockoidc.User
	clockOffset time.Duration                                     // mockoidc's clock, set before it starts
	tamper      func(m *mockoidc.MockOIDC, idToken string) string // rewrites the token response's id_token
	fail        map[string]int                                    // path -> HTTP status to answer instead
}

func startIdP(t *testing.T, cfg idpConfig) *idp {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &idp{MockOIDC: m, requests: map[string]int{}}
	if cfg.clockOffset != 0 {
		m.FastForward(cfg.clockOffset)
	}
	if cfg.user != nil {
		m.QueueUser(cfg.user)
	}
	must(t, m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.requests[r.URL.Path]++
			if code, ok := cfg.fail[r.URL.Path]; ok {
				http.Error(w, "failing on purpose", code)
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	if cfg.tamper != nil {
		must(t, m.AddMiddleware(tamperTokenResponse(m, cfg.tamper)))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	must(t, m.Start(ln, nil))
	t.Cleanup(func() { _ = m.Shutdown() })
	return s
}

func (s *idp) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// tamperTokenResponse rewrites the id_token of successful token responses.
func tamperTokenResponse(m *mockoidc.MockOIDC, tamper func(*mockoidc.MockOIDC, string) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != mockoidc.TokenEndpoint {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			if rec.Code == http.StatusOK {
				var resp map[string]any
				if err := json.Unmarshal(body, &resp); err == nil {
					if tok, _ := resp["id_token"].(string); tok != "" {
						if tampered := tamper(m, tok); tampered == "" {
							delete(resp, "id_token")
						} else {
							resp["id_token"] = tampered
						}
						body, _ = json.Marshal(resp)
					}
				}
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
		})
	}
}

// resign edits the token's claims and signs them again with mockoidc's key
// (the result has a valid signature: only the claim checks can reject it).
func resign(edit func(jwt.MapClaims)) func(*mockoidc.MockOIDC, string) string {
	return func(m *mockoidc.MockOIDC, raw string) string {
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); err != nil {
			panic(err)
		}
		edit(claims)
		signed, err := m.Keypair.SignJWT(claims)
		if err != nil {
			panic(err)
		}
		return signed
	}
}

// providersDoc returns a providers file with one OIDC provider "idp" for
// the mockoidc server.
func providersDoc(s *idp, explicit bool, scopes ...string) []byte {
	p := map[string]any{
		"kind": "oidc", "issuer": s.Issuer(), "client_id": s.ClientID, "client_secret": s.ClientSecret,
		"redirect_url": testRedirect, "display_name": "Mock IdP",
	}
	if explicit {
		p["auth_url"], p["token_url"], p["jwks_url"] = s.AuthorizationEndpoint(), s.TokenEndpoint(), s.JWKSEndpoint()
	}
	if len(scopes) > 0 {
		p["scopes"] = scopes
	}
	doc, _ := json.Marshal(map[string]any{"providers": map[string]any{"idp": p}})
	return doc
}

func idpProvider(t *testing.T, s *idp, explicit bool, opts ...Option) Provider {
	t.Helper()
	reg, err := Parse(providersDoc(s, explicit), t.TempDir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	p, err := reg.Get("idp")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// authorize plays the browser: it GETs the authorization URL without
// following the redirect and returns the code from the Location header,
// after checking the URL's parameters and the echoed state.
func authorize(t *testing.T, p Provider, state, nonce, verifier string) string {
	t.Helper()
	if err := p.Ready(t.Context()); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	authURL := p.AuthCodeURL(state, nonce, verifier)
	u, err := url.Parse(authURL)
	if err != nil || authURL == "" {
		t.Fatalf("AuthCodeURL = %q: %v", authURL, err)
	}
	q := u.Query()
	want := map[string]string{"state": state, "nonce": nonce, "redirect_uri": testRedirect, "response_type": "code"}
	if verifier != "" {
		sum := sha256.Sum256([]byte(verifier))
		want["code_challenge"] = base64.RawURLEncoding.EncodeToString(sum[:])
		want["code_challenge_method"] = "S256"
	} else {
		want["code_challenge"], want["code_challenge_method"] = "", ""
	}
	for k, v := range want {
		if got := q.Get(k); got != v {
			t.Errorf("authorization URL parameter %s = %q, want %q", k, got, v)
		}
	}
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, authURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatalf("GET authorization URL: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorization endpoint answered %s, want 302", resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Query().Get("state"); got != state {
		t.Errorf("redirect state = %q, want %q", got, state)
	}
	if base := strings.SplitN(loc.String(), "?", 2)[0]; base != testRedirect {
		t.Errorf("redirected to %q, want %q", base, testRedirect)
	}
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatal("no code in the redirect")
	}
	return code
}

func TestOIDCFlow(t *testing.T) {
	t.Parallel()
	otherKey, err := mockoidc.RandomKeypair(2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		idp      idpConfig
		explicit bool
		noPKCE   bool
		opts     []Option
		// exchange overrides Exchange's arguments: it gets the real
		// (code, verifier, nonce) and returns the ones to send.
		exchange func(code, verifier, nonce string) (string, string, string)
		want     *Identity
		wantErr  error
		wantAs   any // an error type the chain must hold, e.g. **oidc.TokenExpiredError
	}{
		{name: "discovery and PKCE", idp: idpConfig{user: janeDoe},
			want: &Identity{Provider: "idp", Subject: "248289761001", Email: "jane@example.org", EmailVerified: true, Name: "Jane Doe", Username: "jane"}},
		{name: "explicit endpoints", idp: idpConfig{user: janeDoe}, explicit: true,
			want: &Identity{Provider: "idp", Subject: "248289761001", Email: "jane@example.org", EmailVerified: true, Name: "Jane Doe", Username: "jane"}},
		{name: "without PKCE", idp: idpConfig{user: janeDoe}, noPKCE: true,
			want: &Identity{Provider: "idp", Subject: "248289761001", Email: "jane@example.org", EmailVerified: true, Name: "Jane Doe", Username: "jane"}},
		{name: "mockoidc default user", idp: idpConfig{},
			want: &Identity{Provider: "idp", Subject: "1234567890", Email: "jane.doe@example.com", EmailVerified: true, Username: "jane.doe"}},
		{name: "email_verified as a string", idp: idpConfig{user: idpUser{sub: "s1", email: "a@example.org", emailVerified: "true"}},
			want: &Identity{Provider: "idp", Subject: "s1", Email: "a@example.org", EmailVerified: true}},
		{name: "email not verified", idp: idpConfig{user: idpUser{sub: "s2", email: "b@example.org", emailVerified: false}},
			want: &Identity{Provider: "idp", Subject: "s2", Email: "b@example.org"}},
		{name: "email_verified missing", idp: idpConfig{user: idpUser{sub: "s3", email: "c@example.org"}},
			want: &Identity{Provider: "idp", Subject: "s3", Email: "c@example.org"}},
		{name: "email_verified without email", idp: idpConfig{user: idpUser{sub: "s4", emailVerified: true}},
			want: &Identity{Provider: "idp", Subject: "s4"}},

		{name: "wrong nonce", idp: idpConfig{user: janeDoe}, wantErr: ErrNonceMismatch,
			exchange: func(c, v, n string) (string, string, string) { return c, v, n + "x" }},
		{name: "nonce expected but none sent", idp: idpConfig{user: janeDoe}, wantErr: ErrNonceMismatch,
			exchange: func(c, v, _ string) (string, string, string) { return c, v, "" }},
		{name: "bad code", idp: idpConfig{user: janeDoe}, wantErr: ErrExchangeFailed,
			exchange: func(_, v, n string) (string, string, string) { return "not-a-code", v, n }},
		{name: "wrong PKCE verifier", idp: idpConfig{user: janeDoe}, wantErr: ErrExchangeFailed,
			exchange: func(c, _, n string) (string, string, string) { return c, NewCodeVerifier(), n }},
		{name: "PKCE verifier missing", idp: idpConfig{user: janeDoe}, wantErr: ErrExchangeFailed,
			exchange: func(c, _, n string) (string, string, string) { return c, "", n }},
		{name: "token endpoint 500", idp: idpConfig{fail: map[string]int{mockoidc.TokenEndpoint: 500}}, wantErr: ErrProviderUnavailable},
		{name: "token endpoint 503", idp: idpConfig{fail: map[string]int{mockoidc.TokenEndpoint: 503}}, wantErr: ErrProviderUnavailable},
		{name: "signing keys unavailable", idp: idpConfig{fail: map[string]int{mockoidc.JWKSEndpoint: 502}}, wantErr: ErrProviderUnavailable},

		{name: "payload altered, signature kept", wantErr: ErrInvalidIDToken, idp: idpConfig{
			tamper: func(_ *mockoidc.MockOIDC, raw string) string {
				parts := strings.Split(raw, ".")
				payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
				payload = []byte(strings.Replace(string(payload), `"sub":"1234567890"`, `"sub":"1234567891"`, 1))
				parts[1] = base64.RawURLEncoding.EncodeToString(payload)
				return strings.Join(parts, ".")
			}}},
		{name: "signed with another key", wantErr: ErrInvalidIDToken, idp: idpConfig{
			tamper: func(m *mockoidc.MockOIDC, raw string) string {
				claims := jwt.MapClaims{}
				if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); err != nil {
					panic(err)
				}
				kid, _ := m.Keypair.KeyID()
				forger := *otherKey
				forger.Kid = kid
				signed, err := forger.SignJWT(claims)
				if err != nil {
					panic(err)
				}
				return signed
			}}},
		{name: "unsigned (alg none)", wantErr: ErrInvalidIDToken, idp: idpConfig{
			tamper: func(_ *mockoidc.MockOIDC, raw string) string {
				claims := jwt.MapClaims{}
				if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); err != nil {
					panic(err)
				}
				signed, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
				if err != nil {
					panic(err)
				}
				return signed
			}}},
		{name: "not a JWT", wantErr: ErrInvalidIDToken, idp: idpConfig{
			tamper: func(*mockoidc.MockOIDC, string) string { return "garbage" }}},
		{name: "no id_token", wantErr: ErrInvalidIDToken, idp: idpConfig{
			tamper: func(*mockoidc.MockOIDC, string) string { return "" }}},
		{name: "wrong audience", wantErr: ErrInvalidIDToken, idp: idpConfig{
			tamper: resign(func(c jwt.MapClaims) { c["aud"] = "someone-else" })}},
		{name: "wrong issuer", wantErr: ErrInvalidIDToken, idp: idpConfig{
			tamper: resign(func(c jwt.MapClaims) { c["iss"] = "https://evil.example/oidc" })}},
		{name: "expired (claim)", wantErr: ErrInvalidIDToken, wantAs: new(*oidc.TokenExpiredError), idp: idpConfig{
			tamper: resign(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() })}},
		{name: "issued to another party (azp)", wantErr: ErrInvalidIDToken, idp: idpConfig{
			tamper: resign(func(c jwt.MapClaims) {
				aud, _ := c.GetAudience()
				c["aud"], c["azp"] = append(aud, "other"), "other"
			})}},
		{name: "access token hash mismatch", wantErr: ErrInvalidIDToken, idp: idpConfig{
			tamper: resign(func(c jwt.MapClaims) { c["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA" })}},
		{name: "no subject", wantErr: ErrInvalidIDToken, idp: idpConfig{
			tamper: resign(func(c jwt.MapClaims) { delete(c, "sub") })}},
		{name: "nonce removed", wantErr: ErrNonceMismatch, idp: idpConfig{
			tamper: resign(func(c jwt.MapClaims) { delete(c, "nonce") })}},

		// mockoidc's clock runs 11 minutes late: its tokens (10-minute
		// lifetime) are already expired when issued.
		{name: "expired (mockoidc clock)", wantErr: ErrInvalidIDToken, wantAs: new(*oidc.TokenExpiredError),
			idp: idpConfig{clockOffset: -11 * time.Minute}},
		// mockoidc's clock runs an hour early: nbf is beyond go-oidc's 5
		// minutes of leeway.
		{name: "not yet valid (mockoidc clock)", wantErr: ErrInvalidIDToken, idp: idpConfig{clockOffset: time.Hour}},
		// Our clock (injected) runs 11 minutes early.
		{name: "expired (our clock)", wantErr: ErrInvalidIDToken, wantAs: new(*oidc.TokenExpiredError),
			opts: []Option{WithClock(func() time.Time { return time.Now().Add(11 * time.Minute) })}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startIdP(t, tc.idp)
			p := idpProvider(t, s, tc.explicit, tc.opts...)
			state, nonce, verifier := NewState(), NewNonce(), NewCodeVerifier()
			if tc.noPKCE {
				verifier = ""
			}
			code := authorize(t, p, state, nonce, verifier)
			if tc.exchange != nil {
				code, verifier, nonce = tc.exchange(code, verifier, nonce)
			}
			got, err := p.Exchange(t.Context(), code, verifier, nonce)
			checkResult(t, got, err, tc.want, tc.wantErr, tc.wantAs, code, verifier, nonce, s.ClientSecret)
		})
	}
}

// checkResult compares an Exchange result with the expected identity or
// error, and checks that no error string reveals a secret.
func checkResult(t *testing.T, got *Identity, err error, want *Identity, wantErr error, wantAs any, secrets ...string) {
	t.Helper()
	if wantErr != nil {
		if !errors.Is(err, wantErr) {
			t.Fatalf("Exchange error = %v, want %v", err, wantErr)
		}
		if got != nil {
			t.Errorf("Exchange returned an identity with an error: %+v", got)
		}
		if wantAs != nil && !errors.As(err, wantAs) {
			t.Errorf("Exchange error %v does not hold a %T", err, wantAs)
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(err.Error(), s) {
				t.Errorf("error %q reveals a secret value %q", err, s)
			}
		}
		return
	}
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if *got != *want {
		t.Errorf("identity = %+v, want %+v", *got, *want)
	}
}

// closedAddr returns a 127.0.0.1 address that refuses connections.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	must(t, ln.Close())
	return addr
}

func oidcDoc(issuer string, extra map[string]any) []byte {
	p := map[string]any{"kind": "oidc", "issuer": issuer, "client_id": "client", "client_secret": "oidc-s3cr3t", "redirect_url": testRedirect}
	for k, v := range extra {
		p[k] = v
	}
	doc, _ := json.Marshal(map[string]any{"providers": map[string]any{"idp": p}})
	return doc
}

func TestOIDCProviderDown(t *testing.T) {
	t.Parallel()
	base := "http://" + closedAddr(t)
	for _, tc := range []struct {
		name  string
		extra map[string]any
		ready bool // explicit endpoints: no discovery, so Ready succeeds
	}{
		{name: "discovery"},
		{name: "explicit endpoints", ready: true, extra: map[string]any{
			"auth_url": base + "/authorize", "token_url": base + "/token", "jwks_url": base + "/jwks"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg, err := Parse(oidcDoc(base+"/oidc", tc.extra), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			p, _ := reg.Get("idp")
			err = p.Ready(t.Context())
			if tc.ready {
				if err != nil {
					t.Fatalf("Ready: %v", err)
				}
			} else {
				if !errors.Is(err, ErrProviderUnavailable) {
					t.Fatalf("Ready error = %v, want ErrProviderUnavailable", err)
				}
				if u := p.AuthCodeURL("s", "n", "v"); u != "" {
					t.Errorf("AuthCodeURL = %q, want \"\" while discovery fails", u)
				}
				if _, err := reg.AuthCodeURL(t.Context(), "idp", "s", "n", "v"); !errors.Is(err, ErrProviderUnavailable) {
					t.Errorf("Registry.AuthCodeURL error = %v, want ErrProviderUnavailable", err)
				}
			}
			_, err = p.Exchange(t.Context(), "code", "verifier", "nonce")
			checkResult(t, nil, err, nil, ErrProviderUnavailable, nil, "code", "verifier", "nonce", "oidc-s3cr3t")
			if !strings.Contains(err.Error(), "connection refused") {
				t.Errorf("error %q does not name the network failure", err)
			}
		})
	}
}

// TestOIDCDiscoveryRetry: a failed discovery is retried on the next call,
// a successful one is kept.
func TestOIDCDiscoveryRetry(t *testing.T) {
	t.Parallel()
	s := startIdP(t, idpConfig{user: janeDoe})
	s.QueueError(&mockoidc.ServerError{Code: http.StatusBadGateway, Error: "bad_gateway", Description: "upstream down"})
	p := idpProvider(t, s, false)
	if err := p.Ready(t.Context()); !errors.Is(err, ErrProviderUnavailable) {
		t.Fatalf("first Ready error = %v, want ErrProviderUnavailable", err)
	}
	for range 3 {
		if err := p.Ready(t.Context()); err != nil {
			t.Fatalf("Ready after recovery: %v", err)
		}
	}
	nonce, verifier := NewNonce(), NewCodeVerifier()
	code := authorize(t, p, NewState(), nonce, verifier)
	if _, err := p.Exchange(t.Context(), code, verifier, nonce); err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if n := s.count(mockoidc.DiscoveryEndpoint); n != 2 {
		t.Errorf("discovery fetched %d times, want 2 (one failure, one success kept)", n)
	}
}

// TestOIDCDiscoveryIssuerMismatch: a discovery document naming another
// issuer is refused (go-oidc's check).
func TestOIDCDiscoveryIssuerMismatch(t *testing.T) {
	t.Parallel()
	s := startIdP(t, idpConfig{})
	reg, err := Parse(oidcDoc(s.Issuer()+"/", nil), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := reg.Get("idp")
	if err := p.Ready(t.Context()); !errors.Is(err, ErrProviderUnavailable) || !strings.Contains(err.Error(), "another issuer") {
		t.Fatalf("Ready error = %v, want ErrProviderUnavailable naming the issuer mismatch", err)
	}
}

// TestOIDCDiscoveryTimeout: a discovery endpoint that never answers is
// given up after the discovery timeout, and a caller's cancelled context
// ends its wait at once.
func TestOIDCDiscoveryTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var hits atomic.Int32
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })

	reg, err := Parse(oidcDoc(hang.URL+"/oidc", nil), t.TempDir(), WithDiscoveryTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := reg.Get("idp")
	err = p.Ready(t.Context())
	if !errors.Is(err, ErrProviderUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Ready error = %v, want ErrProviderUnavailable and context.DeadlineExceeded", err)
	}

	slow, err := Parse(oidcDoc(hang.URL+"/oidc", nil), t.TempDir(), WithDiscoveryTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	p, _ = slow.Get("idp")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := p.Ready(ctx); !errors.Is(err, ErrProviderUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Ready with a cancelled context: error = %v, want ErrProviderUnavailable and context.Canceled", err)
	}
	if _, err := p.Exchange(ctx, "code", "v", "n"); !errors.Is(err, ErrProviderUnavailable) {
		t.Fatalf("Exchange with a cancelled context: error = %v, want ErrProviderUnavailable", err)
	}
}

// TestOIDCScopes: the configured scopes reach the authorization request
// and mockoidc grants the claims they cover.
func TestOIDCScopes(t *testing.T) {
	t.Parallel()
	s := startIdP(t, idpConfig{})
	reg, err := Parse(providersDoc(s, false, "openid", "email"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := reg.Get("idp")
	if got := p.DisplayName(); got != "Mock IdP" {
		t.Errorf("DisplayName = %q", got)
	}
	nonce := NewNonce()
	code := authorize(t, p, NewState(), nonce, "")
	got, err := p.Exchange(t.Context(), code, "", nonce)
	checkResult(t, got, err, &Identity{Provider: "idp", Subject: "1234567890", Email: "jane.doe@example.com", EmailVerified: true}, nil, nil)
	u, _ := url.Parse(p.AuthCodeURL("s", "", ""))
	if got := u.Query().Get("scope"); got != "openid email" {
		t.Errorf("scope = %q, want %q", got, "openid email")
	}
	if u.Query().Has("nonce") {
		t.Errorf("nonce sent though none was given: %s", u)
	}
}
