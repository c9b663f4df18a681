package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/api"
	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
	"github.com/authnzrv/authnzrv/identity/password"
	"github.com/authnzrv/authnzrv/wire/hawk"
)

// restCase is one case of testdata/bergson/rest_cases.json.
type restCase struct {
	Name          string `json:"name"`
	Method        string `json:"method"`
	Path          string `json:"path"`
	ContentType   string `json:"content_type"`
	Query         string `json:"query"`
	Body          string `json:"body"`
	Authorization string `json:"authorization"`
	Setup         []struct {
		Username   string `json:"username"`
		Password   string `json:"password"`
		Disabled   bool   `json:"disabled"`
		PBKDF2Salt string `json:"pbkdf2_salt"`
	} `json:"setup"`
	Want struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
		Allow  string `json:"allow"`
	} `json:"want"`
	After []accountState `json:"after"`
}

// accountState is what a case expects of an account afterwards.
type accountState struct {
	Username string `json:"username"`
	Exists   bool   `json:"exists"`
	Enabled  *bool  `json:"enabled"`
	Password string `json:"password"`
	Argon2id *bool  `json:"argon2id"`
}

func loadRestCases(t *testing.T) []restCase {
	t.Helper()
	b, err := os.ReadFile("../testdata/bergson/rest_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []restCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range f.Cases {
		for _, s := range c.Setup {
			if seen[s.Username] {
				t.Fatalf("username %s set up twice", s.Username)
			}
			seen[s.Username] = true
		}
	}
	return f.Cases
}

// Senders of the Hawk tests.
const (
	keyOther   = "werxhqb98rpaxn39848xrunpaw3489ruxnpa98w4rxn"
	keySomeone = "2983d45yun89q"
)

func testSenders() api.HawkSenders {
	return api.HawkSenders{
		"otherone": {Key: keyOther, Algorithm: "sha256", Endpoints: []string{"/v1/account/::0", "/v1/service/health"}},
		"someone":  {Key: keySomeone, Algorithm: "sha256", Endpoints: []string{"/v1/account/authenticate"}},
	}
}

// bergsonEnv starts a server with the Bergson API; senders nil: Hawk off.
func bergsonEnv(t testing.TB, db identitytest.DB, senders api.HawkSenders, opts ...envOption) *testEnv {
	t.Helper()
	base := []envOption{
		withOptions(func(o *api.Options) {
			o.Bergson = api.BergsonOptions{Enabled: true, Senders: senders}
			o.Lockout = api.Lockout{Enabled: true, Tries: 3, Duration: time.Hour, BackoffBase: time.Millisecond, BackoffCap: time.Millisecond}
		}),
		withEngine(func(o *engine.Options) { o.HawkSenders = senders.Endpoints() }),
	}
	return newEnv(t, db, append(base, opts...)...)
}

