package social

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// parseDir holds the providers files of the parsing table; want.json maps
// each file to the expected error substring or the expected providers.
const parseDir = "../../testdata/social/parse"

// fixtureSecrets are the secret values used in the parse fixtures; no error
// message may contain them.
var fixtureSecrets = []string{"s3cr3t", "g00gle-file-secret", "pa55w0rd"}

type parseWant struct {
	Error     string                    `json:"error"`
	Providers map[string]providerReport `json:"providers"`
}

// providerReport is the observable configuration of a built provider.
type providerReport struct {
	Kind         string   `json:"kind"`
	DisplayName  string   `json:"display_name"`
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	RedirectURL  string   `json:"redirect_url"`
	Scopes       []string `json:"scopes"`
	Issuer       string   `json:"issuer,omitempty"`
	AuthURL      string   `json:"auth_url,omitempty"`
	TokenURL     string   `json:"token_url,omitempty"`
	JWKSURL      string   `json:"jwks_url,omitempty"`
	APIURL       string   `json:"api_url,omitempty"`
	Discovery    *bool    `json:"discovery,omitempty"`
}

func report(t *testing.T, p Provider) providerReport {
	t.Helper()
	switch p := p.(type) {
	case *oidcProvider:
		discovery := p.ready.Load() == nil
		return providerReport{Kind: KindOIDC, DisplayName: p.DisplayName(), ClientID: p.cfg.ClientID,
			ClientSecret: p.cfg.ClientSecret, RedirectURL: p.cfg.RedirectURL, Scopes: p.cfg.Scopes,
			Issuer: p.cfg.Issuer, AuthURL: p.cfg.AuthURL, TokenURL: p.cfg.TokenURL, JWKSURL: p.cfg.JWKSURL,
			Discovery: &discovery}
	case *githubProvider:
		return providerReport{Kind: KindGitHub, DisplayName: p.DisplayName(), ClientID: p.oauth.ClientID,
			ClientSecret: p.oauth.ClientSecret, RedirectURL: p.oauth.RedirectURL, Scopes: p.oauth.Scopes,
			AuthURL: p.oauth.Endpoint.AuthURL, TokenURL: p.oauth.Endpoint.TokenURL, APIURL: p.apiURL}
	case *xProvider:
		return providerReport{Kind: KindX, DisplayName: p.DisplayName(), ClientID: p.oauth.ClientID,
			ClientSecret: p.oauth.ClientSecret, RedirectURL: p.oauth.RedirectURL, Scopes: p.oauth.Scopes,
			AuthURL: p.oauth.Endpoint.AuthURL, TokenURL: p.oauth.Endpoint.TokenURL, APIURL: p.apiURL}
	}
	t.Fatalf("unexpected provider type %T", p)
	return providerReport{}
}

func TestLoadFile(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(parseDir, "want.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases map[string]parseWant
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatalf("want.json: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(parseDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(cases)+1 {
		t.Errorf("%d providers files but %d cases in want.json", len(files)-1, len(cases))
	}
	for file, want := range cases {
		t.Run(strings.TrimSuffix(file, ".json"), func(t *testing.T) {
			t.Parallel()
			reg, err := LoadFile(filepath.Join(parseDir, file))
			if want.Error != "" {
				if err == nil {
					t.Fatalf("LoadFile succeeded, want error containing %q", want.Error)
				}
				if !strings.Contains(err.Error(), want.Error) {
					t.Fatalf("error %q does not contain %q", err, want.Error)
				}
				for _, secret := range fixtureSecrets {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q reveals a secret", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadFile: %v", err)
			}
			got := map[string]providerReport{}
			for _, name := range reg.Names() {
				p, err := reg.Get(name)
				if err != nil {
					t.Fatalf("Get(%q): %v", name, err)
				}
				if p.Name() != name {
					t.Errorf("Get(%q).Name() = %q", name, p.Name())
				}
				got[name] = report(t, p)
			}
			if !reflect.DeepEqual(got, want.Providers) {
				gotJSON, _ := json.MarshalIndent(got, "", "  ")
				wantJSON, _ := json.MarshalIndent(want.Providers, "", "  ")
				t.Errorf("providers:\n got %s\nwant %s", gotJSON, wantJSON)
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, make([]byte, MaxProvidersFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"missing file", filepath.Join(dir, "none.json"), "no such file"},
		{"too large", big, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := LoadFile(tc.path); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadFile error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestParseSecretFileAbsolute checks that an absolute client_secret_file is
// read as is, not joined to baseDir, and read once at parse time.
func TestParseSecretFileAbsolute(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secretPath := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretPath, []byte("abs-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(map[string]any{"providers": map[string]any{"gh": map[string]any{
		"kind": "github", "client_id": "id", "client_secret_file": secretPath,
		"redirect_url": "https://app.example/cb",
	}}})
	reg, err := Parse(doc, "/nonexistent")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(secretPath); err != nil {
		t.Fatal(err)
	}
	p, err := reg.Get("gh")
	if err != nil {
		t.Fatal(err)
	}
	if got := report(t, p).ClientSecret; got != "abs-secret" {
		t.Errorf("secret = %q, want %q", got, "abs-secret")
	}
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	reg, err := LoadFile(filepath.Join(parseDir, "ok-example.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := reg.Names(), []string{"github", "google", "x"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	for _, name := range []string{"facebook", "", "GOOGLE", strings.Repeat("a", 500)} {
		_, err := reg.Get(name)
		if !errors.Is(err, ErrUnknownProvider) {
			t.Errorf("Get(%.20q) error = %v, want ErrUnknownProvider", name, err)
		}
		if _, err := reg.AuthCodeURL(t.Context(), name, "s", "n", "v"); !errors.Is(err, ErrUnknownProvider) {
			t.Errorf("AuthCodeURL(%.20q) error = %v, want ErrUnknownProvider", name, err)
		}
		if _, err := reg.Exchange(t.Context(), name, "c", "v", "n"); !errors.Is(err, ErrUnknownProvider) {
			t.Errorf("Exchange(%.20q) error = %v, want ErrUnknownProvider", name, err)
		}
	}
	if _, err := reg.AuthCodeURL(t.Context(), "x", "state", "", ""); !errors.Is(err, ErrVerifierRequired) {
		t.Errorf("AuthCodeURL(x) without verifier: error = %v, want ErrVerifierRequired", err)
	}

	gh, _ := reg.Get("github")
	for _, tc := range []struct {
		name      string
		providers []Provider
		want      string
	}{
		{"duplicate", []Provider{gh, gh}, "given twice"},
		{"bad name", []Provider{renamed{gh, "Git Hub"}}, "must match"},
	} {
		if _, err := NewRegistry(tc.providers...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewRegistry(%s) error = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

type renamed struct {
	Provider
	name string
}

func (r renamed) Name() string { return r.name }
