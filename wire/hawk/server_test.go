package hawk

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const testTS = 1700000000

var testCreds = Credentials{ID: "peer-1", Key: []byte("k3y for the tests, not a secret"), Algorithm: SHA256}

// signedRequest is a POST signed by Sign at testTS, as the server sees it.
func signedRequest(t *testing.T) Request {
	t.Helper()
	const ct, body = "application/x-www-form-urlencoded", "a=1&b=2"
	header, art, err := Sign(testCreds, "POST", "https://auth.example.org:8443/v1/user/login?x=1&y=2", SignOptions{
		TS: testTS, Nonce: "n-1", ContentType: ct, Payload: []byte(body), Ext: "e",
	})
	if err != nil {
		t.Fatal(err)
	}
	return Request{
		Method: "POST", Resource: art.Resource, Host: "auth.example.org", Port: 8443,
		Authorization: header, ContentType: ct, Payload: []byte(body),
	}
}

// setAttr replaces (or with value "" removes) an attribute of a header.
func setAttr(header, name, value string) string {
	re := regexp.MustCompile(`(, )?\b` + name + `="[^"]*"`)
	if value == "" {
		return strings.Replace(re.ReplaceAllString(header, ""), "Hawk , ", "Hawk ", 1)
	}
	return re.ReplaceAllString(header, `${1}`+name+`="`+value+`"`)
}

// nonceLog is a nonce checker that remembers nonces and records its calls.
type nonceLog struct {
	mu    sync.Mutex
	seen  map[string]bool
	calls int
}

func (n *nonceLog) check(_ context.Context, id, nonce string, ts int64) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls++
	if n.seen == nil {
		n.seen = map[string]bool{}
	}
	k := id + "\x00" + nonce
	if n.seen[k] {
		return false, nil
	}
	n.seen[k] = true
	return true, nil
}

