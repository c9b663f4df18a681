package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/engine/limiter"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/wire"
)

// RateDecider is the rate-limit policy: which buckets a request draws from.
type RateDecider interface {
	RateLimits(ctx context.Context, req limiter.Request) (limiter.Decision, error)
}

// Lockout configures the failed-login back-off and temporary lock-out of
// user-login and user-passcheck-nosession (security.md §4).
type Lockout struct {
	// Enabled turns the back-off and lock-out on.
	Enabled bool
	// Tries is the number of failures answered normally (with a growing
	// delay); the next failure locks the user.
	Tries int
	// Duration is how long a lock-out lasts before the automatic unlock.
	Duration time.Duration
	// BackoffBase is the delay after the first failure (default 1 s); each
	// further failure multiplies it by 1.5, up to BackoffCap (default 40 s).
	BackoffBase time.Duration
	BackoffCap  time.Duration
}

// msgLockedOut replaces the response of a login that locked its user.
const msgLockedOut = "Your user account has been locked after repeated login failures. Try again in an hour or contact the server admins."

// lockoutTypes are the request types with back-off and lock-out.
func lockoutType(request string) bool {
	return request == "user-login" || request == "user-passcheck-nosession"
}

// rateRequest extracts what the rate limiter needs from an envelope: the
// request type's group and e-mail bucket from the request table (rt is nil
// for a type the server does not have), and keyed digests of the
// identifiers the body carries.
func (s *Server) rateRequest(env *Envelope, rt *request) limiter.Request {
	key := s.deps.PII.Key
	r := limiter.Request{Type: "unknown", Group: groupIP, ClientIP: key(env.ClientIP)}
	b := env.Body
	if rt != nil {
		r.Type, r.Group = rt.name, rt.group
		if rt.emailKey != "" {
			r.EmailRequest = true
			if e, ok := b[rt.emailKey].(string); ok && e != "" {
				r.Email = key(e)
			}
		}
	}
	if id, ok := strictInt(b["user_id"]); ok && id > 0 {
		r.UserID = id
	}
	if t, ok := b["session_token"].(string); ok && t != "" {
		r.Session = key(t)
	}
	if d, ok := b["apikey_dict"].(map[string]any); ok {
		if t, ok := d["tkn"].(string); ok && t != "" {
			r.APIKey = key(t)
		}
	}
	return r
}

// rateLimited asks the policy for the request's buckets and draws from them.
// It returns the status to refuse with (429, or 503 when the limiter's store
// cannot be asked and its failure policy is closed) and the wait for
// Retry-After; status 0 admits the request.
func (s *Server) rateLimited(ctx context.Context, log interface {
	Info(string, ...any)
	Warn(string, ...any)
}, req limiter.Request) (int, time.Duration) {
	if s.deps.Rates == nil || s.opts.Limiter == nil {
		return 0, 0
	}
	d, err := s.deps.Rates.RateLimits(ctx, req)
	if err != nil {
		log.Warn("rate-limit policy failed; request admitted", "error", err)
		return 0, 0
	}
	if d.Refuse != "" {
		s.opts.Metrics.limit("refused")
		log.Info("request refused by the rate-limit policy", "reason", d.Refuse)
		return http.StatusTooManyRequests, 3 * time.Minute
	}
	res, err := s.opts.Limiter.Allow(ctx, d.Buckets)
	if err != nil {
		s.opts.Metrics.limit("error")
		if !res.Allowed {
			log.Warn("rate limiter unavailable; request refused (failure policy closed)", "error", err)
			return http.StatusServiceUnavailable, 30 * time.Second
		}
		log.Warn("rate limiter unavailable; request admitted (failure policy open)", "error", err)
	}
	if !res.Allowed {
		s.opts.Metrics.limit("limited")
		log.Info("rate limit exceeded", "bucket_kind", bucketKind(res.Bucket), "retry_after", res.RetryAfter)
		return http.StatusTooManyRequests, res.RetryAfter
	}
	s.opts.Metrics.limit("admitted")
	return 0, 0
}

// bucketKind is the bucket key's first component (keys may hold PII).
func bucketKind(key string) string {
	k, _, _ := strings.Cut(key, ":")
	return k
}

// writeLimited refuses a request over its limit (429), or because a store
// the server shares with other instances is unavailable (503), with the
// wait in Retry-After.
func writeLimited(c echo.Context, code int, wait time.Duration) error {
	c.Response().Header().Set("Retry-After", limiter.RetryAfterSeconds(wait))
	c.Response().Header().Set(echo.HeaderContentType, "text/plain; charset=UTF-8")
	c.Response().WriteHeader(code)
	_, err := c.Response().Write([]byte(plainError(code)))
	return err
}

