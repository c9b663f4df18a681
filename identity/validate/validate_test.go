package validate_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/authnzrv/authnzrv/identity/validate"
)

func newValidator(t testing.TB, o validate.Options) *validate.Validator {
	t.Helper()
	if o.FQDN == "" {
		o.FQDN = "authnzrv.test"
	}
	v, err := validate.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if !v.HasSuffixList() && o.PublicSuffixFile == "" {
		t.Skipf("no public suffix list at %s (Debian package publicsuffix)", validate.DefaultSuffixFile)
	}
	return v
}

// TestSimilarity pins security.md §2.3's reference values (difflib ratio ×100).
func TestSimilarity(t *testing.T) {
	tests := []struct {
		a, b string
		want float64
	}{
		{"TestUser123", "Test User", 80.0},
		{"testuser", "testuser@test.org", 64.0},
		{"password", "Test User", 35.29},
		{"password", "testuser@test.org", 32.0},
		{"aROwQin9L8nNtPTEMLXd", "Test User", 13.79},
		{"passwordpassword123", "Test User", 21.43},
		{"", "", 100},
	}
	for _, tc := range tests {
		// The reference compares case-folded strings.
		if got := validate.Similarity(strings.ToLower(tc.a), strings.ToLower(tc.b)); math.Abs(got-tc.want) > 0.01 {
			t.Errorf("Similarity(%q, %q) = %.2f, want %.2f", tc.a, tc.b, got, tc.want)
		}
	}
}

const (
	msgShort    = "Your password is too short. It must have at least 12 characters."
	msgCommon   = "Your password is on the list of the most common passwords and is vulnerable to guessing."
	msgSimilar  = "Your password is too similar to either the domain name of this server or your own name or email address."
	msgFrequent = "Your password is not complex enough. One or more characters appear appear too frequently."
	msgDigits   = "Your password cannot be all numbers."
)

// TestPasswordPinned: security.md §2.4 with policy 12/33/0.3/25, name
// "Test User", e-mail "testuser@test.org".
func TestPasswordPinned(t *testing.T) {
	v := newValidator(t, validate.Options{})
	pol := validate.Policy{MinLength: 12, MaxUnsafeSimilarity: 33, MaxCharFrequency: 0.3, MinPwnedMatches: 25}
	tests := []struct {
		pw   string
		want []string
	}{
		{"password", []string{msgShort, msgCommon, msgSimilar}},
		{"passwordpassword123", nil},
		{"239420349823904802398402375025", []string{msgDigits}},
		{"testuser", []string{msgShort, msgSimilar}},
		{"TestUser123", []string{msgShort, msgSimilar}},
		{"aROwQin9L8nNtPTEMLXd", nil},
		{"²³¹²³¹²³¹⁴⁵⁶⁷⁸⁹⁰", []string{msgDigits}},
		{"aaaaaaaaaaaaabcdefgh", []string{msgFrequent}},
		{"  a1b2c3d4e5f6g7h8  ", nil},
		{"  a1b2   c3  ", []string{msgShort, msgFrequent}},
	}
	for _, tc := range tests {
		t.Run(tc.pw, func(t *testing.T) {
			ok, msgs := v.Password(context.Background(), tc.pw, "testuser@test.org", "Test User", pol)
			if ok != (len(tc.want) == 0) || strings.Join(msgs, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("ok=%v msgs=%q, want %q", ok, msgs, tc.want)
			}
		})
	}
}

func TestPwned(t *testing.T) {
	// SHA-1("passwordpassword123") = 790DE|D072...; the server answers with its
	// suffix and a count.
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		switch r.URL.Path {
		case "/range/B9C0F":
			http.Error(w, "boom", 500)
		default:
			fmt.Fprintf(w, "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\nnot a line\r\n%s:%d\r\n", suffixOf(r.URL.Path), 3000)
		}
	}))
	t.Cleanup(srv.Close)
	v := newValidator(t, validate.Options{PwnedCheck: true, PwnedURL: srv.URL + "/range/", PwnedNoJitter: true})
	pol := validate.DefaultPolicy()
	ok, msgs := v.Password(context.Background(), "passwordpassword123", "testuser@test.org", "Test User", pol)
	want := "Your password was found with 3000 matches in the database of recently compromised Web account passwords from https://haveibeenpwned.com/Passwords and is not secure."
	if ok || len(msgs) != 1 || msgs[0] != want {
		t.Fatalf("ok=%v msgs=%q", ok, msgs)
	}
	// Local failures skip the API.
	before := hits
	v.Password(context.Background(), "short", "", "", pol)
	if hits != before {
		t.Fatal("range API asked although local checks failed")
	}
	// An unreachable API passes (fails open).
	dead := newValidator(t, validate.Options{PwnedCheck: true, PwnedURL: "http://127.0.0.1:1/range/", PwnedNoJitter: true})
	if ok, msgs := dead.Password(context.Background(), "passwordpassword123", "a@b.c", "X", pol); !ok {
		t.Fatalf("unreachable API failed closed: %q", msgs)
	}
}

// suffixOf is filled by the test server: it cannot know the hash, so it
// answers with the suffix of "passwordpassword123" for every prefix.
func suffixOf(string) string { return "D072BD34C11328E0165BA583493E89EFAD7" }

