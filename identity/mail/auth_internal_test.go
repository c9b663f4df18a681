package mail

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

type mechCase struct {
	Offered   string `json:"offered"`
	Encrypted bool   `json:"encrypted"`
	Cleartext bool   `json:"cleartext"`
	Mech      string `json:"mech"`
	Note      string `json:"note"`
}

var noteNames = map[string]Note{
	"":                    NoteNone,
	"cleartext-refused":   NoteCleartextRefused,
	"no-common-mechanism": NoteNoCommonMechanism,
}

func loadMechCases(t testing.TB) []mechCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "mail", "mechanisms.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []mechCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	return cases
}

func TestPickMechanism(t *testing.T) {
	t.Parallel()
	for _, tc := range loadMechCases(t) {
		mech, note := pickMechanism(tc.Offered, tc.Encrypted, tc.Cleartext)
		want, ok := noteNames[tc.Note]
		if !ok {
			t.Fatalf("unknown note %q", tc.Note)
		}
		if mech != tc.Mech || note != want {
			t.Errorf("pickMechanism(%q, encrypted=%v, cleartext=%v) = %q, %q; want %q, %q",
				tc.Offered, tc.Encrypted, tc.Cleartext, mech, note, tc.Mech, want)
		}
	}
}

// FuzzPickMechanism checks, for any AUTH parameters a server may send,
// that the mechanism chosen was offered, and that PLAIN and LOGIN are never
// chosen without TLS unless cleartext was allowed.
func FuzzPickMechanism(f *testing.F) {
	for _, tc := range loadMechCases(f) {
		f.Add(tc.Offered, tc.Encrypted, tc.Cleartext)
	}
	f.Fuzz(func(t *testing.T, offered string, encrypted, cleartext bool) {
		mech, note := pickMechanism(offered, encrypted, cleartext)
		if mech == "" {
			if note != NoteCleartextRefused && note != NoteNoCommonMechanism {
				t.Fatalf("no mechanism and note %q", note)
			}
			return
		}
		if note != NoteNone {
			t.Fatalf("mechanism %q with note %q", mech, note)
		}
		found := false
		for _, m := range strings.Fields(offered) {
			found = found || strings.EqualFold(m, mech)
		}
		if !found {
			t.Fatalf("chose %q, not offered in %q", mech, offered)
		}
		if !encrypted && !cleartext && mech != mechCRAMMD5 {
			t.Fatalf("chose %q without TLS", mech)
		}
	})
}

func TestRedact(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"550 5.1.1 <someone@example.org>: Recipient address rejected", "550 5.1.1 [address] Recipient address rejected"},
		{"x509: certificate signed by unknown authority", "x509: certificate signed by unknown authority"},
		{"two\r\nlines\x00here", "two lines here"},
		{"a@b c@d", "[address] [address]"},
		{"", ""},
	} {
		if got := redact(tc.in); got != tc.want {
			t.Errorf("redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzRedact checks that no '@' and no control character survives, so any
// server reply can be put in a one-line log entry without an address.
func FuzzRedact(f *testing.F) {
	f.Add("550 5.1.1 <someone@example.org>: Recipient address rejected")
	f.Add("535 5.7.8 Authentication credentials invalid\r\n")
	f.Add("\x00@\x7f")
	f.Fuzz(func(t *testing.T, s string) {
		got := redact(s)
		if strings.ContainsRune(got, '@') {
			t.Fatalf("redact(%q) = %q keeps an @", s, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) {
				t.Fatalf("redact(%q) = %q keeps control %U", s, got, r)
			}
		}
	})
}

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	cause := errors.New("550 5.1.1 <someone@example.org>: unknown")
	e := &Error{Kind: ErrRejected, Server: "relay:25", Step: "RCPT TO", Code: 550, Note: NoteNoCredentials, Err: cause}
	want := "mail: SMTP relay:25, RCPT TO: the SMTP server refused the mail: 550 5.1.1 [address] unknown [" + string(NoteNoCredentials) + "]"
	if e.Error() != want {
		t.Errorf("Error() = %q\nwant      %q", e.Error(), want)
	}
	if !errors.Is(e, ErrRejected) || !errors.Is(e, cause) || errors.Is(e, ErrProtocol) {
		t.Errorf("errors.Is does not see the kind and the cause only")
	}
	bare := &Error{Kind: ErrNoSTARTTLS, Server: "relay:25", Step: "EHLO"}
	if got := bare.Error(); got != "mail: SMTP relay:25, EHLO: "+ErrNoSTARTTLS.Error() {
		t.Errorf("Error() = %q", got)
	}
}
