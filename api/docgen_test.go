package api

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestGeneratedFilesCurrent: the committed client/requests_gen.go and
// docs/requests.md are what the table generates (run `go generate ./api`
// after changing the table or its documentation).
func TestGeneratedFilesCurrent(t *testing.T) {
	t.Parallel()
	cases := []struct {
		path string
		gen  func() ([]byte, error)
	}{
		{"../client/requests_gen.go", GenerateClient},
		{"../docs/requests.md", GenerateReference},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel()
			want, err := tc.gen()
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(tc.path)
			if err != nil {
				t.Fatalf("%v (run go generate ./api)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s is not what the request table generates; run go generate ./api (first difference: %s)", tc.path, firstDiff(got, want))
			}
		})
	}
}

// firstDiff describes the first line where two texts differ.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + itoa(i+1) + ": file has " + quote(gl) + ", table gives " + quote(wl)
		}
	}
	return "none"
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestTableDocsComplete: every request type is documented with what a
// success says, and every failure says when it happens.
func TestTableDocsComplete(t *testing.T) {
	t.Parallel()
	reqs, err := Requests()
	if err != nil {
		t.Fatal(err)
	}
	reference := 0
	for _, r := range reqs {
		if !r.Extension {
			reference++
		}
	}
	if reference != 38 {
		t.Fatalf("Requests() lists %d request types of the reference, want 38", reference)
	}
	for _, r := range reqs {
		if len(r.Success) == 0 {
			t.Errorf("%s: no success messages documented", r.Name)
		}
		if len(r.Effects) == 0 && !r.Lockout {
			t.Errorf("%s: no side effects documented (write \"None.\" with a reason when there are none)", r.Name)
		}
		keys := map[string]bool{}
		for _, k := range r.Returns {
			if keys[k.Name] || k.Description == "" {
				t.Errorf("%s: return key %q listed twice or undescribed", r.Name, k.Name)
			}
			keys[k.Name] = true
		}
		for _, f := range r.Failures {
			if f.When == "" || len(f.Messages) == 0 {
				t.Errorf("%s: failure %q lacks its messages or when it happens", r.Name, f.Reason)
			}
		}
		if r.Fault.Reason == "" {
			t.Errorf("%s: no server-fault answer", r.Name)
		}
	}
}

// maskedReasons are reasons the code of a handler contains but the request
// type never answers, with why.
var maskedReasons = map[string][]string{
	// revoke-all runs the verification and replaces its refusals with its
	// own ("provided API key is invalid, ...").
	"apikey-revokeall-nosession": {
		"originating user is not allowed to operate on this API key",
		"key validation failed, provided key does not match stored key or has expired",
	},
	// changePassword checks the session only for user-changepass.
	"user-changepass-nosession": {"invalid session for password change"},
}

// TestDocFailureReasonsMatchHandlers: the failure reasons documented for a
// request type are exactly the ones its handler's code can answer (the
// fail(...) calls of the handler and of the functions it calls), so that
// docs/requests.md names every reason a frontend may see and none it
// cannot.
func TestDocFailureReasonsMatchHandlers(t *testing.T) {
	t.Parallel()
	src, err := parseSource("*.go")
	if err != nil {
		t.Fatal(err)
	}
	reqs, err := Requests()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		got, err := src.reasons(r.Name)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		documented := map[string]bool{}
		for _, f := range r.Failures {
			if f.Reason != "" {
				documented[f.Reason] = true
			}
		}
		masked := maskedReasons[r.Name]
		for reason := range documented {
			if !got[reason] {
				t.Errorf("%s: documented failure_reason %q is not answered by its handler's code", r.Name, reason)
			}
		}
		for reason := range got {
			if !documented[reason] && !slices.Contains(masked, reason) {
				t.Errorf("%s: its handler answers failure_reason %q, which requestDocs does not document", r.Name, reason)
			}
		}
		for _, reason := range masked {
			if !got[reason] || documented[reason] {
				t.Errorf("%s: masked reason %q is stale (not in the code, or documented)", r.Name, reason)
			}
		}
	}
	if len(src.handlers) != len(reqs) {
		t.Errorf("the source has %d entry(...) calls, the table %d request types", len(src.handlers), len(reqs))
	}
}

