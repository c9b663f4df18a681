package social

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeResponse is a canned HTTP answer from the cases files.
type fakeResponse struct {
	Status   int             `json:"status"`
	Body     json.RawMessage `json:"body"`
	BodyText *string         `json:"body_text"`
}

func (r fakeResponse) write(w http.ResponseWriter) {
	if r.BodyText != nil {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(r.Status)
		_, _ = w.Write([]byte(*r.BodyText))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(r.Status)
	_, _ = w.Write(r.Body)
}

// oauthCase is one case of github_cases.json or x_cases.json.
type oauthCase struct {
	Name string `json:"name"`
	// Code "wrong" exchanges a code the server never issued.
	Code string `json:"code"`
	// Verifier: "none" runs the flow without PKCE, "wrong" exchanges
	// another verifier, "drop" exchanges none after sending a challenge.
	Verifier  string                  `json:"verifier"`
	Token     *fakeResponse           `json:"token"`     // replaces the token response
	Responses map[string]fakeResponse `json:"responses"` // API path -> answer
	Want      *struct {
		Provider      string `json:"provider"`
		Subject       string `json:"subject"`
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
		Name          string `json:"name"`
		Username      string `json:"username"`
	} `json:"want"`
	Errors    []string `json:"errors"`
	NotErrors []string `json:"not_errors"`
}

func sentinel(t *testing.T, name string) error {
	t.Helper()
	for _, e := range []struct {
		name string
		err  error
	}{
		{"ErrUnknownProvider", ErrUnknownProvider}, {"ErrProviderUnavailable", ErrProviderUnavailable},
		{"ErrExchangeFailed", ErrExchangeFailed}, {"ErrInvalidIDToken", ErrInvalidIDToken},
		{"ErrNonceMismatch", ErrNonceMismatch}, {"ErrProfile", ErrProfile}, {"ErrVerifierRequired", ErrVerifierRequired},
	} {
		if e.name == name {
			return e.err
		}
	}
	t.Fatalf("unknown error name %q", name)
	return nil
}

func loadOAuthCases(t *testing.T, file string) []oauthCase {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("../../testdata/social", file))
	if err != nil {
		t.Fatal(err)
	}
	var cases []oauthCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return cases
}

// fakeOAuth is an OAuth 2.0 provider on httptest serving GitHub's or X's
// documented endpoints. It checks what the client sends and answers 400
// (and fails the test) when a request is malformed.
type fakeOAuth struct {
	t            *testing.T
	srv          *httptest.Server
	clientID     string
	clientSecret string
	redirectURL  string
	authPath     string
	tokenPath    string
	// basicAuth: the client authenticates with HTTP Basic (X); otherwise
	// with client_id and client_secret in the form (GitHub).
	basicAuth bool
	// tokenHeaders must be on the token request (GitHub: Accept).
	tokenHeaders map[string]string
	// apiHeaders must be on every API request (GitHub: Accept, version).
	apiHeaders map[string]string
	// badCode answers an unknown or used code (GitHub: 200 with an error).
	badCode fakeResponse
	token   *fakeResponse
	api     map[string]fakeResponse

	mu     sync.Mutex
	grants map[string]grant // code -> what the authorization request said
	issued int
}

type grant struct {
	challenge, method, redirect string
	used                        bool
}

const fakeAccessToken = "fake-access-token"

func (f *fakeOAuth) start() {
	f.grants = map[string]grant{}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.t.Cleanup(f.srv.Close)
}

func (f *fakeOAuth) reject(w http.ResponseWriter, format string, args ...any) {
	f.t.Errorf("fake provider: "+format, args...)
	http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
}

func (f *fakeOAuth) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.URL.Path == f.authPath:
		f.authorize(w, r)
	case r.URL.Path == f.tokenPath:
		f.exchange(w, r)
	default:
		resp, ok := f.api[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet {
			f.reject(w, "%s %s, want GET", r.Method, r.URL.Path)
			return
		}
		if got := r.Header.Get("Authorization"); got != "Bearer "+fakeAccessToken {
			f.reject(w, "%s: Authorization = %q", r.URL.Path, got)
			return
		}
		for k, v := range f.apiHeaders {
			if got := r.Header.Get(k); got != v {
				f.reject(w, "%s: header %s = %q, want %q", r.URL.Path, k, got, v)
				return
			}
		}
		resp.write(w)
	}
}

