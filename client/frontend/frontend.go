// Package frontend is net/http middleware for Go services whose users
// authenticate with authnzrv (or the Python authnzerver): the job the
// reference's Tornado frontend helpers do.
//
// Middleware.Handler wraps an http.Handler (plain net/http, chi's
// r.Use(m.Handler), Echo's e.Use(echo.WrapMiddleware(m.Handler))). For
// every request it either
//
//   - authenticates an "Authorization: Bearer <key>" API key with
//     apikey-verify-nosession (or apikey-verify) and passes the request on
//     with an APIKey principal (APIKeyFrom), or answers 401 with a
//     WWW-Authenticate challenge; bearer requests carry no ambient
//     credentials, so they are exempt from the cross-origin check and never
//     get a cookie; or
//   - refuses cross-origin state-changing browser requests (403), looks up
//     the session cookie with session-exists, creates an anonymous session
//     with session-new when there is no valid one (setting the cookie), and
//     passes the request on with the Session (SessionFrom).
//
// Cross-site request forgery is stopped with http.CrossOriginProtection:
// browsers mark every request with Sec-Fetch-Site (or Origin), so a
// state-changing request (any method but GET, HEAD and OPTIONS) from
// another origin is refused without tokens in forms. It requires that
// safe methods change nothing. Other origins can be allowed with
// Options.TrustedOrigins. Requests without either header (non-browser
// clients) pass, as they carry no ambient browser credentials. The session
// cookie is also SameSite=Lax by default.
//
// Handlers log users in and out with Login and Logout, sign them up with
// SignUp, and guard pages with RequireUser. When authnzrv answers 429 the
// middleware waits the Retry-After and retries, within Options.MaxRetries
// and Options.MaxRetryWait; past them the end user gets 503 with a
// Retry-After.
package frontend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/authnzrv/authnzrv/client"
)

// Middleware authenticates the requests of a Go service with authnzrv. It
// is safe for concurrent use.
type Middleware struct {
	c    *client.Client
	opts Options
	log  *slog.Logger
	cop  *http.CrossOriginProtection
}

// New returns a middleware that talks to authnzrv through c. It panics when
// c is nil or an Options.TrustedOrigins entry is malformed (configuration
// errors found at start-up).
func New(c *client.Client, opts Options) *Middleware {
	if c == nil {
		panic("frontend: New needs a client")
	}
	opts = opts.withDefaults()
	cop := http.NewCrossOriginProtection()
	for _, o := range opts.TrustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			panic(fmt.Sprintf("frontend: trusted origin %q: %v", o, err))
		}
	}
	return &Middleware{c: c, opts: opts, log: opts.Logger, cop: cop}
}

// Handler returns next wrapped by the middleware.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), clientIPKey{}, m.clientIP(r))
		r = r.WithContext(ctx)
		if value, err := bearerValue(r); err == nil {
			m.serveBearer(w, r, value, next)
			return
		}
		if err := m.cop.Check(r); err != nil {
			m.log.Info("cross-origin request refused", "method", r.Method, "path", r.URL.Path)
			if m.opts.CrossOriginDenied != nil {
				m.opts.CrossOriginDenied.ServeHTTP(w, r)
				return
			}
			http.Error(w, "cross-origin request refused", http.StatusForbidden)
			return
		}
		s, err := m.session(ctx, w, r)
		if err != nil {
			m.unavailable(w, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, sessionKey{}, s)))
	})
}

// session returns the request's live session, or a new anonymous one.
func (m *Middleware) session(ctx context.Context, w http.ResponseWriter, r *http.Request) (Session, error) {
	if c, err := r.Cookie(m.opts.CookieName); err == nil && plausibleToken(c.Value) {
		s, ok, err := m.lookup(ctx, c.Value)
		if err != nil {
			return Session{}, err
		}
		if ok {
			return s, nil
		}
	}
	return m.newSession(ctx, w, r, 0)
}

