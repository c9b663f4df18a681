package social

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"

	"golang.org/x/oauth2"
)

// Failure classes. Every error returned by Exchange (and by Ready and the
// Registry helpers) matches at least one of these with errors.Is, so the API
// layer can map it to a failure reason. Error strings never carry tokens,
// codes, verifiers, nonces or client secrets.
var (
	// ErrUnknownProvider: no provider of that name is configured.
	ErrUnknownProvider = errors.New("unknown social login provider")
	// ErrProviderUnavailable: the provider could not be reached or answered
	// with a server error (discovery failed, network failure, timeout, 5xx,
	// signing keys could not be fetched). Worth retrying later.
	ErrProviderUnavailable = errors.New("social login provider unavailable")
	// ErrExchangeFailed: the token endpoint refused the authorization code
	// (bad, expired or replayed code, wrong PKCE verifier, wrong client
	// credentials: a 4xx or an OAuth error response), or its answer was not
	// a usable token response.
	ErrExchangeFailed = errors.New("authorization code exchange failed")
	// ErrInvalidIDToken: the OpenID Connect ID token is missing or fails
	// verification (signature, issuer, audience, authorized party, expiry,
	// access-token hash, subject).
	ErrInvalidIDToken = errors.New("invalid ID token")
	// ErrNonceMismatch: the ID token's nonce differs from the one sent with
	// the authorization request.
	ErrNonceMismatch = errors.New("ID token nonce mismatch")
	// ErrProfile: the user's profile could not be fetched or understood
	// (GitHub /user and /user/emails, X /2/users/me). Profile failures caused
	// by the network or a 5xx also match ErrProviderUnavailable.
	ErrProfile = errors.New("profile fetch failed")
	// ErrVerifierRequired: the provider requires PKCE (X) and no code
	// verifier was given.
	ErrVerifierRequired = errors.New("PKCE code verifier required")
)

// oauthErrorCode matches the OAuth 2.0 error codes worth quoting in an error
// string; anything else a token endpoint says is left out.
var oauthErrorCode = regexp.MustCompile(`^[a-z_]{1,64}$`)

// exchangeError classifies an error from oauth2.Config.Exchange without
// quoting the response body (which may echo the authorization code).
func exchangeError(provider string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		detail := fmt.Sprintf("HTTP %d", status)
		if oauthErrorCode.MatchString(re.ErrorCode) {
			detail += " " + re.ErrorCode
		}
		if status >= 500 {
			return fmt.Errorf("social: %s: token endpoint answered %s: %w", provider, detail, ErrProviderUnavailable)
		}
		return fmt.Errorf("social: %s: token endpoint answered %s: %w", provider, detail, ErrExchangeFailed)
	}
	if cause, ok := networkCause(err); ok {
		return fmt.Errorf("social: %s: token request: %w: %w", provider, ErrProviderUnavailable, cause)
	}
	return fmt.Errorf("social: %s: unusable token response: %w", provider, ErrExchangeFailed)
}

// networkCause reports whether err is a transport-level failure (connection
// refused, timeout, cancelled context) and returns the part of it that is
// safe to show: the cause inside a *url.Error, without the URL.
func networkCause(err error) (error, bool) {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err, true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return ne, true
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err, true
	}
	return nil, false
}