func (f *fakeOAuth) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != f.clientID || q.Get("response_type") != "code" || q.Get("redirect_uri") != f.redirectURL || q.Get("state") == "" {
		f.reject(w, "authorization request %s", r.URL.RawQuery)
		return
	}
	if m := q.Get("code_challenge_method"); m != "" && m != "S256" {
		f.reject(w, "code_challenge_method %q", m)
		return
	}
	f.issued++
	code := fmt.Sprintf("code-%d", f.issued)
	f.grants[code] = grant{challenge: q.Get("code_challenge"), method: q.Get("code_challenge_method"), redirect: q.Get("redirect_uri")}
	to := q.Get("redirect_uri") + "?" + url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
	http.Redirect(w, r, to, http.StatusFound)
}

func (f *fakeOAuth) exchange(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		f.reject(w, "token request %s, want POST", r.Method)
		return
	}
	for k, v := range f.tokenHeaders {
		if got := r.Header.Get(k); got != v {
			f.reject(w, "token request header %s = %q, want %q", k, got, v)
			return
		}
	}
	if err := r.ParseForm(); err != nil {
		f.reject(w, "token request form: %v", err)
		return
	}
	id, secret, basic := r.BasicAuth()
	if f.basicAuth {
		if !basic || id != f.clientID || secret != f.clientSecret || r.PostForm.Has("client_secret") {
			f.reject(w, "token request: want client credentials in HTTP Basic only")
			return
		}
	} else if basic || r.PostForm.Get("client_id") != f.clientID || r.PostForm.Get("client_secret") != f.clientSecret {
		f.reject(w, "token request: want client credentials in the form only")
		return
	}
	if g := r.PostForm.Get("grant_type"); g != "authorization_code" {
		f.reject(w, "grant_type %q", g)
		return
	}
	if f.token != nil {
		f.token.write(w)
		return
	}
	code := r.PostForm.Get("code")
	g, ok := f.grants[code]
	if !ok || g.used {
		f.badCode.write(w)
		return
	}
	g.used = true
	f.grants[code] = g
	if r.PostForm.Get("redirect_uri") != g.redirect {
		f.reject(w, "redirect_uri %q, want %q", r.PostForm.Get("redirect_uri"), g.redirect)
		return
	}
	verifier := r.PostForm.Get("code_verifier")
	if g.challenge != "" {
		sum := sha256.Sum256([]byte(verifier))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"code_verifier does not match"}`))
			return
		}
	} else if verifier != "" {
		f.reject(w, "code_verifier sent without a challenge")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"access_token":"` + fakeAccessToken + `","token_type":"bearer","scope":"read"}`))
}

// browse plays the browser on the fake: it follows nothing and returns the
// code from the redirect.
func browse(t *testing.T, authURL, state string) string {
	t.Helper()
	code, err := follow(t.Context(), authURL, state)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// follow GETs authURL without following the redirect, checks that state
// comes back and returns the code (safe to call from any goroutine).
func follow(ctx context.Context, authURL, state string) (string, error) {
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return "", err
	}
	resp, err := browser.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return "", fmt.Errorf("authorization endpoint answered %s", resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return "", err
	}
	if loc.Query().Get("state") != state {
		return "", fmt.Errorf("state not echoed: %s", loc)
	}
	return loc.Query().Get("code"), nil
}

// runOAuthCase runs one case: authorization URL, browser, Exchange.
func runOAuthCase(t *testing.T, f *fakeOAuth, p Provider, tc oauthCase) {
	t.Helper()
	state, verifier := NewState(), NewCodeVerifier()
	if tc.Verifier == "none" {
		verifier = ""
	}
	authURL := p.AuthCodeURL(state, "ignored-nonce", verifier)
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Query().Has("nonce") {
		t.Errorf("authorization URL carries a nonce: %s", authURL)
	}
	code := browse(t, authURL, state)
	switch tc.Code {
	case "wrong":
		code = "never-issued"
	case "":
	default:
		t.Fatalf("unknown code option %q", tc.Code)
	}
	switch tc.Verifier {
	case "wrong":
		verifier = NewCodeVerifier()
	case "drop":
		verifier = ""
	}
	got, err := p.Exchange(t.Context(), code, verifier, "ignored-nonce")
	for _, secret := range []string{code, verifier, fakeAccessToken, f.clientSecret} {
		if err != nil && secret != "" && strings.Contains(err.Error(), secret) {
			t.Errorf("error %q reveals a secret value %q", err, secret)
		}
	}
	if len(tc.Errors) > 0 {
		if err == nil {
			t.Fatalf("Exchange succeeded with %+v, want errors %v", got, tc.Errors)
		}
		for _, name := range tc.Errors {
			if !errors.Is(err, sentinel(t, name)) {
				t.Errorf("Exchange error %q is not %s", err, name)
			}
		}
		for _, name := range tc.NotErrors {
			if errors.Is(err, sentinel(t, name)) {
				t.Errorf("Exchange error %q is also %s", err, name)
			}
		}
		return
	}
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	want := Identity{Provider: tc.Want.Provider, Subject: tc.Want.Subject, Email: tc.Want.Email,
		EmailVerified: tc.Want.EmailVerified, Name: tc.Want.Name, Username: tc.Want.Username}
	if *got != want {
		t.Errorf("identity = %+v, want %+v", *got, want)
	}
}

