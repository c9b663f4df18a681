package frontend_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/authnzrv/authnzrv/api"
	"github.com/authnzrv/authnzrv/client"
	"github.com/authnzrv/authnzrv/client/frontend"
	"github.com/authnzrv/authnzrv/client/frontend/frontendtest"
	"github.com/authnzrv/authnzrv/engine/limiter"
)

// clock is an injected clock whose Sleep advances it without waiting.
type clock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newClock() *clock { return &clock{now: time.Now().UTC().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	return ctx.Err()
}

func (c *clock) sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// logBuffer collects the middleware's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// front is an application behind the middleware, talking to a real
// in-process authnzrv.
type front struct {
	t     *testing.T
	srv   *frontendtest.Server
	m     *frontend.Middleware
	clock *clock
	logs  *logBuffer
	url   string
	http  *http.Client
}

// principal is what the test application reports about a request.
type principal struct {
	Session   *frontend.Session `json:"session"`
	Anonymous bool              `json:"anonymous"`
	APIKey    *frontend.APIKey  `json:"apikey"`
}

type loginReply struct {
	OK       bool     `json:"ok"`
	Messages []string `json:"messages"`
	UserID   int64    `json:"user_id"`
}

// newFront starts authnzrv and the application; set adjusts the
// middleware's options, srvOpts the server's.
func newFront(t *testing.T, set func(*frontend.Options), srvOpts ...frontendtest.Option) *front {
	t.Helper()
	srv := frontendtest.New(t, srvOpts...)
	f := &front{t: t, srv: srv, clock: newClock(), logs: &logBuffer{}}
	opts := frontend.Options{
		Now: f.clock.Now, Sleep: f.clock.Sleep,
		Logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if set != nil {
		set(&opts)
	}
	f.m = frontend.New(srv.Client, opts)
	hs := httptest.NewServer(f.m.Handler(app(f.m)))
	t.Cleanup(hs.Close)
	f.url = hs.URL
	f.http = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return f
}

// app is the test application.
func app(m *frontend.Middleware) http.Handler {
	mux := http.NewServeMux()
	whoami := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p principal
		if s, ok := frontend.SessionFrom(r.Context()); ok {
			p.Session, p.Anonymous = &s, s.Anonymous()
		}
		if k, ok := frontend.APIKeyFrom(r.Context()); ok {
			p.APIKey = &k
		}
		writeJSON(w, p)
	})
	mux.Handle("/whoami", whoami)
	mux.Handle("/private", m.RequireUser(whoami))
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("POST /signup", func(w http.ResponseWriter, r *http.Request) {
		res, err := m.SignUp(r.Context(), r.FormValue("full_name"), r.FormValue("email"), r.FormValue("password"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		writeJSON(w, res)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		res, err := m.Login(w, r, r.FormValue("email"), r.FormValue("password"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		writeJSON(w, loginReply{OK: res.OK, Messages: res.Messages, UserID: res.Session.UserID})
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Logout(w, r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		writeJSON(w, s.Anonymous())
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// response is an answer of the application.
type response struct {
	code   int
	header http.Header
	body   []byte
	cookie *http.Cookie // the session cookie set, if any
}

// send sends a request with the session cookie token ("" for none) and
// extra headers given as name/value pairs.
func (f *front) send(method, path, token string, form url.Values, hdr ...string) response {
	f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, f.url+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.AddCookie(&http.Cookie{Name: frontend.DefaultCookieName, Value: token})
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.http.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	r := response{code: resp.StatusCode, header: resp.Header, body: b}
	for _, c := range resp.Cookies() {
		if c.Name == frontend.DefaultCookieName {
			if r.cookie != nil {
				f.t.Fatalf("%s %s: two session cookies set", method, path)
			}
			r.cookie = c
		}
	}
	return r
}

// whoami asks the application who the request is.
func (f *front) whoami(token string, hdr ...string) (principal, response) {
	f.t.Helper()
	r := f.send("GET", "/whoami", token, nil, hdr...)
	if r.code != http.StatusOK {
		f.t.Fatalf("whoami: HTTP %d %s", r.code, r.body)
	}
	var p principal
	if err := json.Unmarshal(r.body, &p); err != nil {
		f.t.Fatalf("whoami: %v", err)
	}
	return p, r
}

// anonymous starts an anonymous session and returns its token.
func (f *front) anonymous() string {
	f.t.Helper()
	_, r := f.whoami("")
	if r.cookie == nil {
		f.t.Fatal("no session cookie for a new visitor")
	}
	return r.cookie.Value
}

// exists reports whether authnzrv knows the session, and its user.
func (f *front) exists(token string) (bool, int64) {
	f.t.Helper()
	r := f.srv.Do("session-exists", map[string]any{"session_token": token})
	if !r.Success {
		return false, 0
	}
	uid, _ := r.Response["session_info"].(map[string]any)["user_id"].(float64)
	return true, int64(uid)
}

// login logs in on the session token and returns the reply and the new
// cookie.
func (f *front) login(token, email, password string) (loginReply, *http.Cookie) {
	f.t.Helper()
	r := f.send("POST", "/login", token, url.Values{"email": {email}, "password": {password}})
	if r.code != http.StatusOK {
		f.t.Fatalf("login: HTTP %d %s", r.code, r.body)
	}
	var lr loginReply
	if err := json.Unmarshal(r.body, &lr); err != nil {
		f.t.Fatal(err)
	}
	if r.cookie == nil {
		f.t.Fatal("login set no cookie")
	}
	return lr, r.cookie
}

// TestAnonymousSession: a new visitor gets an anonymous session whose
// cookie has the configured attributes; a returning one keeps it.
func TestAnonymousSession(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		set    func(*frontend.Options)
		path   string
		domain string
		secure bool
		site   http.SameSite
		life   time.Duration
	}{
		{"defaults", nil, "/", "", true, http.SameSiteLaxMode, frontend.DefaultLifetime},
		{"configured", func(o *frontend.Options) {
			o.CookiePath, o.CookieDomain, o.InsecureCookie = "/app", "example.test", true
			o.SameSite, o.Lifetime = http.SameSiteStrictMode, time.Hour
		}, "/app", "example.test", false, http.SameSiteStrictMode, time.Hour},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFront(t, c.set)
			p, r := f.whoami("", "User-Agent", "frontend-test/1.0")
			k := r.cookie
			if k == nil {
				t.Fatal("no cookie")
			}
			if !k.HttpOnly || k.Secure != c.secure || k.SameSite != c.site || k.Path != c.path ||
				k.Domain != c.domain || k.MaxAge != int(c.life/time.Second) || len(k.Value) != 43 {
				t.Fatalf("cookie %+v", k)
			}
			if p.Session == nil || !p.Anonymous || p.Session.Token != k.Value || p.Session.UserID != frontend.AnonymousUserID {
				t.Fatalf("principal %+v", p)
			}
			if want := f.clock.Now().Add(c.life); !p.Session.Expires.Equal(want) {
				t.Fatalf("expires %v, want %v", p.Session.Expires, want)
			}
			// authnzrv stored the visitor's address, agent and the expiry.
			info := f.srv.Do("session-exists", map[string]any{"session_token": k.Value}).Response["session_info"].(map[string]any)
			if info["ip_address"] != "127.0.0.1" || info["user_agent"] != "frontend-test/1.0" || info["user_id"] != float64(2) {
				t.Fatalf("session_info %v", info)
			}
			if exp := f.clock.Now().Add(c.life).Format("2006-01-02T15:04:05"); info["expires"] != exp {
				t.Fatalf("stored expiry %v, want %s", info["expires"], exp)
			}
			// The returning visitor keeps the session; no cookie is set.
			p2, r2 := f.whoami(k.Value)
			if r2.cookie != nil || p2.Session.Token != k.Value || !p2.Anonymous {
				t.Fatalf("returning visitor: cookie %v, principal %+v", r2.cookie, p2)
			}
		})
	}
}

// TestSessionReplaced: a session authnzrv no longer has, or a cookie that
// cannot be a token, gets a new anonymous session.
func TestSessionReplaced(t *testing.T) {
	t.Parallel()
	f := newFront(t, nil)
	deleted := f.anonymous()
	if r := f.srv.Do("session-delete", map[string]any{"session_token": deleted}); !r.Success {
		t.Fatalf("session-delete: %v", r.Messages)
	}
	for name, token := range map[string]string{
		"deleted":   deleted,
		"unknown":   "Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg",
		"malformed": "not%20a%20token",
	} {
		p, r := f.whoami(token)
		if r.cookie == nil || r.cookie.Value == token || p.Session.Token != r.cookie.Value || !p.Anonymous {
			t.Fatalf("%s: cookie %v principal %+v", name, r.cookie, p)
		}
		if ok, uid := f.exists(r.cookie.Value); !ok || uid != 2 {
			t.Fatalf("%s: new session unknown to authnzrv", name)
		}
	}
}

// TestSignUpLoginLogout: sign-up, verification, login rotating the
// session, the protected page, logout.
func TestSignUpLoginLogout(t *testing.T) {
	t.Parallel()
	f := newFront(t, nil)
	const email, name = "Jane.Doe@Example.org", "Jane Doe"
	anon := f.anonymous()

	r := f.send("POST", "/signup", anon, url.Values{"full_name": {name}, "email": {email}, "password": {frontendtest.GoodPassword}})
	var su frontend.SignUpResult
	if err := json.Unmarshal(r.body, &su); err != nil || r.code != http.StatusOK {
		t.Fatalf("signup: HTTP %d %s", r.code, r.body)
	}
	if !su.OK || su.UserID <= 3 || su.Email != "jane.doe@example.org" || !su.SendVerification || len(su.Messages) != 1 {
		t.Fatalf("signup %+v", su)
	}
	// Not verified yet: the login fails, and the session is replaced.
	lr, k := f.login(anon, email, frontendtest.GoodPassword)
	if lr.OK || lr.UserID != frontend.AnonymousUserID || k.Value == anon {
		t.Fatalf("unverified login %+v", lr)
	}
	if ok, _ := f.exists(anon); ok {
		t.Fatal("the presented session survived a failed login")
	}
	anon = k.Value

	f.srv.Verify(su.Email)
	lr, k = f.login(anon, email, frontendtest.GoodPassword)
	if !lr.OK || lr.UserID != su.UserID || k.Value == anon || !k.HttpOnly || !k.Secure {
		t.Fatalf("login %+v cookie %+v", lr, k)
	}
	if ok, _ := f.exists(anon); ok {
		t.Fatal("the anonymous session survived the login (no rotation)")
	}
	if ok, uid := f.exists(k.Value); !ok || uid != su.UserID {
		t.Fatalf("new session: %v user %d", ok, uid)
	}
	user := k.Value

	p, _ := f.whoami(user)
	if p.Anonymous || p.Session.UserID != su.UserID || p.Session.Email != su.Email || p.Session.FullName != name || p.Session.Role != "authenticated" {
		t.Fatalf("logged-in principal %+v", p.Session)
	}
	if r := f.send("GET", "/private", user, nil); r.code != http.StatusOK {
		t.Fatalf("private page: HTTP %d", r.code)
	}

	r = f.send("POST", "/logout", user, nil)
	if r.code != http.StatusOK || r.cookie == nil || r.cookie.Value == user || strings.TrimSpace(string(r.body)) != "true" {
		t.Fatalf("logout: HTTP %d %s cookie %v", r.code, r.body, r.cookie)
	}
	if ok, _ := f.exists(user); ok {
		t.Fatal("the user's session survived logout")
	}
	if ok, uid := f.exists(r.cookie.Value); !ok || uid != 2 {
		t.Fatal("logout did not start an anonymous session")
	}
	if r := f.send("GET", "/private", r.cookie.Value, nil); r.code != http.StatusUnauthorized {
		t.Fatalf("private page after logout: HTTP %d", r.code)
	}

	// Nothing secret reached the log.
	logs := f.logs.String()
	for _, secret := range []string{frontendtest.GoodPassword, anon, user, su.Email, "Jane.Doe", frontendtest.Secret} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the log holds a secret %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, "login succeeded") {
		t.Fatalf("log without the login:\n%s", logs)
	}
}

// TestFailedLogin: wrong passwords and unknown users get the same
// message and a fresh anonymous session.
func TestFailedLogin(t *testing.T) {
	t.Parallel()
	f := newFront(t, nil)
	f.srv.User("Max Mustermann", "max@example.org")
	for _, c := range []struct{ name, email, password string }{
		{"wrong password", "max@example.org", "not the password 1234"},
		{"unknown user", "nobody@example.org", frontendtest.GoodPassword},
		{"empty", "", ""},
	} {
		anon := f.anonymous()
		lr, k := f.login(anon, c.email, c.password)
		want := []string{"Sorry, that user ID and password combination didn't work."}
		if lr.OK || strings.Join(lr.Messages, "|") != strings.Join(want, "|") || lr.UserID != frontend.AnonymousUserID {
			t.Fatalf("%s: %+v", c.name, lr)
		}
		if ok, uid := f.exists(k.Value); !ok || uid != 2 || k.Value == anon {
			t.Fatalf("%s: no fresh anonymous session", c.name)
		}
	}
	// A login without the middleware's session is an error.
	if _, err := f.m.Login(httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil), "max@example.org", "x"); err != frontend.ErrNoSession {
		t.Fatalf("Login outside the middleware: %v", err)
	}
}

// TestLockedUserSession: a live session of a locked or inactive user is not
// a login: authnzrv's session-exists refuses it, and the visitor gets a
// fresh anonymous session. (The middleware also ends such sessions itself
// when a server, like the reference authnzerver, still reports them.)
func TestLockedUserSession(t *testing.T) {
	t.Parallel()
	f := newFront(t, nil)
	uid := f.srv.User("Erika Mustermann", "erika@example.org")
	if r := f.srv.Do("internal-user-lock", map[string]any{"target_userid": uid, "action": "lock"}); !r.Success {
		t.Fatalf("lock: %v %v", r.Reason(), r.Messages)
	}
	for _, id := range []int64{uid, 3} { // 3: the system's locked dummy user
		r := f.srv.Do("session-new", map[string]any{
			"ip_address": "127.0.0.1", "user_agent": "x", "user_id": id,
			"expires": time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04:05.000000"), "extra_info_json": nil,
		})
		token, _ := r.Response["session_token"].(string)
		if token == "" {
			t.Fatalf("set-up: session-new for user %d: %v", id, r.Messages)
		}
		if ok, _ := f.exists(token); ok {
			t.Fatalf("user %d: session-exists reports the session", id)
		}
		p, resp := f.whoami(token)
		if resp.cookie == nil || !p.Anonymous || p.Session.Token == token {
			t.Fatalf("user %d: session kept: %+v", id, p.Session)
		}
	}
}

// TestRequireUser: anonymous visitors get 401, or a redirect to the login
// page for GET and HEAD when one is configured.
func TestRequireUser(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, loginURL, method, path string
		code                         int
		location                     string
	}{
		{"401 without a login page", "", "GET", "/private", http.StatusUnauthorized, ""},
		{"redirect to the login page", "/login", "GET", "/private?x=1", http.StatusSeeOther, "/login?next=%2Fprivate%3Fx%3D1"},
		{"login page with a query", "https://auth.example.test/login?lang=de", "HEAD", "/private", http.StatusSeeOther, "https://auth.example.test/login?lang=de&next=%2Fprivate"},
		{"no redirect for POST", "/login", "POST", "/private", http.StatusUnauthorized, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFront(t, func(o *frontend.Options) { o.LoginURL = c.loginURL })
			r := f.send(c.method, c.path, "", nil)
			if r.code != c.code || r.header.Get("Location") != c.location {
				t.Fatalf("HTTP %d Location %q, want %d %q", r.code, r.header.Get("Location"), c.code, c.location)
			}
		})
	}
}

// TestBearer: API keys are verified with authnzrv instead of the cookie.
func TestBearer(t *testing.T) {
	t.Parallel()
	f := newFront(t, nil)
	uid := f.srv.User("Key Holder", "keys@example.org")
	other := f.srv.User("Other User", "other@example.org")
	key := f.srv.APIKey(uid, "authenticated")
	var claims map[string]any
	if err := json.Unmarshal([]byte(key), &claims); err != nil {
		t.Fatal(err)
	}
	edit := func(k string, v any) string {
		c := map[string]any{}
		for n, x := range claims {
			c[n] = x
		}
		c[k] = v
		b, _ := json.Marshal(c)
		return string(b)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	cases := []struct {
		name, auth string
		ok         bool
	}{
		{"raw JSON", "Bearer " + key, true},
		{"base64url", "Bearer " + b64([]byte(key)), true},
		{"scheme in lower case", "bearer " + b64([]byte(key)), true},
		{"tampered token", "Bearer " + b64([]byte(edit("tkn", "Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg"))), false},
		{"raised role", "Bearer " + b64([]byte(edit("rol", "superuser"))), false},
		{"other user", "Bearer " + b64([]byte(edit("uid", other))), false},
		{"malformed", "Bearer !!!", false},
		{"empty", "Bearer ", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.send("GET", "/private", "", nil, "Authorization", c.auth)
			if r.cookie != nil || len(r.header.Values("Set-Cookie")) != 0 {
				t.Fatalf("bearer request got a cookie: %v", r.header.Values("Set-Cookie"))
			}
			if !c.ok {
				if r.code != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != `Bearer realm="authnzrv", error="invalid_token"` {
					t.Fatalf("HTTP %d WWW-Authenticate %q", r.code, r.header.Get("WWW-Authenticate"))
				}
				return
			}
			var p principal
			if err := json.Unmarshal(r.body, &p); err != nil || r.code != http.StatusOK {
				t.Fatalf("HTTP %d %s", r.code, r.body)
			}
			if p.Session != nil || p.APIKey == nil || p.APIKey.UserID != uid || p.APIKey.Role != "authenticated" || p.APIKey.Claims["aud"] != "frontend" {
				t.Fatalf("principal %+v", p)
			}
		})
	}
	// Bearer requests need no origin check: they carry no ambient credentials.
	if r := f.send("POST", "/echo", "", nil, "Authorization", "Bearer "+b64([]byte(key)), "Sec-Fetch-Site", "cross-site"); r.code != http.StatusOK {
		t.Fatalf("cross-site bearer POST: HTTP %d", r.code)
	}
	// A revoked key is refused.
	if r := f.srv.Do("apikey-revoke-nosession", map[string]any{"apikey_dict": claims, "user_id": uid, "user_role": "authenticated"}); !r.Success {
		t.Fatalf("revoke: %v", r.Messages)
	}
	if r := f.send("GET", "/private", "", nil, "Authorization", "Bearer "+key); r.code != http.StatusUnauthorized {
		t.Fatalf("revoked key: HTTP %d", r.code)
	}
}

// TestCrossOrigin: state-changing browser requests from other origins are
// refused before any session is made; same-origin ones, safe methods and
// trusted origins pass.
func TestCrossOrigin(t *testing.T) {
	t.Parallel()
	f := newFront(t, func(o *frontend.Options) { o.TrustedOrigins = []string{"https://app.example.test"} })
	host := strings.TrimPrefix(f.url, "http://")
	cases := []struct {
		name, method string
		hdr          []string
		code         int
	}{
		{"cross-site POST", "POST", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"same-site POST from another origin", "POST", []string{"Sec-Fetch-Site", "same-site"}, http.StatusForbidden},
		{"POST with a foreign Origin", "POST", []string{"Origin", "https://evil.example.test"}, http.StatusForbidden},
		{"same-origin POST", "POST", []string{"Sec-Fetch-Site", "same-origin"}, http.StatusOK},
		{"POST with our Origin", "POST", []string{"Origin", "http://" + host}, http.StatusOK},
		{"POST typed by the user", "POST", []string{"Sec-Fetch-Site", "none"}, http.StatusOK},
		{"non-browser POST", "POST", nil, http.StatusOK},
		{"trusted origin", "POST", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://app.example.test"}, http.StatusOK},
		{"cross-site GET", "GET", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := "/echo"
			if c.method == "GET" {
				path = "/whoami"
			}
			r := f.send(c.method, path, "", nil, c.hdr...)
			if r.code != c.code {
				t.Fatalf("HTTP %d, want %d (%s)", r.code, c.code, r.body)
			}
			if (r.cookie != nil) != (c.code == http.StatusOK) {
				t.Fatalf("cookie %v on HTTP %d", r.cookie, r.code)
			}
		})
	}
	if !strings.Contains(f.logs.String(), "cross-origin request refused") {
		t.Fatal("refusals not logged")
	}
}

// TestClientAddress: the end user's address, from a trusted proxy's
// header, is what authnzrv stores.
func TestClientAddress(t *testing.T) {
	t.Parallel()
	f := newFront(t, func(o *frontend.Options) {
		o.ProxyHeader = "X-Forwarded-For"
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	_, r := f.whoami("", "X-Forwarded-For", "203.0.113.5, 198.51.100.23")
	info := f.srv.Do("session-exists", map[string]any{"session_token": r.cookie.Value}).Response["session_info"].(map[string]any)
	if info["ip_address"] != "198.51.100.23" {
		t.Fatalf("stored address %v", info["ip_address"])
	}
}

// TestEcho: the middleware runs under Echo through echo.WrapMiddleware.
func TestEcho(t *testing.T) {
	t.Parallel()
	srv := frontendtest.New(t)
	m := frontend.New(srv.Client, frontend.Options{})
	hs := httptest.NewServer(echoApp(m))
	t.Cleanup(hs.Close)
	resp, err := http.Get(hs.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(b) != "anonymous=true" || len(resp.Cookies()) != 1 {
		t.Fatalf("HTTP %d %q cookies %v", resp.StatusCode, b, resp.Cookies())
	}
}

// testLimiter refuses the first refuse requests (all when negative) with
// a fixed Retry-After, then admits everything.
type testLimiter struct {
	mu     sync.Mutex
	refuse int
	wait   time.Duration
	calls  int
}

func (l *testLimiter) Allow(context.Context, []limiter.Bucket) (limiter.Result, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if l.refuse == 0 {
		return limiter.Result{Allowed: true}, nil
	}
	if l.refuse > 0 {
		l.refuse--
	}
	return limiter.Result{Allowed: false, RetryAfter: l.wait, Bucket: "test"}, nil
}

// TestRateLimitRetry: a 429 from authnzrv is retried after its
// Retry-After on the injected clock, within the bounds; past them the end
// user gets 503 with a Retry-After.
func TestRateLimitRetry(t *testing.T) {
	t.Parallel()
	s := time.Second
	cases := []struct {
		name       string
		refuse     int
		wait       time.Duration
		maxRetries int
		maxWait    time.Duration
		code       int
		retryAfter string
		slept      []time.Duration
		calls      int
	}{
		{"admitted after two waits", 2, 2 * s, 0, 0, http.StatusOK, "", []time.Duration{2 * s, 2 * s}, 3},
		{"retries exhausted", -1, s, 3, 0, http.StatusServiceUnavailable, "1", []time.Duration{s, s, s}, 4},
		{"wait beyond the budget", -1, 30 * s, 0, 0, http.StatusServiceUnavailable, "30", nil, 1},
		{"total wait bounded", -1, 2 * s, 5, 3 * s, http.StatusServiceUnavailable, "2", []time.Duration{2 * s}, 2},
		{"retries disabled", 1, s, -1, 0, http.StatusServiceUnavailable, "1", nil, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			lim := &testLimiter{refuse: c.refuse, wait: c.wait}
			f := newFront(t, func(o *frontend.Options) { o.MaxRetries, o.MaxRetryWait = c.maxRetries, c.maxWait },
				func(o *api.Options) { o.Limiter = lim })
			r := f.send("GET", "/whoami", "", nil)
			if r.code != c.code || r.header.Get("Retry-After") != c.retryAfter {
				t.Fatalf("HTTP %d Retry-After %q, want %d %q (%s)", r.code, r.header.Get("Retry-After"), c.code, c.retryAfter, r.body)
			}
			if got := f.clock.sleeps(); fmt.Sprint(got) != fmt.Sprint(c.slept) {
				t.Fatalf("slept %v, want %v", got, c.slept)
			}
			lim.mu.Lock()
			calls := lim.calls
			lim.mu.Unlock()
			if calls != c.calls {
				t.Fatalf("authnzrv asked %d times, want %d", calls, c.calls)
			}
			if (c.code == http.StatusOK) != (r.cookie != nil) {
				t.Fatalf("cookie %v on HTTP %d", r.cookie, r.code)
			}
			if c.code != http.StatusOK && !strings.Contains(f.logs.String(), "authnzrv rate limit persisted") {
				t.Fatalf("not logged:\n%s", f.logs.String())
			}
		})
	}
}

// TestRetryAfterDelay: the typed Retry-After of a 429.
func TestRetryAfterDelay(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		header string
		want   time.Duration
		ok     bool
	}{
		{"3", 3 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"0", 0, true},
		{"Tue, 01 Jan 2030 12:00:30 GMT", 30 * time.Second, true},
		{"Tue, 01 Jan 2030 11:00:00 GMT", 0, true},
		{"", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
	} {
		d, ok := (&client.StatusError{Code: 429, RetryAfter: c.header}).RetryAfterDelay(now)
		if d != c.want || ok != c.ok {
			t.Errorf("RetryAfterDelay(%q) = %v, %v; want %v, %v", c.header, d, ok, c.want, c.ok)
		}
	}
}

// echoApp is an Echo application behind the middleware.
func echoApp(m *frontend.Middleware) http.Handler {
	e := echo.New()
	e.Use(echo.WrapMiddleware(m.Handler))
	e.GET("/", func(c echo.Context) error {
		s, ok := frontend.SessionFrom(c.Request().Context())
		return c.String(http.StatusOK, fmt.Sprintf("anonymous=%v", ok && s.Anonymous()))
	})
	return e
}
