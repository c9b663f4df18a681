package social

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"
)

// supportedAlg reports whether go-oidc verifies ID tokens signed with alg;
// a discovery document's list is filtered through it ("none" never passes).
func supportedAlg(alg string) bool {
	switch alg {
	case oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
		oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA:
		return true
	}
	return false
}

// oidcProvider is an OpenID Connect relying party for one issuer.
type oidcProvider struct {
	cfg     providerConfig
	client  *http.Client
	now     func() time.Time
	timeout time.Duration

	ready     atomic.Pointer[oidcEndpoints] // nil until discovery succeeds
	discovery singleflight.Group
}

// oidcEndpoints is what discovery (or the explicit configuration) yields.
type oidcEndpoints struct {
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newOIDC(cfg providerConfig, o options) *oidcProvider {
	p := &oidcProvider{cfg: cfg, client: o.client, now: o.now, timeout: o.discoveryTimeout}
	if cfg.JWKSURL != "" {
		p.ready.Store(p.endpoints(cfg.AuthURL, cfg.TokenURL, cfg.JWKSURL, nil, oauth2.AuthStyleAutoDetect))
	}
	return p
}

// Name implements Provider.
func (p *oidcProvider) Name() string { return p.cfg.Name }

// DisplayName implements Provider.
func (p *oidcProvider) DisplayName() string { return p.cfg.DisplayName }

// Ready implements Provider: it runs discovery unless it already succeeded.
// Concurrent callers share one attempt, bounded by the discovery timeout;
// a failed attempt is not remembered, so the next call tries again.
func (p *oidcProvider) Ready(ctx context.Context) error {
	_, err := p.endpointsFor(ctx)
	return err
}

func (p *oidcProvider) endpointsFor(ctx context.Context) (*oidcEndpoints, error) {
	if e := p.ready.Load(); e != nil {
		return e, nil
	}
	ch := p.discovery.DoChan("discover", func() (any, error) {
		if e := p.ready.Load(); e != nil {
			return e, nil
		}
		// One caller's cancellation must not fail the others sharing this
		// attempt; the timeout bounds it instead.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.timeout)
		defer cancel()
		e, err := p.discover(dctx)
		if err != nil {
			return nil, err
		}
		p.ready.Store(e)
		return e, nil
	})
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("social: %s: discovery: %w: %w", p.cfg.Name, ErrProviderUnavailable, ctx.Err())
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*oidcEndpoints), nil
	}
}

// discover fetches the issuer's discovery document through go-oidc (which
// checks that it names the configured issuer).
func (p *oidcProvider) discover(ctx context.Context) (*oidcEndpoints, error) {
	provider, err := oidc.NewProvider(withClient(ctx, p.client), p.cfg.Issuer)
	if err != nil {
		var mismatch *oidc.IssuerMismatchError
		switch cause, network := networkCause(err); {
		case errors.As(err, &mismatch):
			return nil, fmt.Errorf("social: %s: discovery document names another issuer: %w", p.cfg.Name, ErrProviderUnavailable)
		case network:
			return nil, fmt.Errorf("social: %s: discovery: %w: %w", p.cfg.Name, ErrProviderUnavailable, cause)
		default:
			return nil, fmt.Errorf("social: %s: discovery: %w: %v", p.cfg.Name, ErrProviderUnavailable, firstLine(err.Error()))
		}
	}
	var meta struct {
		JWKSURL     string   `json:"jwks_uri"`
		Algs        []string `json:"id_token_signing_alg_values_supported"`
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	}
	if err := provider.Claims(&meta); err != nil {
		return nil, fmt.Errorf("social: %s: discovery document: %w", p.cfg.Name, ErrProviderUnavailable)
	}
	ep := provider.Endpoint()
	if ep.AuthURL == "" || ep.TokenURL == "" || meta.JWKSURL == "" {
		return nil, fmt.Errorf("social: %s: discovery document lacks authorization_endpoint, token_endpoint or jwks_uri: %w", p.cfg.Name, ErrProviderUnavailable)
	}
	var algs []string
	for _, a := range meta.Algs {
		if supportedAlg(a) {
			algs = append(algs, a)
		}
	}
	style := oauth2.AuthStyleAutoDetect
	basic := slices.Contains(meta.AuthMethods, "client_secret_basic")
	post := slices.Contains(meta.AuthMethods, "client_secret_post")
	switch {
	case basic && !post:
		style = oauth2.AuthStyleInHeader
	case post && !basic:
		style = oauth2.AuthStyleInParams
	}
	return p.endpoints(ep.AuthURL, ep.TokenURL, meta.JWKSURL, algs, style), nil
}

// endpoints builds the OAuth configuration and the ID token verifier.
func (p *oidcProvider) endpoints(authURL, tokenURL, jwksURL string, algs []string, style oauth2.AuthStyle) *oidcEndpoints {
	keys := oidc.NewRemoteKeySet(withClient(context.Background(), p.client), jwksURL)
	return &oidcEndpoints{
		oauth: oauth2.Config{
			ClientID:     p.cfg.ClientID,
			ClientSecret: p.cfg.ClientSecret,
			Endpoint:     oauth2.Endpoint{AuthURL: authURL, TokenURL: tokenURL, AuthStyle: style},
			RedirectURL:  p.cfg.RedirectURL,
			Scopes:       p.cfg.Scopes,
		},
		verifier: oidc.NewVerifier(p.cfg.Issuer, &probedKeySet{keys: keys}, &oidc.Config{
			ClientID:             p.cfg.ClientID,
			SupportedSigningAlgs: algs,
			Now:                  p.now,
		}),
	}
}

