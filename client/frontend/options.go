package frontend

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"time"
)

// Defaults of Options.
const (
	// DefaultCookieName is the session cookie's name.
	DefaultCookieName = "authnzrv_session"
	// DefaultLifetime is the lifetime of new sessions.
	DefaultLifetime = 7 * 24 * time.Hour
	// DefaultMaxRetries is how often a rate-limited request is retried.
	DefaultMaxRetries = 2
	// DefaultMaxRetryWait bounds the total wait of one request's retries.
	DefaultMaxRetryWait = 5 * time.Second
	// DefaultRealm is the realm of the WWW-Authenticate challenge.
	DefaultRealm = "authnzrv"
)

// Options configure a Middleware. The zero value is usable: every field has
// a documented default.
type Options struct {
	// CookieName is the session cookie's name (default DefaultCookieName).
	CookieName string
	// CookieDomain is the cookie's Domain attribute (default: none, a
	// host-only cookie).
	CookieDomain string
	// CookiePath is the cookie's Path attribute (default "/").
	CookiePath string
	// InsecureCookie drops the Secure attribute, which is set by default.
	// Only for development over plain HTTP: browsers do not return Secure
	// cookies to http:// origins other than localhost.
	InsecureCookie bool
	// SameSite is the cookie's SameSite attribute (default
	// http.SameSiteLaxMode, also for http.SameSiteDefaultMode; the cookie
	// always has the attribute).
	SameSite http.SameSite
	// Lifetime is the lifetime of new sessions and the cookie's Max-Age
	// (default DefaultLifetime).
	Lifetime time.Duration

	// ProxyHeader names a header that carries the end user's address, set
	// by a reverse proxy (e.g. "X-Forwarded-For" or "X-Real-IP"). It is
	// read only when the peer (RemoteAddr) is in TrustedProxies; the
	// address used is the rightmost one in the header that is not itself a
	// trusted proxy. Empty (the default): the peer address is the end
	// user's address.
	ProxyHeader string
	// TrustedProxies are the proxies whose ProxyHeader is believed.
	TrustedProxies []netip.Prefix

	// TrustedOrigins are origins ("scheme://host[:port]") whose cross-origin
	// state-changing requests are allowed (http.CrossOriginProtection's
	// AddTrustedOrigin). New panics on a malformed origin.
	TrustedOrigins []string
	// CrossOriginDenied answers refused cross-origin requests (default: 403
	// with a short text).
	CrossOriginDenied http.Handler

	// LoginURL, when set, is where RequireUser redirects anonymous GET and
	// HEAD requests (with the original path and query in the "next" query
	// parameter); other requests, and all requests when LoginURL is empty,
	// get 401.
	LoginURL string

	// SessionBoundKeys verifies bearer keys with apikey-verify (keys issued
	// by apikey-new) instead of apikey-verify-nosession (keys issued by
	// apikey-new-nosession, the default).
	SessionBoundKeys bool
	// Realm is the realm of the WWW-Authenticate challenge sent when a
	// bearer key is refused (default DefaultRealm).
	Realm string

	// MaxRetries is how often a request answered with 429 is retried
	// after its Retry-After (default DefaultMaxRetries; negative: never).
	MaxRetries int
	// MaxRetryWait bounds the total wait of one request's retries: a
	// Retry-After that would exceed it fails at once (default
	// DefaultMaxRetryWait).
	MaxRetryWait time.Duration

	// Now is the clock (default time.Now).
	Now func() time.Time
	// Sleep waits for d or until ctx ends, whichever is first (default: a
	// timer). Tests inject a sleeper that advances their clock.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives operational messages; it never receives passwords,
	// tokens, keys or e-mail addresses (default: discard).
	Logger *slog.Logger
}

// withDefaults fills in the defaults.
func (o Options) withDefaults() Options {
	if o.CookieName == "" {
		o.CookieName = DefaultCookieName
	}
	if o.CookiePath == "" {
		o.CookiePath = "/"
	}
	if o.SameSite == 0 || o.SameSite == http.SameSiteDefaultMode {
		o.SameSite = http.SameSiteLaxMode
	}
	if o.Lifetime <= 0 {
		o.Lifetime = DefaultLifetime
	}
	if o.Realm == "" {
		o.Realm = DefaultRealm
	}
	switch {
	case o.MaxRetries == 0:
		o.MaxRetries = DefaultMaxRetries
	case o.MaxRetries < 0:
		o.MaxRetries = 0
	}
	if o.MaxRetryWait <= 0 {
		o.MaxRetryWait = DefaultMaxRetryWait
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