// plausibleToken rejects cookie values that cannot be session tokens
// (tokens are URL-safe base64) before they reach authnzrv.
func plausibleToken(v string) bool {
	if v == "" || len(v) > 512 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// lookup asks authnzrv for a live session; ok is false when there is none
// (or it belongs to a user who may no longer use it, in which case it is
// deleted).
func (m *Middleware) lookup(ctx context.Context, token string) (Session, bool, error) {
	ip := clientIPFrom(ctx)
	reply, err := m.call(ctx, ip, "session-exists", map[string]any{"session_token": token})
	if err != nil {
		return Session{}, false, err
	}
	if !reply.Success {
		if reason := reply.Reason(); strings.HasPrefix(reason, "DB error") {
			return Session{}, false, fmt.Errorf("frontend: session-exists: %s", reason)
		}
		return Session{}, false, nil
	}
	si, s, err := decodeSessionInfo(reply.Response["session_info"])
	if err != nil {
		return Session{}, false, err
	}
	s.Token = token
	if !s.Anonymous() && (!si.IsActive || s.Role == "locked") {
		m.log.Info("session of an inactive or locked user ended", "session", s)
		m.endSession(ctx, token)
		return Session{}, false, nil
	}
	return s, true, nil
}

// endSession deletes a session; failures are logged only, as the cookie is
// replaced anyway.
func (m *Middleware) endSession(ctx context.Context, token string) {
	if _, err := m.call(ctx, clientIPFrom(ctx), "session-delete", map[string]any{"session_token": token}); err != nil {
		m.log.Warn("session-delete failed", "error", err)
	}
}

// maxUserAgent is the longest user agent authnzrv stores (characters).
const maxUserAgent = 2048

// newSession creates a session for userID (0: anonymous) and sets the
// cookie.
func (m *Middleware) newSession(ctx context.Context, w http.ResponseWriter, r *http.Request, userID int64) (Session, error) {
	ip := clientIPFrom(ctx)
	if ip == "" {
		ip = m.clientIP(r)
	}
	var uid any
	if userID > 0 {
		uid = userID
	}
	expires := m.opts.Now().UTC().Add(m.opts.Lifetime).Truncate(time.Microsecond)
	reply, err := m.call(ctx, ip, "session-new", map[string]any{
		"ip_address": ip, "user_agent": truncateRunes(r.UserAgent(), maxUserAgent), "user_id": uid,
		"expires": expires.Format(expiresLayout), "extra_info_json": nil,
	})
	if err != nil {
		return Session{}, err
	}
	token := strKey(reply.Response, "session_token")
	if !reply.Success || token == "" {
		return Session{}, fmt.Errorf("frontend: session-new failed: %s", reply.Reason())
	}
	m.setCookie(w, token)
	s := Session{Token: token, UserID: userID, Expires: expires}
	if userID <= 0 {
		s.UserID, s.Role = AnonymousUserID, AnonymousRole
	}
	return s, nil
}

// setCookie sets the session cookie.
func (m *Middleware) setCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: m.opts.CookieName, Value: token, Path: m.opts.CookiePath, Domain: m.opts.CookieDomain,
		MaxAge: int(m.opts.Lifetime / time.Second), HttpOnly: true, Secure: !m.opts.InsecureCookie,
		SameSite: m.opts.SameSite,
	})
}

// truncateRunes keeps the first n characters of s.
func truncateRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// unavailable answers a request that could not be authenticated because
// authnzrv could not be asked: 503, with Retry-After when it was rate
// limiting.
func (m *Middleware) unavailable(w http.ResponseWriter, err error) {
	var rl *RateLimitedError
	if errors.As(err, &rl) {
		m.log.Warn("authnzrv rate limit persisted", "request", rl.Request, "attempts", rl.Attempts, "retry_after", rl.RetryAfter)
		w.Header().Set("Retry-After", retryAfterSeconds(rl.RetryAfter))
		http.Error(w, "the service is busy; try again later", http.StatusServiceUnavailable)
		return
	}
	if errors.Is(err, context.Canceled) {
		m.log.Info("request ended before authnzrv answered", "error", err)
	} else {
		m.log.Error("authnzrv request failed", "error", err)
	}
	http.Error(w, "the authentication service is unavailable", http.StatusServiceUnavailable)
}

// retryAfterSeconds renders a wait as whole seconds, rounded up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(s, 1), 10)
}