// AuthCodeURL implements Provider. Before discovery has succeeded it tries
// it (bounded by the discovery timeout) and returns "" if it fails.
func (p *oidcProvider) AuthCodeURL(state, nonce, codeVerifier string) string {
	e, err := p.endpointsFor(context.Background())
	if err != nil {
		return ""
	}
	return e.oauth.AuthCodeURL(state, authCodeOptions(nonce, codeVerifier)...)
}

// Exchange implements Provider: code exchange, ID token verification by
// go-oidc (signature, issuer, audience, expiry), authorized party, nonce
// (constant time), access token hash when present, then the claims.
func (p *oidcProvider) Exchange(ctx context.Context, code, codeVerifier, nonce string) (*Identity, error) {
	e, err := p.endpointsFor(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := e.oauth.Exchange(withClient(ctx, p.client), code, exchangeOptions(codeVerifier)...)
	if err != nil {
		return nil, exchangeError(p.cfg.Name, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, fmt.Errorf("social: %s: token response has no id_token: %w", p.cfg.Name, ErrInvalidIDToken)
	}
	probe := &keyFetchProbe{}
	idt, err := e.verifier.Verify(context.WithValue(ctx, keyFetchProbeKey{}, probe), raw)
	if err != nil {
		if probe.failed.Load() {
			return nil, fmt.Errorf("social: %s: fetching signing keys: %w", p.cfg.Name, ErrProviderUnavailable)
		}
		return nil, fmt.Errorf("social: %s: %w: %w", p.cfg.Name, ErrInvalidIDToken, err)
	}
	claims, err := decodeOIDCClaims(idt)
	if err != nil {
		return nil, fmt.Errorf("social: %s: %w: %w", p.cfg.Name, ErrInvalidIDToken, err)
	}
	if claims.AuthorizedParty != "" && claims.AuthorizedParty != p.cfg.ClientID {
		return nil, fmt.Errorf("social: %s: ID token issued to another party (azp): %w", p.cfg.Name, ErrInvalidIDToken)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, fmt.Errorf("social: %s: %w", p.cfg.Name, ErrNonceMismatch)
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, fmt.Errorf("social: %s: access token hash (at_hash) does not match: %w", p.cfg.Name, ErrInvalidIDToken)
		}
	}
	if idt.Subject == "" {
		return nil, fmt.Errorf("social: %s: ID token has no subject: %w", p.cfg.Name, ErrInvalidIDToken)
	}
	return &Identity{
		Provider:      p.cfg.Name,
		Subject:       idt.Subject,
		Email:         claims.Email,
		EmailVerified: claims.Email != "" && bool(claims.EmailVerified),
		Name:          claims.Name,
		Username:      claims.PreferredUsername,
	}, nil
}

// oidcClaims are the ID token claims read into an Identity.
type oidcClaims struct {
	Email             string    `json:"email"`
	EmailVerified     flexibool `json:"email_verified"`
	Name              string    `json:"name"`
	PreferredUsername string    `json:"preferred_username"`
	AuthorizedParty   string    `json:"azp"`
}

func decodeOIDCClaims(idt *oidc.IDToken) (oidcClaims, error) {
	var c oidcClaims
	if err := idt.Claims(&c); err != nil {
		return c, errors.New("unreadable claims")
	}
	return c, nil
}

// parseOIDCClaims decodes a claims payload as decodeOIDCClaims does (for
// fuzzing).
func parseOIDCClaims(payload []byte) (oidcClaims, error) {
	var c oidcClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return c, errors.New("unreadable claims")
	}
	return c, nil
}

// flexibool reads email_verified as a JSON boolean or as the strings "true"
// and "false" (some providers send strings). Anything else is false.
type flexibool bool

// UnmarshalJSON implements json.Unmarshaler.
func (b *flexibool) UnmarshalJSON(data []byte) error {
	switch strings.TrimSpace(string(data)) {
	case "true", `"true"`:
		*b = true
	default:
		*b = false
	}
	return nil
}

// probedKeySet wraps go-oidc's remote key set to tell a failure to fetch
// the signing keys (the provider is unavailable) from a bad signature: the
// remote key set wraps fetch failures (with %w), while go-oidc's verifier
// flattens the error it returns, so the wrapper records the kind of failure
// in a probe carried by the context.
type probedKeySet struct {
	keys oidc.KeySet
}

type keyFetchProbeKey struct{}

type keyFetchProbe struct {
	failed atomic.Bool
}

// VerifySignature implements oidc.KeySet.
func (k *probedKeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.keys.VerifySignature(ctx, jwt)
	if err != nil && errors.Unwrap(err) != nil {
		if probe, ok := ctx.Value(keyFetchProbeKey{}).(*keyFetchProbe); ok {
			probe.failed.Store(true)
		}
	}
	return payload, err
}

// firstLine keeps the first line of an error message (go-oidc appends
// response bodies on later lines or after a colon; bodies are cut at 200
// bytes).
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