func fakeProvider(t *testing.T, f *fakeOAuth, kind, name, apiBase string) Provider {
	t.Helper()
	doc, _ := json.Marshal(map[string]any{"providers": map[string]any{name: map[string]any{
		"kind": kind, "client_id": f.clientID, "client_secret": f.clientSecret, "redirect_url": f.redirectURL,
		"auth_url": f.srv.URL + f.authPath, "token_url": f.srv.URL + f.tokenPath, "api_url": f.srv.URL + apiBase,
	}}})
	reg, err := Parse(doc, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p, err := reg.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Ready(t.Context()); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	return p
}

func TestGitHub(t *testing.T) {
	t.Parallel()
	for _, tc := range loadOAuthCases(t, "github_cases.json") {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			badCode := `{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}`
			f := &fakeOAuth{
				t: t, clientID: "Iv1.test", clientSecret: "gh-test-s3cr3t", redirectURL: testRedirect,
				authPath: "/login/oauth/authorize", tokenPath: "/login/oauth/access_token",
				tokenHeaders: map[string]string{"Accept": "application/json"},
				apiHeaders:   map[string]string{"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"},
				badCode:      fakeResponse{Status: http.StatusOK, Body: json.RawMessage(badCode)},
				token:        tc.Token,
				api:          map[string]fakeResponse{},
			}
			for path, resp := range tc.Responses {
				f.api["/api/v3"+path] = resp
			}
			f.start()
			// GitHub Enterprise layout: the REST API under /api/v3.
			runOAuthCase(t, f, fakeProvider(t, f, KindGitHub, "github", "/api/v3"), tc)
		})
	}
}

func TestX(t *testing.T) {
	t.Parallel()
	for _, tc := range loadOAuthCases(t, "x_cases.json") {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			f := &fakeOAuth{
				t: t, clientID: "x-test-client", clientSecret: "x-test-s3cr3t", redirectURL: testRedirect,
				authPath: "/i/oauth2/authorize", tokenPath: "/2/oauth2/token", basicAuth: true,
				badCode: fakeResponse{Status: http.StatusBadRequest, Body: json.RawMessage(`{"error":"invalid_request","error_description":"Value passed for the authorization code was invalid."}`)},
				token:   tc.Token,
				api:     tc.Responses,
			}
			f.start()
			runOAuthCase(t, f, fakeProvider(t, f, KindX, "x", ""), tc)
		})
	}
}

// TestXRequiresPKCE: X builds no authorization URL and exchanges no code
// without a PKCE verifier, and makes no request to find that out.
func TestXRequiresPKCE(t *testing.T) {
	t.Parallel()
	f := &fakeOAuth{t: t, clientID: "x", clientSecret: "x-s3cr3t", redirectURL: testRedirect,
		authPath: "/i/oauth2/authorize", tokenPath: "/2/oauth2/token", basicAuth: true}
	f.start()
	p := fakeProvider(t, f, KindX, "x", "")
	if u := p.AuthCodeURL("state", "", ""); u != "" {
		t.Errorf("AuthCodeURL without verifier = %q, want \"\"", u)
	}
	if _, err := p.Exchange(t.Context(), "code", "", ""); !errors.Is(err, ErrVerifierRequired) {
		t.Errorf("Exchange without verifier: error = %v, want ErrVerifierRequired", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.issued != 0 || len(f.grants) != 0 {
		t.Errorf("the provider was contacted")
	}
}

// TestOAuthProviderDown: GitHub and X token endpoints that refuse
// connections give ErrProviderUnavailable.
func TestOAuthProviderDown(t *testing.T) {
	t.Parallel()
	base := "http://" + closedAddr(t)
	for _, kind := range []string{KindGitHub, KindX} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			doc, _ := json.Marshal(map[string]any{"providers": map[string]any{"p": map[string]any{
				"kind": kind, "client_id": "id", "client_secret": "down-s3cr3t", "redirect_url": testRedirect,
				"auth_url": base + "/authorize", "token_url": base + "/token", "api_url": base,
			}}})
			reg, err := Parse(doc, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			_, err = reg.Exchange(t.Context(), "p", "the-code", "the-verifier", "")
			checkResult(t, nil, err, nil, ErrProviderUnavailable, nil, "the-code", "the-verifier", "down-s3cr3t")
		})
	}
}
