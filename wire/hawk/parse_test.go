package hawk

import (
	"errors"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestParseAuthorization covers what ParseAuthorization adds to the
// attribute grammar (which TestParseVectors compares with @hapi/hawk).
func TestParseAuthorization(t *testing.T) {
	t.Parallel()
	full := `Hawk id="dh37fgj492je", ts="1353832234", nonce="j4h3g2", hash="h=", ext="some ext", mac="m=", app="a", dlg="d"`
	cases := []struct {
		name   string
		header string
		want   *Artifacts
		err    error
	}{
		{"all attributes", full, &Artifacts{ID: "dh37fgj492je", TS: 1353832234, Nonce: "j4h3g2", Hash: "h=", Ext: "some ext", MAC: "m=", App: "a", Dlg: "d"}, nil},
		{"required only", `Hawk id="i", ts="0", nonce="n", mac="m"`, &Artifacts{ID: "i", TS: 0, Nonce: "n", MAC: "m"}, nil},
		{"largest ts", `Hawk id="i", ts="999999999999999999", nonce="n", mac="m"`, &Artifacts{ID: "i", TS: 999999999999999999, Nonce: "n", MAC: "m"}, nil},
		{"empty", "", nil, ErrMissing},
		{"other scheme", `Basic YWxhZGRpbjpvcGVuc2VzYW1l`, nil, ErrMissing},
		{"no id", `Hawk ts="1", nonce="n", mac="m"`, nil, ErrMalformed},
		{"no ts", `Hawk id="i", nonce="n", mac="m"`, nil, ErrMalformed},
		{"no nonce", `Hawk id="i", ts="1", mac="m"`, nil, ErrMalformed},
		{"no mac", `Hawk id="i", ts="1", nonce="n"`, nil, ErrMalformed},
		{"ts with fraction", `Hawk id="i", ts="1353832234.5", nonce="n", mac="m"`, nil, ErrMalformed},
		{"ts negative", `Hawk id="i", ts="-1", nonce="n", mac="m"`, nil, ErrMalformed},
		{"ts with plus", `Hawk id="i", ts="+1", nonce="n", mac="m"`, nil, ErrMalformed},
		{"ts leading zero", `Hawk id="i", ts="01353832234", nonce="n", mac="m"`, nil, ErrMalformed},
		{"ts with space", `Hawk id="i", ts=" 1", nonce="n", mac="m"`, nil, ErrMalformed},
		{"ts too long", `Hawk id="i", ts="1000000000000000000", nonce="n", mac="m"`, nil, ErrMalformed},
		{"ts in hex", `Hawk id="i", ts="0x10", nonce="n", mac="m"`, nil, ErrMalformed},
		{"dlg without app", `Hawk id="i", ts="1", nonce="n", mac="m", dlg="d"`, nil, ErrMalformed},
		{"server attribute", `Hawk id="i", ts="1", nonce="n", mac="m", tsm="x"`, nil, ErrMalformed},
		{"too long", `Hawk id="i", ts="1", nonce="n", mac="m", ext="` + strings.Repeat("e", MaxHeaderLength) + `"`, nil, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseAuthorization(c.header)
			if c.err != nil {
				if !errors.Is(err, c.err) || got != nil {
					t.Fatalf("got %+v, %v; want %v", got, err, c.err)
				}
				return
			}
			if err != nil || *got != *c.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

// The grammar of @hapi/hawk's parseAuthorizationHeader, as its regular
// expressions, with white space narrowed to space and tab as this package
// does, and "." matching line breaks too (so a header of another scheme is
// ErrMissing whatever follows the scheme, where @hapi/hawk refuses one with
// a line break as malformed). The fuzz target checks the hand-written parser
// against it.
var (
	hapiAuthHeader = regexp.MustCompile(`(?s)^(\w+)(?:[ \t]+(.*))?$`)
	hapiAttribute  = regexp.MustCompile(`(\w+)="([^"\\]*)"[ \t]*(?:,[ \t]*|$)`)
	hapiValue      = regexp.MustCompile("^[ \\w!#$%&'()*+,\\-./:;<=>?@\\[\\]^`{|}~]+$")
)

// hapiParse is @hapi/hawk's algorithm on the regular expressions above: nil
// and the error class on failure.
func hapiParse(header string, keys []string) (map[string]string, error) {
	if header == "" {
		return nil, ErrMissing
	}
	if len(header) > MaxHeaderLength {
		return nil, ErrMalformed
	}
	m := hapiAuthHeader.FindStringSubmatch(header)
	if m == nil {
		return nil, ErrMalformed
	}
	if strings.ToLower(m[1]) != "hawk" {
		return nil, ErrMissing
	}
	rest := m[2]
	if rest == "" {
		return nil, ErrMalformed
	}
	attrs := map[string]string{}
	end := 0
	for _, loc := range hapiAttribute.FindAllStringSubmatchIndex(rest, -1) {
		if loc[0] != end { // text no attribute matched
			return nil, ErrMalformed
		}
		end = loc[1]
		name, value := rest[loc[2]:loc[3]], rest[loc[4]:loc[5]]
		_, dup := attrs[name]
		switch {
		case !slices.Contains(keys, name), !hapiValue.MatchString(value), dup:
			return nil, ErrMalformed
		}
		attrs[name] = value
	}
	if end != len(rest) {
		return nil, ErrMalformed
	}
	return attrs, nil
}

// TestParseOracle checks the regular-expression form of @hapi/hawk's
// parser against node's own results, so that the fuzz target compares with
// something trustworthy.
func TestParseOracle(t *testing.T) {
	t.Parallel()
	var nv nodeVectors
	loadJSON(t, "vectors.json", &nv)
	for _, v := range nv.Parse {
		got, err := hapiParse(v.Header, authorizationKeys)
		switch {
		case v.Attributes != nil && v.Stricter == "":
			if err != nil || !maps.Equal(got, v.Attributes) {
				t.Errorf("%q: oracle %v, %v; node %v", v.Header, got, err, v.Attributes)
			}
		case v.Missing:
			if !errors.Is(err, ErrMissing) {
				t.Errorf("%q: oracle %v, %v; node refuses as missing", v.Header, got, err)
			}
		default:
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%q: oracle %v, %v; want malformed (node: %s, stricter: %s)", v.Header, got, err, v.Error, v.Stricter)
			}
		}
	}
}

// formatAuthorization writes artifacts back as an Authorization header.
func formatAuthorization(a *Artifacts) string {
	h := `Hawk id="` + a.ID + `", ts="` + strconv.FormatInt(a.TS, 10) + `", nonce="` + a.Nonce + `", mac="` + a.MAC + `"`
	for _, kv := range [][2]string{{"hash", a.Hash}, {"ext", a.Ext}, {"app", a.App}, {"dlg", a.Dlg}} {
		if kv[1] != "" {
			h += `, ` + kv[0] + `="` + kv[1] + `"`
		}
	}
	return h
}

// FuzzParseAuthorization: the parsers never panic, fail only with
// ErrMissing or ErrMalformed, agree with @hapi/hawk's grammar (hapiParse),
// and what ParseAuthorization accepts it reads back identically once
// written out again.
func FuzzParseAuthorization(f *testing.F) {
	var nv nodeVectors
	loadJSON(f, "vectors.json", &nv)
	for _, v := range nv.Parse {
		f.Add(v.Header)
	}
	for _, v := range nv.Requests {
		f.Add(v.Header)
	}
	f.Add(`Hawk id="i", ts="1", nonce="n", mac="m", app="a", dlg="d"`)
	f.Add(`Hawk id="i", ts="01", nonce="n", mac="m"`)
	f.Fuzz(func(t *testing.T, header string) {
		attrs, err := parseHeader(header, authorizationKeys)
		want, wantErr := hapiParse(header, authorizationKeys)
		if (err == nil) != (wantErr == nil) || (err != nil && !errors.Is(err, wantErr)) || !maps.Equal(attrs, want) {
			t.Fatalf("%q: parseHeader %v, %v; @hapi/hawk grammar %v, %v", header, attrs, err, want, wantErr)
		}

		a, err := ParseAuthorization(header)
		if err != nil {
			if !errors.Is(err, ErrMissing) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("%q: error %v is neither ErrMissing nor ErrMalformed", header, err)
			}
			if a != nil {
				t.Fatalf("%q: artifacts with an error", header)
			}
			return
		}
		if a.ID == "" || a.Nonce == "" || a.MAC == "" || a.TS < 0 || (a.Dlg != "" && a.App == "") {
			t.Fatalf("%q: accepted incomplete artifacts %+v", header, a)
		}
		again, err := ParseAuthorization(formatAuthorization(a))
		if err != nil || *again != *a {
			t.Fatalf("%q: written out and parsed again: %+v, %v; want %+v", header, again, err, a)
		}
	})
}
