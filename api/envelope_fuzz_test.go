package api

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeEnvelope: no decrypted plaintext can make the envelope decoder
// or the typed argument decoder of any request type panic, and decoding is
// deterministic.
func FuzzDecodeEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"request": "session-new", "body": {"ip_address": "1.2.3.4", "user_agent": "x", "user_id": null, "expires": "2030-01-01T00:00:00.1", "extra_info_json": {}}, "reqid": 1, "client_ipaddr": "1.2.3.4"}`,
		`{"request": "user-login", "body": {"email": 1e400, "password": [1, {"a": null}]}, "reqid": "x"}`,
		`{}`, `[]`, `null`, `0`, `""`, `[1,2]`, `{"reqid": null}`, `{"request": 5, "body": "s", "reqid": {"a": 1}}`,
		`{"request": "x", "request": "y", "reqid": 1}`, `{"a": 1} trailing`, `{"body": {"user_id": true, "n": -0.0e-5}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, plaintext []byte) {
		env, err := DecodeEnvelope(plaintext)
		if err != nil {
			return
		}
		if env.ReqID != nil && !json.Valid(env.ReqID) {
			t.Fatalf("reqid %q is not valid JSON", env.ReqID)
		}
		if env.BodyIsObject {
			idx, err := requestIndex()
			if err != nil {
				t.Fatal(err)
			}
			for name, rt := range idx {
				v, problems := rt.spec.decode(env.Body)
				if len(problems) > 0 {
					continue
				}
				// What decodes satisfies its own bounds when decoded again.
				if _, again := rt.spec.decode(env.Body); len(again) > 0 {
					t.Fatalf("%s: decoded once, refused the second time: %v", name, again)
				}
				_ = v.Interface()
			}
		}
	})
}

// FuzzParseExpires: session-new's date parser never panics and only accepts
// what it can print back.
func FuzzParseExpires(f *testing.F) {
	for _, s := range []string{"2030-01-01T00:00:00.000001", "2030-1-2T3:4:5.6Z", "2030-02-30T00:00:00.1", "", "Z", "9999-12-31T23:59:61.999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := parseExpires(s)
		if err != nil {
			return
		}
		if _, err := parseExpires(tm.Format("2006-01-02T15:04:05.000000")); err != nil {
			t.Fatalf("%q parsed to %v which does not parse back: %v", s, tm, err)
		}
	})
}

// FuzzCanonicalIP: the address canonicaliser never panics and is idempotent.
func FuzzCanonicalIP(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "::FFFF:1.2.3.4", "2001:DB8::1", "fe80::1%eth0", "::ffff:1.2.3.4%z", "01.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := canonicalIP(s)
		if err != nil {
			return
		}
		c2, err := canonicalIP(c)
		if err != nil || c2 != c {
			t.Fatalf("%q → %q → %q (%v)", s, c, c2, err)
		}
	})
}
