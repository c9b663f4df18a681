package hawk

import (
	"errors"
	"testing"
	"time"
)

// TestSignRefuses: Sign never writes a header Hawk cannot parse or verify.
func TestSignRefuses(t *testing.T) {
	t.Parallel()
	withID := func(id string) Credentials { c := testCreds; c.ID = id; return c }
	noKey := testCreds
	noKey.Key = nil
	badAlg := testCreds
	badAlg.Algorithm = "SHA256"
	const u = "https://example.com/x"
	cases := []struct {
		name   string
		creds  Credentials
		method string
		url    string
		opts   SignOptions
	}{
		{"empty id", withID(""), "GET", u, SignOptions{}},
		{"id with quote", withID(`a"b`), "GET", u, SignOptions{}},
		{"no key", noKey, "GET", u, SignOptions{}},
		{"algorithm spelled otherwise", badAlg, "GET", u, SignOptions{}},
		{"no method", testCreds, "", u, SignOptions{}},
		{"bad URL", testCreds, "GET", "http://[::1", SignOptions{}},
		{"no host", testCreds, "GET", "/relative", SignOptions{}},
		{"bad port", testCreds, "GET", "http://example.com:http/", SignOptions{}},
		{"negative ts", testCreds, "GET", u, SignOptions{TS: -1}},
		{"ext with quote", testCreds, "GET", u, SignOptions{Ext: `say "hi"`}},
		{"ext with backslash", testCreds, "GET", u, SignOptions{Ext: `a\b`}},
		{"ext with line break", testCreds, "GET", u, SignOptions{Ext: "a\nb"}},
		{"nonce not ASCII", testCreds, "GET", u, SignOptions{Nonce: "nönce"}},
		{"app with quote", testCreds, "GET", u, SignOptions{App: `"`}},
		{"dlg without app", testCreds, "GET", u, SignOptions{Dlg: "d"}},
	}
	for _, c := range cases {
		if h, _, err := Sign(c.creds, c.method, c.url, c.opts); err == nil {
			t.Errorf("%s: signed %s", c.name, h)
		}
	}
}

// TestSignDefaults: a zero TS is the current time, an empty nonce a fresh
// random one, and the port follows the scheme.
func TestSignDefaults(t *testing.T) {
	t.Parallel()
	before := time.Now().Unix()
	h1, a1, err := Sign(testCreds, "GET", "https://example.com/x", SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now().Unix()
	if a1.TS < before || a1.TS > after {
		t.Errorf("ts %d not in [%d, %d]", a1.TS, before, after)
	}
	_, a2, err := Sign(testCreds, "GET", "http://example.com/x", SignOptions{TS: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(a1.Nonce) < 8 || a1.Nonce == a2.Nonce {
		t.Errorf("nonces %q and %q", a1.Nonce, a2.Nonce)
	}
	if a1.Port != 443 || a2.Port != 80 {
		t.Errorf("ports %d, %d; want 443, 80", a1.Port, a2.Port)
	}
	p, err := ParseAuthorization(h1)
	if err != nil || p.Nonce != a1.Nonce || p.TS != a1.TS || p.MAC != a1.MAC || p.Hash != "" {
		t.Errorf("parsed %+v, %v; signed %+v", p, err, a1)
	}
}

// TestVerifyWWWAuthenticate covers challenges without a server time and
// malformed ones.
func TestVerifyWWWAuthenticate(t *testing.T) {
	t.Parallel()
	tsm, _ := TimestampMAC(testCreds, 1700000000)
	cases := []struct {
		header string
		want   Challenge
		err    error
	}{
		{`Hawk ts="1700000000", tsm="` + tsm + `", error="Stale timestamp"`, Challenge{ServerTime: 1700000000, Error: "Stale timestamp"}, nil},
		{`Hawk error="Bad mac"`, Challenge{Error: "Bad mac"}, nil},
		{`Hawk ts="1700000001", tsm="` + tsm + `", error="Stale timestamp"`, Challenge{}, ErrBadMAC},
		{`Hawk ts="1700000000", error="Stale timestamp"`, Challenge{}, ErrBadMAC},
		{`Hawk ts="17e8", tsm="` + tsm + `"`, Challenge{}, ErrMalformed},
		{`Hawk id="x"`, Challenge{}, ErrMalformed},
		{``, Challenge{}, ErrMissing},
	}
	for _, c := range cases {
		got, err := VerifyWWWAuthenticate(testCreds, c.header)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s: %+v, %v; want %v", c.header, got, err, c.err)
			}
			continue
		}
		if err != nil || *got != c.want {
			t.Errorf("%s: %+v, %v; want %+v", c.header, got, err, c.want)
		}
	}
}
