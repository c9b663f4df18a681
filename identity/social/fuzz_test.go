package social

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// seedFromCases adds the bodies of the cases files' API answers for path.
func seedFromCases(f *testing.F, file, path string) {
	raw, err := os.ReadFile(filepath.Join("../../testdata/social", file))
	if err != nil {
		f.Fatal(err)
	}
	var cases []oauthCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		f.Fatal(err)
	}
	for _, c := range cases {
		if r, ok := c.Responses[path]; ok {
			if r.BodyText != nil {
				f.Add([]byte(*r.BodyText))
			} else {
				f.Add([]byte(r.Body))
			}
		}
	}
}

// FuzzParse feeds arbitrary providers files to Parse: it must not panic,
// and what it accepts must be well formed.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(parseDir, "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		reg, err := Parse(data, parseDir)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "social: ") {
				t.Errorf("error without the package prefix: %q", err)
			}
			return
		}
		for _, name := range reg.Names() {
			p, err := reg.Get(name)
			if err != nil {
				t.Fatal(err)
			}
			r := report(t, p)
			if !providerName.MatchString(name) || r.ClientID == "" || strings.TrimSpace(r.ClientSecret) == "" ||
				r.RedirectURL == "" || len(r.Scopes) == 0 || r.DisplayName == "" {
				t.Errorf("accepted an incomplete provider %q: %+v", name, r)
			}
			if err := checkURL("redirect_url", r.RedirectURL, true); err != nil {
				t.Errorf("accepted provider %q with %v", name, err)
			}
		}
	})
}

// FuzzParseGitHubUser: GET /user bodies; an accepted one has a positive
// decimal subject and a login.
func FuzzParseGitHubUser(f *testing.F) {
	seedFromCases(f, "github_cases.json", "/user")
	f.Add([]byte(`{"id": 1e3, "login": "x"}`))
	f.Add([]byte(`{"id": -1, "login": "x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		u, err := parseGitHubUser(body)
		if err != nil {
			return
		}
		if id, err := strconv.ParseInt(u.Subject, 10, 64); err != nil || id <= 0 || strconv.FormatInt(id, 10) != u.Subject {
			t.Errorf("subject %q is not a positive decimal id", u.Subject)
		}
		if u.Login == "" {
			t.Error("accepted a user without login")
		}
	})
}

// FuzzParseGitHubEmails: GET /user/emails bodies; a verified address is
// never empty.
func FuzzParseGitHubEmails(f *testing.F) {
	seedFromCases(f, "github_cases.json", "/user/emails")
	f.Fuzz(func(t *testing.T, body []byte) {
		email, verified, err := parseGitHubEmails(body)
		if err != nil {
			return
		}
		if verified && email == "" {
			t.Error("verified but empty e-mail address")
		}
	})
}

// FuzzParseXUser: GET /2/users/me bodies; an accepted one has a subject
// and never an e-mail address.
func FuzzParseXUser(f *testing.F) {
	seedFromCases(f, "x_cases.json", "/2/users/me")
	f.Fuzz(func(t *testing.T, body []byte) {
		id, err := parseXUser(body)
		if err != nil {
			return
		}
		if id.Subject == "" || id.Email != "" || id.EmailVerified {
			t.Errorf("accepted %+v", id)
		}
	})
}

// FuzzParseOIDCClaims: ID token claim payloads (after go-oidc verified
// them); email_verified is true only for true or "true".
func FuzzParseOIDCClaims(f *testing.F) {
	f.Add([]byte(`{"sub":"1","email":"a@example.org","email_verified":true,"name":"A","preferred_username":"a"}`))
	f.Add([]byte(`{"email_verified":"true"}`))
	f.Add([]byte(`{"email_verified":"false","azp":"client"}`))
	f.Add([]byte(`{"email_verified":1}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := parseOIDCClaims(payload)
		if err != nil || !c.EmailVerified {
			return
		}
		var raw struct {
			EmailVerified json.RawMessage `json:"email_verified"`
		}
		if json.Unmarshal(payload, &raw) != nil {
			t.Fatal("parseOIDCClaims accepted what encoding/json refuses")
		}
		if v := strings.TrimSpace(string(raw.EmailVerified)); v != "true" && v != `"true"` {
			t.Errorf("email_verified %s read as true", v)
		}
	})
}
