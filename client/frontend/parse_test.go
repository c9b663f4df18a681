package frontend

import (
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// loadCases reads a JSON array of test cases from testdata.
func loadCases[T any](t testing.TB, name string) []T {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var cases []T
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(cases) == 0 {
		t.Fatalf("%s: no cases", name)
	}
	return cases
}

type bearerCase struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	OK    bool   `json:"ok"`
	UID   int64  `json:"uid"`
	Rol   string `json:"rol"`
}

// TestParseBearer: the accepted encodings of a key's claims and the
// refused shapes (testdata/bearer.json).
func TestParseBearer(t *testing.T) {
	t.Parallel()
	for _, c := range loadCases[bearerCase](t, "bearer.json") {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			k, err := ParseBearer(c.Value)
			if (err == nil) != c.OK {
				t.Fatalf("ParseBearer: err = %v, want ok = %v", err, c.OK)
			}
			if c.OK && (k.UserID != c.UID || k.Role != c.Rol || k.Claims["tkn"] == "") {
				t.Fatalf("got %+v, want uid %d rol %q", k, c.UID, c.Rol)
			}
		})
	}
}

// FuzzParseBearer: any header value is either refused or yields claims
// with an integer uid and non-empty rol and tkn, and the same claims come
// back from the other encoding.
func FuzzParseBearer(f *testing.F) {
	for _, c := range loadCases[bearerCase](f, "bearer.json") {
		f.Add(c.Value)
	}
	f.Fuzz(func(t *testing.T, v string) {
		k, err := ParseBearer(v)
		if err != nil {
			return
		}
		if k.Role != k.Claims["rol"] || k.Role == "" || k.Claims["tkn"] == "" {
			t.Fatalf("inconsistent key %+v", k)
		}
		if n, ok := k.Claims["uid"].(json.Number); !ok || n.String() == "" {
			t.Fatalf("uid %v", k.Claims["uid"])
		}
		raw, err := json.Marshal(k.Claims)
		if err != nil {
			t.Fatal(err)
		}
		for _, again := range []string{string(raw), base64.RawURLEncoding.EncodeToString(raw)} {
			if len(again) > maxBearer {
				continue
			}
			k2, err := ParseBearer(again)
			if err != nil || k2.UserID != k.UserID || k2.Role != k.Role {
				t.Fatalf("re-encoded %q: %+v, %v", again, k2, err)
			}
		}
	})
}

type clientIPCase struct {
	Name    string   `json:"name"`
	Remote  string   `json:"remote"`
	Header  string   `json:"header"`
	Trusted []string `json:"trusted"`
	Values  []string `json:"values"`
	Want    string   `json:"want"`
}

// TestClientIP: which address is the end user's (testdata/clientip.json).
func TestClientIP(t *testing.T) {
	t.Parallel()
	for _, c := range loadCases[clientIPCase](t, "clientip.json") {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			opts := Options{ProxyHeader: c.Header}
			for _, p := range c.Trusted {
				opts.TrustedProxies = append(opts.TrustedProxies, netip.MustParsePrefix(p))
			}
			m := &Middleware{opts: opts.withDefaults()}
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.Remote
			name := c.Header
			if name == "" {
				name = "X-Forwarded-For"
			}
			for _, v := range c.Values {
				r.Header.Add(name, v)
			}
			if got := m.clientIP(r); got != c.Want {
				t.Fatalf("clientIP = %q, want %q", got, c.Want)
			}
		})
	}
}

// TestPlausibleToken: cookie values that cannot be tokens never reach
// authnzrv.
func TestPlausibleToken(t *testing.T) {
	t.Parallel()
	long := make([]byte, 513)
	for i := range long {
		long[i] = 'a'
	}
	for v, want := range map[string]bool{
		"Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg": true,
		"a-_Z09":           true,
		"":                 false,
		"a b":              false,
		"a=":               false,
		"a/b":              false,
		"ä":                false,
		string(long[:512]): true,
		string(long):       false,
		"tok\x00en":        false,
	} {
		if got := plausibleToken(v); got != want {
			t.Errorf("plausibleToken(%q) = %v, want %v", v, got, want)
		}
	}
}

// TestTruncateRunes: user agents are cut at a character boundary.
func TestTruncateRunes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"}, {"abc", 3, "abc"}, {"abcd", 3, "abc"}, {"ääää", 2, "ää"}, {"", 1, ""},
	} {
		if got := truncateRunes(c.in, c.n); got != c.want {
			t.Errorf("truncateRunes(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