// replayCheck refuses a request token that was seen before (only when a
// request TTL is set: without one a token would have to be remembered
// forever). It returns 0 to admit the request, 401 for a replay, and 503
// when the guard's store cannot be asked and its failure policy is closed.
func (s *Server) replayCheck(ctx context.Context, log interface{ Warn(string, ...any) }, token []byte) int {
	if s.opts.Replay == nil || s.opts.RequestTTL <= 0 {
		return 0
	}
	if !s.opts.NotBefore.IsZero() {
		if ts, ok := wire.TokenTime(token); ok && ts.Before(s.opts.NotBefore.Truncate(time.Second)) {
			log.Warn("request token minted before this server started refused (the replay guard is in process)")
			return http.StatusUnauthorized
		}
	}
	sum := sha256.Sum256(token)
	first, err := s.opts.Replay.First(ctx, hex.EncodeToString(sum[:16]))
	switch {
	case errors.Is(err, limiter.ErrGuardFull):
		log.Warn("replay guard full; request refused until older request tokens expire", "error", err)
		return http.StatusServiceUnavailable
	case err != nil && !first:
		log.Warn("replay guard unavailable; request refused (failure policy closed)", "error", err)
		return http.StatusServiceUnavailable
	case err != nil:
		log.Warn("replay guard unavailable; request admitted (failure policy open)", "error", err)
		return 0
	case !first:
		log.Warn("replayed request token refused")
		return http.StatusUnauthorized
	}
	return 0
}

// backoff is the delay after the n-th consecutive failure.
func (l Lockout) backoff(n int64) time.Duration {
	base, cap := l.BackoffBase, l.BackoffCap
	if base <= 0 {
		base = time.Second
	}
	if cap <= 0 {
		cap = 40 * time.Second
	}
	d := time.Duration(float64(base) * math.Pow(1.5, float64(n-1)))
	if d > cap || d < 0 {
		d = cap
	}
	return d
}

// beforeLogin unlocks users whose lock-out has ended, so that a login right
// at the end of a lock-out does not depend on the background sweep.
func (s *Server) beforeLogin(ctx context.Context, rc *reqCtx) {
	if !s.opts.Lockout.Enabled {
		return
	}
	if ids, err := s.deps.Store.UnlockExpired(ctx, 0); err != nil {
		rc.log.Warn("automatic unlock failed", "error", err)
	} else {
		s.logUnlocked(ctx, rc.log, ids)
	}
}

func (s *Server) logUnlocked(ctx context.Context, log interface{ Info(string, ...any) }, ids []int64) {
	for _, id := range ids {
		log.Info("lock-out ended; user unlocked", "user", s.deps.PII.Hash(id))
		if u, err := s.deps.Store.UserByID(ctx, id); err == nil {
			_ = s.deps.Store.ResetLoginFailures(ctx, u.Email)
		}
	}
}

// UnlockExpired ends every lock-out whose time has come; servers call it
// periodically.
func (s *Server) UnlockExpired(ctx context.Context) error {
	ids, err := s.deps.Store.UnlockExpired(ctx, 0)
	s.logUnlocked(ctx, s.log, ids)
	return err
}

// passwordCheck is a lock-out-counted request's reservation (identity's
// ReserveCheck) and what its handler found.
type passwordCheck struct {
	account string
	outcome identity.CheckOutcome
}

// checked records that the handler evaluated a password (or did the dummy
// work of one for an unknown or ineligible account): match or not.
func (rc *reqCtx) checked(match bool) {
	if rc.check == nil {
		return
	}
	rc.check.outcome = identity.CheckWrong
	if match {
		rc.check.outcome = identity.CheckRight
	}
}

// lockoutAccount is the account a lock-out-counted request checks: its
// e-mail, normalised as sign-up stores it. ok is false when the body has
// none (HTTP 400, as the reference).
func (s *Server) lockoutAccount(body map[string]any) (string, bool) {
	raw, present := body["email"]
	if !present {
		return "", false
	}
	email, ok := raw.(string)
	if !ok {
		email = fmt.Sprint(raw)
	}
	return s.deps.Validator.NormalizeEmail(clip(email, 1024)), true
}

// lockedOut is the reply to a check of an account whose lock-out is
// decided (no failure_reason, as the reference).
func lockedOut() *Failure {
	return &Failure{Messages: []string{msgLockedOut}, Fields: Result{"user_id": nil}}
}

// checksInFlight is the reply when an account already has as many checks
// in flight as may still fail: nothing was evaluated and nothing counts.
func checksInFlight() *Failure {
	return fail("too many password checks in progress for this account, try again later",
		"Too many attempts are being checked for this account. Please try again in a moment.").with("user_id", nil, "retry_after", 1)
}