// account creates a Bergson account for a case.
func (e *testEnv) account(username, pw string, disabled bool, salt string) {
	e.t.Helper()
	ctx := context.Background()
	var hash string
	var err error
	if salt != "" {
		hash, err = password.BergsonHash(salt, password.BergsonDigest(pw, salt, password.BergsonIterations))
	} else {
		hash, err = e.hasher.Hash(ctx, pw)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.store.CreateBergsonAccount(ctx, username, hash); err != nil {
		e.t.Fatal(err)
	}
	if disabled {
		if err := e.store.SetAccountEnabled(ctx, username, false); err != nil {
			e.t.Fatal(err)
		}
	}
}

// checkAccount asserts an account's state.
func (e *testEnv) checkAccount(t *testing.T, a accountState) {
	t.Helper()
	ctx := context.Background()
	u, err := e.store.UserByEmail(ctx, a.Username)
	if !a.Exists {
		if err == nil {
			t.Fatalf("account %s exists", a.Username)
		}
		return
	}
	if err != nil {
		t.Fatalf("account %s: %v", a.Username, err)
	}
	if !identity.IsBergsonAccount(u) || u.UserRole != "authenticated" || !u.EmailVerified {
		t.Fatalf("account %s is not a Bergson account: %+v", a.Username, u)
	}
	if a.Enabled != nil && u.IsActive != *a.Enabled {
		t.Fatalf("account %s enabled = %v", a.Username, u.IsActive)
	}
	if a.Password != "" {
		if ok, err := e.hasher.Verify(ctx, u.Password, a.Password); !ok || err != nil {
			t.Fatalf("account %s: password does not verify (%v)", a.Username, err)
		}
	}
	if a.Argon2id != nil && strings.HasPrefix(u.Password, "$argon2id$") != *a.Argon2id {
		t.Fatalf("account %s hash kind %.24s, want argon2id %v", a.Username, u.Password, *a.Argon2id)
	}
}

// bergsonRequest is an HTTP request to the Bergson API.
type bergsonRequest struct {
	method, path, query, contentType, body, authorization string
}

// send makes the request; contentType "-" sends none.
func (e *testEnv) send(t testing.TB, r bergsonRequest) (int, http.Header, string) {
	t.Helper()
	return e.sendTo(t, e, r)
}

// sendTo sends a request to e with the Host header of the server as (a
// request signed for as, replayed on e).
func (e *testEnv) sendTo(t testing.TB, as *testEnv, r bergsonRequest) (int, http.Header, string) {
	t.Helper()
	u := e.url + r.path
	if r.query != "" {
		u += "?" + r.query
	}
	req, err := http.NewRequest(r.method, u, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if as != e {
		au, _ := url.Parse(as.url)
		req.Host = au.Host
	}
	if r.contentType != "-" && r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.authorization != "" {
		req.Header.Set("Authorization", r.authorization)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(b)
}

// TestBergsonREST runs every endpoint with every status it can give, as
// data (testdata/bergson/rest_cases.json), on each database, Hawk off.
func TestBergsonREST(t *testing.T) {
	t.Parallel()
	cases := loadRestCases(t)
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		t.Parallel()
		e := bergsonEnv(t, db, nil)
		for _, c := range cases {
			t.Run(c.Name, func(t *testing.T) {
				for _, s := range c.Setup {
					e.account(s.Username, s.Password, s.Disabled, s.PBKDF2Salt)
				}
				status, h, body := e.send(t, bergsonRequest{c.Method, c.Path, c.Query, c.ContentType, c.Body, c.Authorization})
				if status != c.Want.Status || body != c.Want.Body {
					t.Fatalf("%s %s: %d %s, want %d %s", c.Method, c.Path, status, body, c.Want.Status, c.Want.Body)
				}
				if c.Method != http.MethodHead && (h.Get("Content-Type") != "application/json" ||
					h.Get("Cache-Control") != "no-cache" || h.Get("Pragma") != "no-cache") {
					t.Fatalf("headers %v", h)
				}
				if h.Get("Server-Authorization") != "" {
					t.Fatal("an unsigned request got a Server-Authorization header")
				}
				if c.Want.Allow != "" && h.Get("Allow") != c.Want.Allow {
					t.Fatalf("Allow = %q, want %q", h.Get("Allow"), c.Want.Allow)
				}
				for _, a := range c.After {
					e.checkAccount(t, a)
				}
			})
		}
	})
}

// TestBergsonOff: behind --bergson 0 the REST paths answer as before (the
// authnzerver's 404 page), and the authnzerver routes are there with it on.
func TestBergsonOff(t *testing.T) {
	t.Parallel()
	off := newEnv(t, identitytest.SQLite(t))
	for _, p := range []string{"/v1/account/create", "/create", "/v1/service/health"} {
		status, _, body := off.send(t, bergsonRequest{method: "POST", path: p, contentType: "application/json", body: `{"username": "abcd", "password": "secret1"}`})
		if status != http.StatusNotFound || !strings.Contains(body, "404: Not Found") {
			t.Fatalf("off: POST %s = %d %s", p, status, body)
		}
	}
	on := bergsonEnv(t, identitytest.SQLite(t), nil)
	if status, _, body := on.send(t, bergsonRequest{method: "GET", path: "/health"}); status != http.StatusOK || !strings.Contains(body, "Health-Ok") {
		t.Fatalf("on: GET /health = %d %s", status, body)
	}
	if r := on.do("user-login", map[string]any{"session_token": "x", "email": "nobody@example.org", "password": "x"}); r.Success {
		t.Fatal("the Fernet API does not answer with Bergson on")
	}
}

// TestBergsonDatabaseDown: every endpoint that reads the database answers
// the source's 500s when it cannot.
func TestBergsonDatabaseDown(t *testing.T) {
	t.Parallel()
	e := bergsonEnv(t, identitytest.SQLite(t), nil)
	e.account("downuser", "secret1", false, "")
	// Load the dummy hash while the database still answers.
	e.send(t, bergsonRequest{method: "POST", path: "/v1/account/authenticate", contentType: "application/json", body: `{"username": "nobody", "password": "secret1"}`})
	if err := e.store.DB().Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path, query, body, want string
		status                          int
	}{
		{"POST", "/v1/account/create", "", `{"username": "downnew", "password": "secret1"}`, `{"error": "Database communication error"}`, 500},
		{"POST", "/v1/account/authenticate", "", `{"username": "downuser", "password": "secret1"}`, `{"error": "Database communication error"}`, 500},
		{"GET", "/v1/account/exists", "username=downuser", "", `{"error": "Database communication error"}`, 500},
		{"PUT", "/v1/account/passwordchange", "", `{"username": "downuser", "password": "secret2"}`, `{"error": "Database communication error"}`, 500},
		{"PUT", "/v1/account/disable", "", `{"username": "downuser"}`, `{"error": "Account-information could not be updated"}`, 500},
		{"PUT", "/v1/account/enable", "", `{"username": "downuser"}`, `{"error": "Account-information could not be updated"}`, 500},
		{"GET", "/v1/service/health", "", "", `{"status": 0}`, 500},
	} {
		ct := "application/json"
		if c.method == "GET" {
			ct = "-"
		}
		status, _, body := e.send(t, bergsonRequest{c.method, c.path, c.query, ct, c.body, ""})
		if status != c.status || body != c.want {
			t.Errorf("%s %s: %d %s, want %d %s", c.method, c.path, status, body, c.status, c.want)
		}
	}
}