func TestEmail(t *testing.T) {
	v := newValidator(t, validate.Options{})
	tests := []struct {
		email string
		ok    bool
	}{
		{"someone@example.org", true},
		{"someone@localhost", true},
		{"o\u2019brien@example.org", true},
		{"o'brien@example.org", false},
		{"admin@example.org", false},
		{"Admin@example.org", false}, // quirk #14 fixed
		{"a@b@c.org", false},
		{"nobody.at.all", false},
		{"x@0-mail.com", false},
		{"x@0-MAIL.com", false},
		{"x@sub.0-mail.com", true},
		{"nl@example.org\n", false}, // quirk #15 fixed
		{"x@-bad.org", false},
		{"x@bad-.org", false},
		{"x@exa_mple.org", false},
		{"ünï@example.org", false},
		{"@example.org", false},
	}
	for _, tc := range tests {
		if got := v.Email(tc.email); got != tc.ok {
			t.Errorf("Email(%q) = %v, want %v", tc.email, got, tc.ok)
		}
	}
}

func TestFullName(t *testing.T) {
	v := newValidator(t, validate.Options{})
	tests := []struct {
		name string
		err  error
	}{
		{"Test User", nil},
		{"Test User bIt.Ly/hahaspam", validate.ErrFullNameLink},
		{"Test User HttPs://BIT.lY/hahaspam", validate.ErrFullNameLink},
		{"J. R. R. Tolkien", nil},
		{"someone at example.co.uk", validate.ErrFullNameLink},
		{"ftp://x", validate.ErrFullNameLink},
		{"Ms. Smith", nil},
	}
	for _, tc := range tests {
		if err := v.FullName(context.Background(), validate.NormalizeFullName(tc.name)); err != tc.err {
			t.Errorf("FullName(%q) = %v, want %v", tc.name, err, tc.err)
		}
	}
	none, err := validate.New(validate.Options{PublicSuffixFile: "/nonexistent"})
	if err != nil {
		t.Fatal(err)
	}
	if err := none.FullName(context.Background(), "Test User"); err != validate.ErrNoSuffixList {
		t.Fatalf("without a list: %v", err)
	}
}

func TestNormalize(t *testing.T) {
	emails := map[string]string{
		"Some.One@Example.ORG": "some.one@example.org",
		"STRASSE@ÉXAMPLE.org":  "strasse@éxample.org",
		"Straße@x.org":         "strasse@x.org",
		"ｆｕｌｌｗｉｄｔｈ@x.org":      "fullwidth@x.org",
		"no-at-sign":           "no-at-sign",
	}
	for in, want := range emails {
		if got := validate.NormalizeEmail(in); got != want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", in, got, want)
		}
	}
	names := map[string]string{
		"  Test \t\n User  ":   "Test User",
		`<b>"O'Neil" & co</b>`: "&lt;b&gt;&quot;O&#39;Neil&quot; &amp; co&lt;/b&gt;",
		"a@b@c":                "a@b@c", // quirk #12 fixed: no crash
		"ﬁne":                  "fine",
	}
	for in, want := range names {
		if got := validate.NormalizeFullName(in); got != want {
			t.Errorf("NormalizeFullName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParsePolicy(t *testing.T) {
	good := map[string]validate.Policy{
		"": validate.DefaultPolicy(),
		"min_pass_length:12; max_unsafe_similarity:50; max_char_frequency:0.3; min_pwned_matches:25": validate.DefaultPolicy(),
		"a:8;b:40;c:0.5;d:10": {MinLength: 8, MaxUnsafeSimilarity: 40, MaxCharFrequency: 0.5, MinPwnedMatches: 10},
	}
	for in, want := range good {
		if got, err := validate.ParsePolicy(in); err != nil || got != want {
			t.Errorf("ParsePolicy(%q) = %+v, %v", in, got, err)
		}
	}
	bad := map[string]string{
		"min_pass_length:x; max_unsafe_similarity:50; max_char_frequency:0.3; min_pwned_matches:25":   "min_pass_length",
		"min_pass_length:12; max_unsafe_similarity:50; max_char_frequency:0.3":                        "four",
		"min_pass_length:12; max_unsafe_similarity:50; max_char_frequency:lots; min_pwned_matches:25": "max_char_frequency",
		"12; 50; 0.3; 25": "min_pass_length",
	}
	for in, want := range bad {
		if _, err := validate.ParsePolicy(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePolicy(%q) err %v, want it to name %q", in, err, want)
		}
	}
}

func FuzzNormalizeEmail(f *testing.F) {
	f.Add("Some.One@Example.ORG")
	f.Add("a@b@c")
	f.Fuzz(func(t *testing.T, s string) {
		n := validate.NormalizeEmail(s)
		if utf8.ValidString(s) && validate.NormalizeEmail(n) != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, validate.NormalizeEmail(n))
		}
		validate.NormalizeFullName(s)
	})
}

func FuzzPassword(f *testing.F) {
	v, err := validate.New(validate.Options{FQDN: "authnzrv.test"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("aROwQin9L8nNtPTEMLXd", "a@b.org", "Test User")
	f.Fuzz(func(t *testing.T, pw, email, name string) {
		ok, msgs := v.Password(context.Background(), pw, email, name, validate.DefaultPolicy())
		if ok != (len(msgs) == 0) {
			t.Fatalf("ok=%v with messages %q", ok, msgs)
		}
		v.Email(email)
		v.FullName(context.Background(), validate.NormalizeFullName(name))
	})
}