// reserveCheck reserves a password check of the account before a
// lock-out-counted request runs (security.md §4 made atomic, issue 13): a
// refusal is the reply to send instead of running the handler.
func (s *Server) reserveCheck(ctx context.Context, rc *reqCtx, account string) *Failure {
	s.beforeLogin(ctx, rc)
	r, err := s.deps.Store.ReserveCheck(ctx, account, s.opts.Lockout.Tries)
	switch {
	case err != nil:
		return fail("server error, try again later", "The server could not check this request. Please try again later.").
			with("user_id", nil).because(err)
	case r.Locked:
		rc.log.Info("password check refused: the account's lock-out is decided", "account", s.deps.PII.Hash(account))
		return lockedOut()
	case !r.Reserved:
		rc.log.Info("password check refused: too many in flight for the account", "account", s.deps.PII.Hash(account))
		return checksInFlight()
	}
	rc.check = &passwordCheck{account: account}
	return nil
}

// resolveCheck ends a reserved check with what the handler found: a wrong
// password counts, is answered after the back-off delay, and the failure
// that reaches the limit locks the account; a right password that arrived
// after concurrent failures decided the lock-out is refused.
func (s *Server) resolveCheck(ctx context.Context, rc *reqCtx, res Result) Result {
	c := rc.check
	l := s.opts.Lockout
	r, err := s.deps.Store.ResolveCheck(ctx, c.account, l.Tries, c.outcome)
	if err != nil {
		rc.log.Error("resolve password check", "error", err)
		return res
	}
	if r.Refused {
		rc.log.Warn("right password refused: the lock-out was decided while it was checked", "account", s.deps.PII.Hash(c.account))
		return lockedOut().result(nil)
	}
	if c.outcome != identity.CheckWrong {
		return res
	}
	if r.LockDecided {
		s.lockAccount(ctx, rc, c.account, r.Failures)
	}
	d := l.backoff(r.Failures)
	rc.log.Info("failed password check; backing off", "account", s.deps.PII.Hash(c.account), "failures", r.Failures, "delay", d)
	s.sleep(ctx, d)
	return res
}

// lockAccount locks the user behind an account whose failures reached the
// limit, unless the admin policy exempts them (the system users).
func (s *Server) lockAccount(ctx context.Context, rc *reqCtx, account string, failures int64) {
	u, err := s.deps.Store.UserByEmail(ctx, account)
	deny := ""
	if err == nil {
		deny, err = s.admit(ctx, engine.AdminInput{Op: "lockout", Target: adminUser(u)})
	}
	until := s.now().Add(s.opts.Lockout.Duration)
	switch {
	case errors.Is(err, identity.ErrNotFound):
	case err != nil:
		rc.log.Error("lock-out", "error", err)
	case deny != "":
		rc.log.Info("lock-out exempted by the policy", "user", s.deps.PII.Hash(u.UserID), "deny", deny)
	default:
		if _, err := s.deps.Store.LockOut(ctx, u.UserID, until); err != nil {
			rc.log.Error("lock-out", "error", err)
		} else {
			rc.log.Warn("user locked after repeated login failures", "user", s.deps.PII.Hash(u.UserID), "failures", failures, "until", until.UTC())
		}
	}
}

// errMissingEmail is a lock-out-counted request without an e-mail.
var errMissingEmail = errors.New("request has no 'email'")

// remoteIP is the peer address of a request (for GET /health).
func remoteIP(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// staleLogInterval is how often at most a stale request token is logged.
const staleLogInterval = 10 * time.Second

// logStale tells the operator about authentic request tokens refused for
// their age: a frontend whose clock is off by more than the TTL (or more
// than 60 s ahead) gets nothing but 401s, and this line, at most every 10 s
// with the count of the ones not logged, says by how much.
func (s *Server) logStale(c echo.Context, err error) {
	var stale *wire.StaleError
	if !errors.As(err, &stale) {
		return
	}
	now := s.now()
	last := s.staleLogged.Load()
	if now.Unix()-last < int64(staleLogInterval/time.Second) || !s.staleLogged.CompareAndSwap(last, now.Unix()) {
		s.staleMuted.Add(1)
		return
	}
	age := now.Sub(stale.Minted).Round(time.Second)
	s.log.Warn("authentic request token refused for its age: the frontend's clock is off, or an old request was replayed",
		"token_age_s", int64(age/time.Second), "requestttl_s", int64(s.opts.RequestTTL/time.Second),
		"max_future_s", int64(wire.MaxClockSkew/time.Second), "remote", c.RealIP(), "not_logged_since", s.staleMuted.Swap(0))
}