// signed is a Hawk-signed request and what its signature needs.
type signed struct {
	bergsonRequest
	sender, key string
	payload     string
	art         *hawk.Artifacts
}

// sign signs a request as the source's Mohawk clients do: the URL without
// the query, the payload the canonical parameter string, the content type
// as sent (text/plain when none).
func sign(t testing.TB, e *testEnv, r bergsonRequest, sender, key, payload string, o hawk.SignOptions) signed {
	t.Helper()
	ct := r.contentType
	if ct == "-" || ct == "" {
		ct = "text/plain"
	}
	o.ContentType, o.Payload = ct, []byte(payload)
	u, _ := url.Parse(e.url)
	header, art, err := hawk.Sign(hawk.Credentials{ID: sender, Key: []byte(key), Algorithm: hawk.SHA256}, r.method,
		"http://"+u.Host+r.path, o)
	if err != nil {
		t.Fatal(err)
	}
	r.authorization = header
	return signed{bergsonRequest: r, sender: sender, key: key, payload: payload, art: art}
}

// hawkNow signs with the current time.
func hawkNow() hawk.SignOptions { return hawk.SignOptions{} }

// sendSigned sends a signed request and, when the server signed its
// answer, checks the Server-Authorization header over the body.
func (e *testEnv) sendSigned(t testing.TB, s signed) (int, string, bool) {
	t.Helper()
	status, h, body := e.send(t, s.bergsonRequest)
	sa := h.Get("Server-Authorization")
	if sa == "" {
		return status, body, false
	}
	creds := hawk.Credentials{ID: s.sender, Key: []byte(s.key), Algorithm: hawk.SHA256}
	if _, err := hawk.VerifyServerAuthorization(creds, s.art, sa, h.Get("Content-Type"), []byte(body)); err != nil {
		t.Fatalf("Server-Authorization does not verify: %v", err)
	}
	return status, body, true
}

