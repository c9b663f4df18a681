package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// The providers the social login tests log in with: mockoidc as the
// OpenID Connect provider, and fakes serving GitHub's and X's documented
// endpoints.

// socialRedirect is the redirect URL the test providers are configured
// with: the browser (the test) reads the code from the redirect and goes
// no further.
const socialRedirect = "http://127.0.0.1:1/auth/callback"

// socialIdentity is an account at a provider: its claims (OpenID Connect)
// or its profile (GitHub, X).
type socialIdentity struct {
	Sub           string `json:"sub"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	Name          string `json:"name"`
	Username      string `json:"username"`
}

// mockUser is a mockoidc user whose ID token carries a socialIdentity.
type mockUser struct{ id socialIdentity }

func (u mockUser) ID() string { return u.id.Sub }

func (u mockUser) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]any{"sub": u.id.Sub, "email": u.id.Email})
}

func (u mockUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	raw, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	claims := jwt.MapClaims{}
	if err := json.Unmarshal(raw, &claims); err != nil {
		return nil, err
	}
	for k, v := range map[string]string{"email": u.id.Email, "name": u.id.Name, "preferred_username": u.id.Username} {
		if v != "" {
			claims[k] = v
		}
	}
	if u.id.Email != "" {
		claims["email_verified"] = u.id.EmailVerified
	}
	return claims, nil
}

// idp is mockoidc on 127.0.0.1. Its handlers run one at a time (mockoidc
// keeps its sessions in a plain map), and what it does next (the user of
// the next authorization, a tampered token, a failing endpoint) is set
// under the same lock.
type idp struct {
	m      *mockoidc.MockOIDC
	mu     sync.Mutex
	tamper func(m *mockoidc.MockOIDC, idToken string) string // under mu
	fail   map[string]int                                    // path -> status, under mu
}

func startIdP(t *testing.T) *idp {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &idp{m: m, fail: map[string]int{}}
	if err := m.AddMiddleware(s.serialise); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return s
}

// next makes id the user of the next authorization.
func (s *idp) next(id socialIdentity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m.QueueUser(mockUser{id})
}

// set changes how the provider misbehaves (nil, nil: it behaves).
func (s *idp) set(tamper func(*mockoidc.MockOIDC, string) string, fail map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tamper, s.fail = tamper, fail
}

// serialise runs one request at a time, answers the failing paths and
// rewrites the id_token of token responses when asked.
func (s *idp) serialise(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if code, ok := s.fail[r.URL.Path]; ok {
			http.Error(w, "failing on purpose", code)
			return
		}
		if s.tamper == nil || r.URL.Path != mockoidc.TokenEndpoint {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		var resp map[string]any
		if rec.Code == http.StatusOK && json.Unmarshal(body, &resp) == nil {
			if tok, _ := resp["id_token"].(string); tok != "" {
				resp["id_token"] = s.tamper(s.m, tok)
				body, _ = json.Marshal(resp)
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

// resign edits an ID token's claims and signs them again with mockoidc's
// key: only the claim checks can refuse it.
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

// fakeOAuth serves GitHub's or X's OAuth 2.0 endpoints and profile API:
// authorization (a redirect with a code), the token endpoint (checking the
// client credentials and the PKCE verifier against the challenge) and the
// profile of the identity queued for the next authorization.
type fakeOAuth struct {
	t            *testing.T
	srv          *httptest.Server
	kind         string // "github" or "x"
	clientID     string
	clientSecret string

	mu     sync.Mutex
	queue  []socialIdentity
	grants map[string]fakeGrant // code -> grant
	tokens map[string]socialIdentity
	issued int
}

type fakeGrant struct {
	challenge string
	id        socialIdentity
}

func startFake(t *testing.T, kind string) *fakeOAuth {
	t.Helper()
	f := &fakeOAuth{t: t, kind: kind, clientID: kind + "-client", clientSecret: kind + "-s3cr3t",
		grants: map[string]fakeGrant{}, tokens: map[string]socialIdentity{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// next makes id the account of the next authorization.
func (f *fakeOAuth) next(id socialIdentity) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = append(f.queue, id)
}

// provider is the fake's entry of a providers file.
func (f *fakeOAuth) provider() map[string]any {
	return map[string]any{"kind": f.kind, "client_id": f.clientID, "client_secret": f.clientSecret, "redirect_url": socialRedirect,
		"auth_url": f.srv.URL + "/authorize", "token_url": f.srv.URL + "/token", "api_url": f.srv.URL}
}

func (f *fakeOAuth) reject(w http.ResponseWriter, format string, args ...any) {
	f.t.Errorf("fake %s: "+format, append([]any{f.kind}, args...)...)
	http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
}

func (f *fakeOAuth) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/authorize":
		q := r.URL.Query()
		if q.Get("client_id") != f.clientID || q.Get("redirect_uri") != socialRedirect || q.Get("state") == "" ||
			q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || len(f.queue) == 0 {
			f.reject(w, "authorization request %s (queued accounts: %d)", r.URL.RawQuery, len(f.queue))
			return
		}
		f.issued++
		code := "code-" + strconv.Itoa(f.issued)
		f.grants[code] = fakeGrant{challenge: q.Get("code_challenge"), id: f.queue[0]}
		f.queue = f.queue[1:]
		http.Redirect(w, r, socialRedirect+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
	case "/token":
		if err := r.ParseForm(); err != nil {
			f.reject(w, "token form: %v", err)
			return
		}
		id, secret, basic := r.BasicAuth()
		if !basic {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		if id != f.clientID || secret != f.clientSecret {
			f.reject(w, "token request: wrong client credentials")
			return
		}
		g, ok := f.grants[r.PostForm.Get("code")]
		delete(f.grants, r.PostForm.Get("code"))
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		token := fmt.Sprintf("access-%d", f.issued)
		f.tokens[token] = g.id
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": token, "token_type": "bearer"})
	default:
		var tok string
		if _, err := fmt.Sscanf(r.Header.Get("Authorization"), "Bearer %s", &tok); err != nil {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		id, ok := f.tokens[tok]
		if !ok {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case f.kind == "github" && r.URL.Path == "/user":
			n, _ := strconv.ParseInt(id.Sub, 10, 64)
			_ = json.NewEncoder(w).Encode(map[string]any{"id": n, "login": id.Username, "name": id.Name})
		case f.kind == "github" && r.URL.Path == "/user/emails":
			_ = json.NewEncoder(w).Encode([]map[string]any{{"email": id.Email, "primary": true, "verified": id.EmailVerified}})
		case f.kind == "x" && r.URL.Path == "/2/users/me":
			_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"id": id.Sub, "username": id.Username, "name": id.Name}})
		default:
			http.NotFound(w, r)
		}
	}
}

// browse plays the browser: it GETs the authorization URL without
// following the redirect and returns the code and state of the redirect.
func browse(ctx context.Context, authURL string) (code, state string, err error) {
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return "", "", err
	}
	resp, err := browser.Do(req)
	if err != nil {
		return "", "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return "", "", fmt.Errorf("authorization endpoint answered %s", resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return "", "", err
	}
	return loc.Query().Get("code"), loc.Query().Get("state"), nil
}
