package social

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"golang.org/x/oauth2"
)

// maxProfileSize bounds a profile response body.
const maxProfileSize = 1 << 20

// authCodeOptions returns the authorization request parameters for a nonce
// and a PKCE verifier (either may be empty).
func authCodeOptions(nonce, codeVerifier string) []oauth2.AuthCodeOption {
	var opts []oauth2.AuthCodeOption
	if nonce != "" {
		opts = append(opts, oauth2.SetAuthURLParam("nonce", nonce))
	}
	if codeVerifier != "" {
		opts = append(opts, oauth2.S256ChallengeOption(codeVerifier))
	}
	return opts
}

// exchangeOptions returns the token request parameters for a PKCE verifier.
func exchangeOptions(codeVerifier string) []oauth2.AuthCodeOption {
	if codeVerifier == "" {
		return nil
	}
	return []oauth2.AuthCodeOption{oauth2.VerifierOption(codeVerifier)}
}

// withClient makes x/oauth2 (and go-oidc) use client for requests made
// with the returned context.
func withClient(ctx context.Context, client *http.Client) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, client)
}

// headerTransport adds fixed headers to every request.
type headerTransport struct {
	base    http.RoundTripper
	headers http.Header
}

// RoundTrip implements http.RoundTripper on a copy of req.
func (t *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for k, v := range t.headers {
		req.Header[k] = v
	}
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}

// withHeaders returns a copy of client that sends headers on every request.
func withHeaders(client *http.Client, headers http.Header) *http.Client {
	c := *client
	c.Transport = &headerTransport{base: client.Transport, headers: headers}
	return &c
}

// getProfile fetches url with the access token and returns the body.
// Failures match ErrProfile; network failures and 5xx also match
// ErrProviderUnavailable.
func getProfile(ctx context.Context, client *http.Client, tok *oauth2.Token, provider, what, url string, headers http.Header) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("social: %s: %s request: %w", provider, what, ErrProfile)
	}
	for k, v := range headers {
		req.Header[k] = v
	}
	tok.SetAuthHeader(req)
	resp, err := client.Do(req)
	if err != nil {
		cause, _ := networkCause(err)
		if cause == nil {
			cause = err
		}
		return nil, fmt.Errorf("social: %s: %s: %w: %w: %w", provider, what, ErrProfile, ErrProviderUnavailable, cause)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxProfileSize+1))
	if err != nil {
		return nil, fmt.Errorf("social: %s: %s: reading the answer: %w: %w", provider, what, ErrProfile, ErrProviderUnavailable)
	}
	switch {
	case resp.StatusCode >= 500:
		return nil, fmt.Errorf("social: %s: %s answered HTTP %d: %w: %w", provider, what, resp.StatusCode, ErrProfile, ErrProviderUnavailable)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("social: %s: %s answered HTTP %d: %w", provider, what, resp.StatusCode, ErrProfile)
	case len(body) > maxProfileSize:
		return nil, fmt.Errorf("social: %s: %s answer larger than %d bytes: %w", provider, what, maxProfileSize, ErrProfile)
	}
	return body, nil
}