// TestBergsonHawk: signed requests are accepted and their answers signed;
// a wrong key, a stale timestamp, a replayed nonce, a wrong payload hash,
// a missing signature, an unknown sender and a sender calling outside its
// endpoints are refused, on each database (nonces in hawk_nonces).
func TestBergsonHawk(t *testing.T) {
	t.Parallel()
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		t.Parallel()
		clock := time.Unix(1_900_000_000, 0)
		var offset atomic.Int64 // seconds the server's clock has moved on
		e := bergsonEnv(t, db, testSenders(), withOptions(func(o *api.Options) {
			o.Bergson.Now = func() time.Time { return clock.Add(time.Duration(offset.Load()) * time.Second) }
			o.Bergson.Skew = 60 * time.Second
		}))
		e.account("hawkuser", "secret1", false, "")
		now := hawk.SignOptions{TS: clock.Unix()}
		create := bergsonRequest{method: "POST", path: "/v1/account/create", contentType: "application/json",
			body: `{"username": "hawknew", "password": "secret1"}`}
		createPayload := "password=secret1&username=hawknew"
		auth := bergsonRequest{method: "POST", path: "/v1/account/authenticate", contentType: "application/json",
			body: `{"username": "hawkuser", "password": "secret1"}`}
		authPayload := "password=secret1&username=hawkuser"
		exists := bergsonRequest{method: "GET", path: "/v1/account/exists", query: "username=hawkuser", contentType: "-"}
		const (
			sigFailed = `{"error": "Signature validation of your request failed."}`
			aclDenied = `{"error": "Access to resource is denied"}`
		)
		replayed := sign(t, e, auth, "someone", keySomeone, authPayload, now)
		for _, c := range []struct {
			name       string
			req        signed
			status     int
			body       string
			signedBack bool
		}{
			{"create", sign(t, e, create, "otherone", keyOther, createPayload, now), 200, `{"status": 1, "username": "hawknew"}`, true},
			{"create again is signed too", sign(t, e, create, "otherone", keyOther, createPayload, now), 422, `{"error": "Account exists"}`, true},
			{"authenticate", replayed, 200, `{"status": 1, "authenticated": true}`, true},
			{"replayed nonce", replayed, 401, sigFailed, false},
			{"exists with the query outside the signature", sign(t, e, exists, "otherone", keyOther, "username=hawkuser", now), 200,
				`{"status": 1, "message": "Account exists"}`, true},
			{"health", sign(t, e, bergsonRequest{method: "GET", path: "/v1/service/health", contentType: "-"}, "otherone", keyOther, "", now),
				200, `{"status": 1}`, true},
			{"options", sign(t, e, bergsonRequest{method: "OPTIONS", path: "/v1/account/create", contentType: "-"}, "otherone", keyOther, "", now),
				200, `""`, true},
			{"wrong key", sign(t, e, auth, "someone", "not the key", authPayload, now), 401, sigFailed, false},
			{"unknown sender", sign(t, e, auth, "nobody", keySomeone, authPayload, now), 401, sigFailed, false},
			{"stale timestamp", sign(t, e, auth, "someone", keySomeone, authPayload, hawk.SignOptions{TS: clock.Unix() - 61}), 401, sigFailed, false},
			{"future timestamp", sign(t, e, auth, "someone", keySomeone, authPayload, hawk.SignOptions{TS: clock.Unix() + 61}), 401, sigFailed, false},
			{"timestamp at the skew", sign(t, e, auth, "someone", keySomeone, authPayload, hawk.SignOptions{TS: clock.Unix() - 60}), 200,
				`{"status": 1, "authenticated": true}`, true},
			{"wrong payload hash", sign(t, e, auth, "someone", keySomeone, "password=secret2&username=hawkuser", now), 401, sigFailed, false},
			{"parameters not sorted", sign(t, e, auth, "someone", keySomeone, "username=hawkuser&password=secret1", now), 401, sigFailed, false},
			{"payload hash of the raw body", sign(t, e, auth, "someone", keySomeone, auth.body, now), 401, sigFailed, false},
			{"another path signed", func() signed {
				s := sign(t, e, bergsonRequest{method: "POST", path: "/v1/account/create", contentType: "application/json"}, "someone", keySomeone, authPayload, now)
				s.bergsonRequest = bergsonRequest{auth.method, auth.path, "", auth.contentType, auth.body, s.authorization}
				return s
			}(), 401, sigFailed, false},
			{"outside the sender's endpoints", sign(t, e, create, "someone", keySomeone, createPayload, now), 401, aclDenied, false},
			{"health outside the sender's endpoints", sign(t, e, bergsonRequest{method: "GET", path: "/v1/service/health", contentType: "-"}, "someone", keySomeone, "", now),
				401, aclDenied, false},
			{"aliases are checked as the path they stand for", sign(t, e, bergsonRequest{method: "POST", path: "/authenticate", contentType: "application/json",
				body: auth.body}, "someone", keySomeone, authPayload, now), 200, `{"status": 1, "authenticated": true}`, true},
			{"no signature", signed{bergsonRequest: auth}, 401, sigFailed, false},
			{"not a Hawk header", signed{bergsonRequest: bergsonRequest{auth.method, auth.path, "", auth.contentType, auth.body, "Basic Zm9vOmJhcg=="}},
				401, sigFailed, false},
			{"unknown path is not checked", signed{bergsonRequest: bergsonRequest{method: "GET", path: "/v1/nothing"}}, 404, `{"error": "Not found."}`, false},
		} {
			t.Run(c.name, func(t *testing.T) {
				status, body, back := e.sendSigned(t, c.req)
				if status != c.status || body != c.body || back != c.signedBack {
					t.Fatalf("%d %s signed=%v, want %d %s signed=%v", status, body, back, c.status, c.body, c.signedBack)
				}
			})
		}
		// Nothing was written by the refused requests.
		e.checkAccount(t, accountState{Username: "hawknew", Exists: true, Password: "secret1"})
		// Nonces older than the skew are purged; newer ones are kept.
		offset.Store(120)
		if n, err := e.srv.PurgeHawkNonces(context.Background()); err != nil || n == 0 {
			t.Fatalf("purge = %d, %v", n, err)
		}
		if n, err := e.srv.PurgeHawkNonces(context.Background()); err != nil || n != 0 {
			t.Fatalf("second purge = %d, %v", n, err)
		}
	})
}
