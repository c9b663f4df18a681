// Package social is the provider layer of social login: OpenID Connect
// providers (Google or any issuer, with discovery or explicit endpoints),
// GitHub and X. It builds authorization URLs and turns an authorization code
// into a verified Identity; the caller keeps the state, the nonce and the PKCE
// verifier between the two steps and does the browser redirects.
//
// OAuth 2.0 comes from golang.org/x/oauth2 and ID token verification from
// github.com/coreos/go-oidc/v3; this package only wires them up, classifies
// failures (see the Err* values) and reads profiles.
package social

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"time"
)

// Identity is what a provider vouches for after a successful exchange.
type Identity struct {
	// Provider is the configured provider name (the key in the providers
	// file), not its kind.
	Provider string
	// Subject is the provider's stable user id: the OIDC "sub" claim, the
	// GitHub numeric user id, the X user id.
	Subject string
	// Email is the user's e-mail address as the provider gives it; may be
	// empty (always for X).
	Email string
	// EmailVerified is true only when the provider says it verified Email.
	EmailVerified bool
	// Name is the display name; may be empty.
	Name string
	// Username is the provider's handle (OIDC preferred_username, GitHub
	// login, X username); may be empty for OIDC.
	Username string
}

// Provider is one configured social login provider.
type Provider interface {
	// Name returns the configured provider name.
	Name() string
	// DisplayName returns the human-readable name for login buttons.
	DisplayName() string
	// Ready makes sure AuthCodeURL can build a URL: an OpenID Connect
	// provider configured with an issuer runs discovery unless it already
	// succeeded (a failure is retried on the next call). It fails with
	// ErrProviderUnavailable. GitHub and X are always ready.
	Ready(ctx context.Context) error
	// AuthCodeURL returns the provider's authorization URL for the given
	// state, nonce (OIDC only; empty for none) and PKCE code verifier (S256
	// challenge whenever the verifier is not empty). It returns "" when no
	// URL can be built: X without a verifier, or an OIDC provider whose
	// discovery fails (call Ready first to learn why).
	AuthCodeURL(state, nonce, codeVerifier string) string
	// Exchange trades the authorization code for tokens, verifies them and
	// reads the user's identity. codeVerifier and nonce must be the values
	// given to AuthCodeURL.
	Exchange(ctx context.Context, code, codeVerifier, nonce string) (*Identity, error)
}

// NewState returns a fresh OAuth state value: 32 random bytes, base64url
// without padding (43 characters).
func NewState() string { return randomToken() }

// NewNonce returns a fresh OpenID Connect nonce: 32 random bytes, base64url
// without padding (43 characters).
func NewNonce() string { return randomToken() }

// NewCodeVerifier returns a fresh PKCE code verifier: 32 random bytes,
// base64url without padding (43 characters, as RFC 7636 recommends).
func NewCodeVerifier() string { return randomToken() }

func randomToken() string {
	var b [32]byte
	// crypto/rand.Read never returns an error (it crashes the program
	// instead when the system's generator fails).
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Option tunes how the providers built by Parse and LoadFile talk to the
// network and read the time.
type Option func(*options)

type options struct {
	client           *http.Client
	now              func() time.Time
	discoveryTimeout time.Duration
}

// DefaultHTTPTimeout bounds every request to a provider when no HTTP client
// is given with WithHTTPClient.
const DefaultHTTPTimeout = 15 * time.Second

// DefaultDiscoveryTimeout bounds one OpenID Connect discovery attempt.
const DefaultDiscoveryTimeout = 10 * time.Second

func defaultOptions() options {
	return options{
		client:           &http.Client{Timeout: DefaultHTTPTimeout},
		now:              time.Now,
		discoveryTimeout: DefaultDiscoveryTimeout,
	}
}

// WithHTTPClient makes the providers use client for every request
// (discovery, token exchange, signing keys, profiles). The default client
// has a DefaultHTTPTimeout timeout.
func WithHTTPClient(client *http.Client) Option {
	return func(o *options) {
		if client != nil {
			o.client = client
		}
	}
}

// WithClock makes ID token expiry checks use now instead of time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// WithDiscoveryTimeout bounds each OpenID Connect discovery attempt (default
// DefaultDiscoveryTimeout).
func WithDiscoveryTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.discoveryTimeout = d
		}
	}
}