// TestAuthenticate: a signed request is accepted; each tampered part, and
// each failing check, is refused with its error.
func TestAuthenticate(t *testing.T) {
	t.Parallel()
	otherKey := testCreds
	otherKey.Key = []byte("another key")
	otherAlg := testCreds
	otherAlg.Algorithm = SHA1
	errStore := errors.New("store down")

	cases := []struct {
		name   string
		mod    func(r *Request, o *Options)
		err    error
		hashed bool // on success: PayloadVerified
	}{
		{"as signed", nil, nil, true},
		{"host in other case", func(r *Request, o *Options) { r.Host = "AUTH.Example.ORG" }, nil, true},
		{"method in other case", func(r *Request, o *Options) { r.Method = "post" }, nil, true},
		{"content type parameter added", func(r *Request, o *Options) { r.ContentType += "; charset=utf-8" }, nil, true},
		{"content type in other case", func(r *Request, o *Options) { r.ContentType = "Application/X-WWW-Form-Urlencoded" }, nil, true},
		{"ts at the past edge of the skew", func(r *Request, o *Options) { o.Now = fixedClock(testTS + 60) }, nil, true},
		{"ts at the future edge of the skew", func(r *Request, o *Options) { o.Now = fixedClock(testTS - 60) }, nil, true},
		{"no hash, not required", func(r *Request, o *Options) { r.Authorization = resign(t, r, "hash", "") }, nil, false},

		{"no header", func(r *Request, o *Options) { r.Authorization = "" }, ErrMissing, false},
		{"other scheme", func(r *Request, o *Options) { r.Authorization = "Bearer abc" }, ErrMissing, false},
		{"garbage", func(r *Request, o *Options) { r.Authorization = "Hawk id=" }, ErrMalformed, false},
		{"no mac attribute", func(r *Request, o *Options) { r.Authorization = setAttr(r.Authorization, "mac", "") }, ErrMalformed, false},
		{"unknown id", func(r *Request, o *Options) { o.Lookup = lookupOf() }, ErrUnknownID, false},

		{"method", func(r *Request, o *Options) { r.Method = "PUT" }, ErrBadMAC, false},
		{"path", func(r *Request, o *Options) { r.Resource = strings.Replace(r.Resource, "login", "logout", 1) }, ErrBadMAC, false},
		{"query", func(r *Request, o *Options) { r.Resource = strings.Replace(r.Resource, "x=1", "x=2", 1) }, ErrBadMAC, false},
		{"query dropped", func(r *Request, o *Options) { r.Resource, _, _ = strings.Cut(r.Resource, "?") }, ErrBadMAC, false},
		{"host", func(r *Request, o *Options) { r.Host = "evil.example.org" }, ErrBadMAC, false},
		{"port", func(r *Request, o *Options) { r.Port = 443 }, ErrBadMAC, false},
		{"ts", func(r *Request, o *Options) { r.Authorization = setAttr(r.Authorization, "ts", "1700000001") }, ErrBadMAC, false},
		{"nonce", func(r *Request, o *Options) { r.Authorization = setAttr(r.Authorization, "nonce", "n-2") }, ErrBadMAC, false},
		{"ext", func(r *Request, o *Options) { r.Authorization = setAttr(r.Authorization, "ext", "f") }, ErrBadMAC, false},
		{"ext dropped", func(r *Request, o *Options) { r.Authorization = setAttr(r.Authorization, "ext", "") }, ErrBadMAC, false},
		{"hash dropped", func(r *Request, o *Options) { r.Authorization = setAttr(r.Authorization, "hash", "") }, ErrBadMAC, false},
		{"app added", func(r *Request, o *Options) { r.Authorization += `, app="x"` }, ErrBadMAC, false},
		{"mac", func(r *Request, o *Options) {
			r.Authorization = setAttr(r.Authorization, "mac", "AAAAiE+NPoym+WwjeHzjAGXUtLNIxmo1vpMofpLAE=")
		}, ErrBadMAC, false},
		{"key", func(r *Request, o *Options) { o.Lookup = lookupOf(otherKey) }, ErrBadMAC, false},
		{"algorithm", func(r *Request, o *Options) { o.Lookup = lookupOf(otherAlg) }, ErrBadMAC, false},

		{"payload", func(r *Request, o *Options) { r.Payload = []byte("a=1&b=3") }, ErrBadHash, false},
		{"payload dropped", func(r *Request, o *Options) { r.Payload = nil }, ErrBadHash, false},
		{"content type", func(r *Request, o *Options) { r.ContentType = "application/json" }, ErrBadHash, false},
		{"no hash, required", func(r *Request, o *Options) {
			r.Authorization = resign(t, r, "hash", "")
			o.RequirePayloadHash = true
		}, ErrBadHash, false},

		{"replay", func(r *Request, o *Options) {
			o.CheckNonce = func(context.Context, string, string, int64) (bool, error) { return false, nil }
		}, ErrReplay, false},
		{"stale", func(r *Request, o *Options) { o.Now = fixedClock(testTS + 61) }, ErrStale, false},
		{"from the future", func(r *Request, o *Options) { o.Now = fixedClock(testTS - 61) }, ErrStale, false},
		{"stale by a nanosecond", func(r *Request, o *Options) {
			o.Now = func() time.Time { return time.Unix(testTS+60, 1) }
		}, ErrStale, false},
		{"stale under a narrower skew", func(r *Request, o *Options) {
			o.Now, o.Skew = fixedClock(testTS+6), 5*time.Second
		}, ErrStale, false},

		// The order of the checks (@hapi/hawk's): MAC, hash, nonce, time.
		{"bad mac and bad hash", func(r *Request, o *Options) { r.Method, r.Payload = "PUT", nil }, ErrBadMAC, false},
		{"bad mac and stale", func(r *Request, o *Options) { r.Method, o.Now = "PUT", fixedClock(0) }, ErrBadMAC, false},
		{"bad hash and replay", func(r *Request, o *Options) {
			r.Payload = nil
			o.CheckNonce = func(context.Context, string, string, int64) (bool, error) { return false, nil }
		}, ErrBadHash, false},
		{"replay and stale", func(r *Request, o *Options) {
			o.Now = fixedClock(0)
			o.CheckNonce = func(context.Context, string, string, int64) (bool, error) { return false, nil }
		}, ErrReplay, false},

		// Server faults match no sentinel and wrap their cause.
		{"nonce store fails", func(r *Request, o *Options) {
			o.CheckNonce = func(context.Context, string, string, int64) (bool, error) { return false, errStore }
		}, errStore, false},
		{"lookup fails", func(r *Request, o *Options) {
			o.Lookup = func(context.Context, string) (Credentials, error) { return Credentials{}, errStore }
		}, errStore, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			req := signedRequest(t)
			opts := Options{Lookup: lookupOf(testCreds), CheckNonce: acceptAll, Now: fixedClock(testTS)}
			if c.mod != nil {
				c.mod(&req, &opts)
			}
			res, err := Authenticate(context.Background(), req, opts)
			if c.err == nil {
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if res.Credentials.ID != testCreds.ID || res.Artifacts.Nonce != "n-1" || res.PayloadVerified != c.hashed {
					t.Fatalf("result %+v", res)
				}
				return
			}
			if !errors.Is(err, c.err) || res != nil {
				t.Fatalf("got %+v, %v; want %v", res, err, c.err)
			}
			sentinels := []error{ErrMissing, ErrMalformed, ErrUnknownID, ErrBadMAC, ErrBadHash, ErrReplay, ErrStale}
			for _, s := range sentinels {
				if s != c.err && errors.Is(err, s) {
					t.Fatalf("%v also matches %v", err, s)
				}
			}
		})
	}
}

