package api

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestBergsonCanonical: the canonical parameter string the Hawk payload hash
// covers, as the source's __req_params_mohawk_str_get__ and Python 2's str()
// build it (the first case is tests.py's
// test_mohawk__req_params_mohawk_str_get__).
func TestBergsonCanonical(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, method, ct, query, body string
		want                          string
		fails                         bool
	}{
		{"source's case", "POST", ctJSON, "", `{"t": 999, "a": 123, "z": 555, "b": 777}`, "a=123&b=777&t=999&z=555", false},
		{"sorted JSON strings", "PUT", ctJSON, "", `{"username": "johndoe", "password": "secret1"}`, "password=secret1&username=johndoe", false},
		{"JSON scalars", "POST", ctJSON, "", `{"a": true, "b": false, "c": null, "d": -0, "e": 12345678901234567890}`,
			"a=True&b=False&c=None&d=0&e=12345678901234567890", false},
		{"non-ASCII JSON string", "POST", ctJSON, "", `{"password": "000\u00e6"}`, "", true},
		{"JSON float", "POST", ctJSON, "", `{"n": 1.5}`, "", true},
		{"JSON array", "POST", ctJSON, "", `{"n": ["a"]}`, "", true},
		{"JSON not an object", "POST", ctJSON, "", `"johndoe"`, "", true},
		{"invalid JSON: no parameters", "POST", ctJSON, "", `{"a": `, "", false},
		{"JSON on GET: no parameters", "GET", ctJSON, "", `{"a": "b"}`, "", false},
		{"query", "GET", ctText, "username=john+doe&x=%41%zz&y=", "", "username=john doe&x=A%zz", false},
		{"query with ';' and no '='", "GET", ctText, "b=2;a=1&c", "", "a=1&b=2", false},
		{"repeated query name", "GET", ctText, "u=a&u=b'&u=c\"d", "", `u=['a', "b'", 'c"d']`, false},
		{"repeated name with both quotes and bytes", "GET", ctText, "u=%27%22&u=%00%FF%5C", "", `u=['\'"', '\x00\xff\\']`, false},
		{"form keeps blanks and ignores the query", "POST", ctForm, "q=1", "b=&a=x", "a=x&b=", false},
		{"form bytes stay bytes", "PUT", ctForm, "", "p=%C3%A6", "p=\xc3\xa6", false},
		{"other content type: no parameters", "POST", "application/json; charset=utf-8", "", `{"a": "b"}`, "", false},
	} {
		p := parseBergsonParams(c.method, c.ct, c.query, []byte(c.body))
		got, err := p.canonical()
		if (err != nil) != c.fails || got != c.want {
			t.Errorf("%s: canonical = %q, %v; want %q (fails %v)", c.name, got, err, c.want, c.fails)
		}
	}
}

func TestBergsonRules(t *testing.T) {
	t.Parallel()
	// tests.py's TestReqInput.
	for u, ok := range map[string]bool{
		"johndoe": true, "john": true, "john5000": true, "john9810": true,
		"joe": false, "1joe": false, "1joe50": false, "johnZ": false, "johnZAL": false, "johnð": false, "johnæ": false,
		"johnú1500": false, "john\n": false, "joh5": false, strings.Repeat("a", 128): true, strings.Repeat("a", 129): false,
	} {
		if validBergsonUsername(u) != ok {
			t.Errorf("username %q: %v", u, !ok)
		}
	}
	for p, ok := range map[string]bool{
		"YaQ903ENr": true, "YaQ903ENr93838a": true, "YaQ903ENr|": true, "YaQ--903E#Nr!938(3)8a": true, "123456": true,
		"123": false, "123æ": false, "ðæ123a": false, "abc123\n": false, strings.Repeat("x", 100): true, strings.Repeat("x", 101): false,
	} {
		if validBergsonPassword(p) != ok {
			t.Errorf("password %q: %v", p, !ok)
		}
	}
}

// FuzzBergsonParams: request parameters are untrusted input; no method,
// content type, query or body may panic, and a canonical string built from
// a JSON body is valid UTF-8 (the source encodes it as UTF-8).
func FuzzBergsonParams(f *testing.F) {
	f.Add("POST", ctJSON, "", `{"username": "johndoe", "password": "secret1"}`)
	f.Add("GET", ctText, "username=john%20doe&u=1&u=2", "")
	f.Add("PUT", ctForm, "", "username=%C3%A6&password=+")
	f.Add("POST", ctJSON, "", `{"a": [1, {"b": null}], "c": 1e999}`)
	f.Fuzz(func(t *testing.T, method, ct, query, body string) {
		p := parseBergsonParams(method, ct, query, []byte(body))
		s, err := p.canonical()
		if err == nil && p.fromJSON && !utf8.ValidString(s) {
			t.Fatalf("canonical string of a JSON body is not UTF-8: %q", s)
		}
		_, _, _ = p.str("username")
	})
}
