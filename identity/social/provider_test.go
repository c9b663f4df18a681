package social

import (
	"encoding/base64"
	"regexp"
	"sync"
	"testing"

	"github.com/oauth2-proxy/mockoidc"
)

func TestRandomValues(t *testing.T) {
	t.Parallel()
	unreserved := regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	for _, tc := range []struct {
		name string
		gen  func() string
	}{
		{"NewState", NewState}, {"NewNonce", NewNonce}, {"NewCodeVerifier", NewCodeVerifier},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			seen := map[string]bool{}
			for range 1000 {
				v := tc.gen()
				if !unreserved.MatchString(v) {
					t.Fatalf("%q is not 43 base64url characters", v)
				}
				raw, err := base64.RawURLEncoding.DecodeString(v)
				if err != nil || len(raw) != 32 {
					t.Fatalf("%q does not decode to 32 bytes: %v", v, err)
				}
				if seen[v] {
					t.Fatalf("%q repeated", v)
				}
				seen[v] = true
			}
		})
	}
}

// TestOIDCConcurrentLogins runs logins in parallel on one provider that has
// not discovered yet: all succeed, and discovery runs once.
func TestOIDCConcurrentLogins(t *testing.T) {
	t.Parallel()
	s := startIdP(t, idpConfig{})
	reg, err := Parse(providersDoc(s, false), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const logins = 8
	var wg sync.WaitGroup
	for range logins {
		wg.Go(func() {
			state, nonce, verifier := NewState(), NewNonce(), NewCodeVerifier()
			authURL, err := reg.AuthCodeURL(t.Context(), "idp", state, nonce, verifier)
			if err != nil {
				t.Errorf("AuthCodeURL: %v", err)
				return
			}
			code, err := follow(t.Context(), authURL, state)
			if err != nil {
				t.Errorf("authorize: %v", err)
				return
			}
			id, err := reg.Exchange(t.Context(), "idp", code, verifier, nonce)
			if err != nil {
				t.Errorf("Exchange: %v", err)
				return
			}
			if id.Subject != "1234567890" {
				t.Errorf("subject %q", id.Subject)
			}
		})
	}
	wg.Wait()
	if n := s.count(mockoidc.DiscoveryEndpoint); n != 1 {
		t.Errorf("discovery fetched %d times, want 1", n)
	}
}
