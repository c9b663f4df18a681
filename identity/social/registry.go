package social

import (
	"context"
	"fmt"
	"slices"
)

// Registry holds the configured providers by name. It is safe for
// concurrent use and immutable once built.
type Registry struct {
	providers map[string]Provider
	names     []string
}

// NewRegistry builds a Registry from providers; names must be unique and
// match [a-z0-9_-]{1,32}. Parse and LoadFile call it; tests of the API layer
// may call it with their own Provider implementations.
func NewRegistry(providers ...Provider) (*Registry, error) {
	r := &Registry{providers: make(map[string]Provider, len(providers))}
	for _, p := range providers {
		name := p.Name()
		if !providerName.MatchString(name) {
			return nil, fmt.Errorf("social: provider name %q must match [a-z0-9_-]{1,32}", truncate(name))
		}
		if _, dup := r.providers[name]; dup {
			return nil, fmt.Errorf("social: provider %q given twice", name)
		}
		r.providers[name] = p
		r.names = append(r.names, name)
	}
	slices.Sort(r.names)
	return r, nil
}

// Names returns the provider names in sorted order.
func (r *Registry) Names() []string {
	return slices.Clone(r.names)
}

// Get returns the provider called name, or an error matching
// ErrUnknownProvider.
func (r *Registry) Get(name string) (Provider, error) {
	p, ok := r.providers[name]
	if !ok {
		return nil, fmt.Errorf("social: provider %q: %w", truncate(name), ErrUnknownProvider)
	}
	return p, nil
}

// AuthCodeURL is Get, Ready and Provider.AuthCodeURL in one call, with
// errors: ErrUnknownProvider, ErrProviderUnavailable (OIDC discovery
// failed), ErrVerifierRequired (X without a PKCE verifier).
func (r *Registry) AuthCodeURL(ctx context.Context, name, state, nonce, codeVerifier string) (string, error) {
	p, err := r.Get(name)
	if err != nil {
		return "", err
	}
	if err := p.Ready(ctx); err != nil {
		return "", err
	}
	u := p.AuthCodeURL(state, nonce, codeVerifier)
	if u == "" {
		if codeVerifier == "" {
			return "", fmt.Errorf("social: %s: %w", name, ErrVerifierRequired)
		}
		return "", fmt.Errorf("social: %s: no authorization URL: %w", name, ErrProviderUnavailable)
	}
	return u, nil
}

// Exchange is Get and Provider.Exchange in one call.
func (r *Registry) Exchange(ctx context.Context, name, code, codeVerifier, nonce string) (*Identity, error) {
	p, err := r.Get(name)
	if err != nil {
		return nil, err
	}
	return p.Exchange(ctx, code, codeVerifier, nonce)
}