// TestDocMessagesInSource: every documented message (success and failure)
// is one the code can send; described messages (<…>) are exempt.
func TestDocMessagesInSource(t *testing.T) {
	t.Parallel()
	src, err := parseSource("*.go")
	if err != nil {
		t.Fatal(err)
	}
	reqs, err := Requests()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		msgs := slices.Clone(r.Success)
		for _, f := range r.Failures {
			msgs = append(msgs, f.Messages...)
		}
		for _, m := range msgs {
			if strings.HasPrefix(m, "<") && strings.HasSuffix(m, ">") {
				continue
			}
			if !src.inSource(m) {
				t.Errorf("%s: documented message %q is not in the handlers' source", r.Name, m)
			}
		}
	}
}

// TestDocExtractor runs the reason extractor on testdata/docs/extract: each
// way of building a reason is found, per handler, and a reason it cannot
// follow is an error rather than a silent gap.
func TestDocExtractor(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../testdata/docs/extract/want.json")
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Reasons map[string][]string `json:"reasons"`
		Errors  map[string]string   `json:"errors"`
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	src, err := parseSource("../testdata/docs/extract/*.go")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(want.Reasons) + len(want.Errors); len(src.handlers) != n {
		t.Fatalf("found %d handlers in the fixture, want.json has %d", len(src.handlers), n)
	}
	for request, reasons := range want.Reasons {
		got, err := src.reasons(request)
		if err != nil {
			t.Errorf("%s: %v", request, err)
			continue
		}
		var list []string
		for r := range got {
			list = append(list, r)
		}
		slices.Sort(list)
		if !slices.Equal(list, reasons) {
			t.Errorf("%s: reasons %q, want %q", request, list, reasons)
		}
	}
	for request, msg := range want.Errors {
		_, err := src.reasons(request)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: error %v, want one containing %q", request, err, msg)
		}
	}
}

// TestDocMessageMatching: documented messages match literals, with the
// literal's fmt verbs standing for run-time parts.
func TestDocMessageMatching(t *testing.T) {
	t.Parallel()
	src := &apiSource{literals: []string{"Access granted: %s.", "Could not send email to %s for the request.", "plain text"}}
	cases := []struct {
		msg  string
		want bool
	}{
		{"Access granted: True.", true},
		{"Access granted: %s.", true},
		{"Could not send email to ['a@b.org'] for the request.", true},
		{"plain", true},
		{"Access denied: True.", false},
		{"Could not send email to x", false},
		{"plain text and more", false},
	}
	for _, tc := range cases {
		if got := src.inSource(tc.msg); got != tc.want {
			t.Errorf("inSource(%q) = %v, want %v", tc.msg, got, tc.want)
		}
	}
}

// TestDocGoNames: request and argument names become the Go names the
// client uses, and type specs the Go types of the brief's mapping.
func TestDocGoNames(t *testing.T) {
	t.Parallel()
	names := map[string]string{
		"session-new": "SessionNew", "session-delete-userid": "SessionDeleteUserID",
		"user-passcheck-nosession": "UserPassCheckNoSession", "apikey-revokeall-nosession": "APIKeyRevokeAllNoSession",
		"user-sendemail-forgotpass": "UserSendEmailForgotPass", "user-set-emailverified": "UserSetEmailVerified",
		"ip_address": "IPAddress", "extra_info_json": "ExtraInfoJSON", "target_userid": "TargetUserID",
		"server_baseurl": "ServerBaseURL", "apiversion": "APIVersion", "refresh_nbf": "RefreshNBF", "by": "By",
	}
	for in, want := range names {
		if got := goName(in); got != want {
			t.Errorf("goName(%q) = %q, want %q", in, got, want)
		}
	}
	types := []struct {
		spec []string
		want string
	}{
		{[]string{"str"}, "string"},
		{[]string{"int"}, "int64"},
		{[]string{"float", "int"}, "float64"},
		{[]string{"int", "float"}, "float64"},
		{[]string{"float"}, "Float"},
		{[]string{"dict"}, "map[string]any"},
		{[]string{"bool"}, "bool"},
		{[]string{"int", "None"}, "any"},
		{[]string{"Any"}, "any"},
		{[]string{"str", "int"}, "any"},
	}
	for _, tc := range types {
		if got := goType(tc.spec); got != tc.want {
			t.Errorf("goType(%v) = %q, want %q", tc.spec, got, tc.want)
		}
	}
}