// resign signs r again with one attribute changed (ts, nonce, ext, or hash
// "" for no payload hash) and returns the header.
func resign(t *testing.T, r *Request, name, value string) string {
	t.Helper()
	a, err := ParseAuthorization(r.Authorization)
	if err != nil {
		t.Fatal(err)
	}
	opts := SignOptions{TS: a.TS, Nonce: a.Nonce, Ext: a.Ext, ContentType: r.ContentType, Payload: r.Payload}
	if name == "hash" && value == "" {
		opts.Payload = nil
	}
	h, _, err := Sign(testCreds, r.Method, "https://"+r.Host+":8443"+r.Resource, opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestAuthenticateNonce: the nonce store sees the id, nonce and ts of
// requests whose MAC and hash verified, and only of those, and a second use
// of a nonce is a replay.
func TestAuthenticateNonce(t *testing.T) {
	t.Parallel()
	var log nonceLog
	var got struct {
		id, nonce string
		ts        int64
	}
	opts := Options{Lookup: lookupOf(testCreds), Now: fixedClock(testTS), CheckNonce: func(ctx context.Context, id, nonce string, ts int64) (bool, error) {
		got.id, got.nonce, got.ts = id, nonce, ts
		return log.check(ctx, id, nonce, ts)
	}}
	req := signedRequest(t)

	bad := req
	bad.Method = "GET"
	if _, err := Authenticate(context.Background(), bad, opts); !errors.Is(err, ErrBadMAC) {
		t.Fatalf("bad MAC: %v", err)
	}
	bad = req
	bad.Payload = []byte("x")
	if _, err := Authenticate(context.Background(), bad, opts); !errors.Is(err, ErrBadHash) {
		t.Fatalf("bad hash: %v", err)
	}
	if log.calls != 0 {
		t.Fatalf("nonce store called %d times for refused requests", log.calls)
	}

	if _, err := Authenticate(context.Background(), req, opts); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if got.id != testCreds.ID || got.nonce != "n-1" || got.ts != testTS {
		t.Fatalf("nonce store saw %+v", got)
	}
	if _, err := Authenticate(context.Background(), req, opts); !errors.Is(err, ErrReplay) {
		t.Fatalf("second use: %v", err)
	}
	if log.calls != 2 {
		t.Fatalf("nonce store called %d times, want 2", log.calls)
	}
}

// TestStaleError: a stale request's error carries the server time and a
// tsm the client can verify, worded as @hapi/hawk's challenge.
func TestStaleError(t *testing.T) {
	t.Parallel()
	const now = testTS + 3600
	_, err := Authenticate(context.Background(), signedRequest(t), Options{
		Lookup: lookupOf(testCreds), CheckNonce: acceptAll, Now: func() time.Time { return time.Unix(now, 999e6) },
	})
	var se *StaleError
	if !errors.As(err, &se) || !errors.Is(err, ErrStale) {
		t.Fatalf("got %v, want a *StaleError", err)
	}
	tsm, _ := TimestampMAC(testCreds, now)
	if se.ServerTime != now || se.TSM != tsm {
		t.Fatalf("StaleError %+v, want ts %d tsm %s", se, now, tsm)
	}
	want := `Hawk ts="1700003600", tsm="` + tsm + `", error="Stale timestamp"`
	if got := se.WWWAuthenticate(); got != want {
		t.Fatalf("WWWAuthenticate\n got %s\nwant %s", got, want)
	}
	c, err := VerifyWWWAuthenticate(testCreds, se.WWWAuthenticate())
	if err != nil || c.ServerTime != now || c.Error != "Stale timestamp" {
		t.Fatalf("VerifyWWWAuthenticate = %+v, %v", c, err)
	}
	other := testCreds
	other.Key = []byte("other")
	if _, err := VerifyWWWAuthenticate(other, se.WWWAuthenticate()); !errors.Is(err, ErrBadMAC) {
		t.Fatalf("tsm under another key: %v", err)
	}
	if strings.Contains(se.Error(), tsm) || strings.Contains(se.Error(), "1700003600") {
		t.Fatalf("error text %q carries the challenge", se.Error())
	}
}

// TestAuthenticateConfig: missing options and unusable credentials are
// server errors, not client ones.
func TestAuthenticateConfig(t *testing.T) {
	t.Parallel()
	req := signedRequest(t)
	noKey := testCreds
	noKey.Key = nil
	badAlg := testCreds
	badAlg.Algorithm = "md5"
	cases := []struct {
		name string
		opts Options
	}{
		{"no lookup", Options{CheckNonce: acceptAll}},
		{"no nonce checker", Options{Lookup: lookupOf(testCreds)}},
		{"credentials without key", Options{Lookup: lookupOf(noKey), CheckNonce: acceptAll}},
		{"credentials with unknown algorithm", Options{Lookup: lookupOf(badAlg), CheckNonce: acceptAll}},
	}
	for _, c := range cases {
		c.opts.Now = fixedClock(testTS)
		res, err := Authenticate(context.Background(), req, c.opts)
		if err == nil || res != nil {
			t.Errorf("%s: got %+v, %v", c.name, res, err)
			continue
		}
		for _, s := range []error{ErrMissing, ErrMalformed, ErrUnknownID, ErrBadMAC, ErrBadHash, ErrReplay, ErrStale} {
			if errors.Is(err, s) {
				t.Errorf("%s: %v matches %v", c.name, err, s)
			}
		}
	}
}

// TestServerAuthorization: the response header verifies with the request's
// artifacts and is refused when anything it covers changes.
func TestServerAuthorization(t *testing.T) {
	t.Parallel()
	res, err := Authenticate(context.Background(), signedRequest(t), Options{Lookup: lookupOf(testCreds), CheckNonce: acceptAll, Now: fixedClock(testTS)})
	if err != nil {
		t.Fatal(err)
	}
	const ct, body = "application/json", `{"status": true}`
	header, err := ServerAuthorization(res, ct, []byte(body), "resp-ext")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(header, `Hawk mac="`) || !strings.Contains(header, `, hash="`) || !strings.HasSuffix(header, `, ext="resp-ext"`) {
		t.Fatalf("header %s", header)
	}
	reqArt := res.Artifacts
	otherNonce := reqArt
	otherNonce.Nonce = "n-2"
	otherKey := testCreds
	otherKey.Key = []byte("other")

	cases := []struct {
		name    string
		creds   Credentials
		art     *Artifacts
		header  string
		ct      string
		payload []byte
		err     error
	}{
		{"as sent", testCreds, &reqArt, header, ct, []byte(body), nil},
		{"payload not checked", testCreds, &reqArt, header, ct, nil, nil},
		{"payload", testCreds, &reqArt, header, ct, []byte(`{"status": false}`), ErrBadHash},
		{"content type", testCreds, &reqArt, header, "text/plain", []byte(body), ErrBadHash},
		{"hash dropped", testCreds, &reqArt, setAttr(header, "hash", ""), ct, nil, ErrBadMAC},
		{"ext", testCreds, &reqArt, setAttr(header, "ext", "other"), ct, nil, ErrBadMAC},
		{"mac", testCreds, &reqArt, setAttr(header, "mac", reqArt.MAC), ct, nil, ErrBadMAC},
		{"other request", testCreds, &otherNonce, header, ct, nil, ErrBadMAC},
		{"key", otherKey, &reqArt, header, ct, nil, ErrBadMAC},
		{"request header as response", testCreds, &reqArt, `Hawk mac="` + reqArt.MAC + `"`, ct, nil, ErrBadMAC},
		{"missing", testCreds, &reqArt, "", ct, nil, ErrMissing},
		{"request attribute", testCreds, &reqArt, header + `, id="x"`, ct, nil, ErrMalformed},
		{"no mac", testCreds, &reqArt, `Hawk ext="x"`, ct, nil, ErrMalformed},
	}
	for _, c := range cases {
		ext, err := VerifyServerAuthorization(c.creds, c.art, c.header, c.ct, c.payload)
		if c.err == nil {
			if err != nil || ext != "resp-ext" {
				t.Errorf("%s: %q, %v", c.name, ext, err)
			}
		} else if !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
	}

	// Without payload (nil) there is no hash, and a client that checks the
	// payload refuses the answer.
	noHash, err := ServerAuthorization(res, "", nil, "")
	if err != nil || strings.Contains(noHash, "hash=") || strings.Contains(noHash, "ext=") {
		t.Fatalf("no payload: %s, %v", noHash, err)
	}
	if _, err := VerifyServerAuthorization(testCreds, &reqArt, noHash, "", nil); err != nil {
		t.Fatalf("no payload, not checked: %v", err)
	}
	if _, err := VerifyServerAuthorization(testCreds, &reqArt, noHash, "", []byte{}); !errors.Is(err, ErrBadHash) {
		t.Fatalf("no payload, checked: %v", err)
	}

	for _, ext := range []string{`a"b`, `a\b`, "a\nb", "é"} {
		if h, err := ServerAuthorization(res, ct, []byte(body), ext); err == nil {
			t.Errorf("ext %q: %s", ext, h)
		}
	}
	if _, err := ServerAuthorization(nil, ct, nil, ""); err == nil {
		t.Error("nil result accepted")
	}
}
