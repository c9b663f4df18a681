package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/engine/limiter"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/mail"
	"github.com/authnzrv/authnzrv/identity/password"
	"github.com/authnzrv/authnzrv/identity/pii"
	"github.com/authnzrv/authnzrv/wire"
)

// Hasher makes and checks password hashes.
type Hasher interface {
	Hash(ctx context.Context, password string) (string, error)
	Verify(ctx context.Context, encoded, password string) (bool, error)
	NeedsRehash(encoded string) bool
}

// Validator checks sign-up e-mails, full names and passwords.
type Validator interface {
	// Email reports whether a raw sign-up e-mail is acceptable.
	Email(email string) bool
	// FullName checks a normalised full name; it stops when ctx ends.
	FullName(ctx context.Context, normalized string) error
	// Password checks a password under the server's policy and returns the
	// reasons it failed.
	Password(ctx context.Context, password, email, fullName string) (bool, []string)
	// NormalizeEmail and NormalizeFullName give the stored forms.
	NormalizeEmail(email string) string
	NormalizeFullName(name string) string
}

// Decider makes access and limit decisions (the policy engine).
type Decider interface {
	Access(ctx context.Context, in engine.AccessInput) (engine.Decision, error)
	Limit(ctx context.Context, in engine.LimitInput) (engine.Decision, error)
	Admin(ctx context.Context, in engine.AdminInput) (engine.Decision, error)
	AssignRole(ctx context.Context, in engine.RoleInput) (string, engine.Decision, error)
	Roles() []string
	Revision() string
}

// Options configures a Server.
type Options struct {
	// Secret is the shared Fernet key.
	Secret string
	// RequestTTL > 0 refuses request tokens older than this.
	RequestTTL time.Duration
	// Now is the server's clock (nil: time.Now); tests inject one.
	Now func() time.Time
	// Sleep waits for d or until ctx ends (nil: a timer); the lock-out's
	// back-off waits with it, so tests inject one.
	Sleep func(ctx context.Context, d time.Duration)
	// NotBefore, when set, refuses request tokens minted before it: a
	// replay guard kept in process forgets the tokens it saw when the
	// process ends, so a server without a shared guard refuses the tokens
	// of the time before it started (issue 13, finding 10).
	NotBefore time.Time
	// MaxBodySize is the largest accepted request body in bytes (413 above).
	MaxBodySize int64
	// AllowedHosts is the ';'-separated list of accepted Host names.
	AllowedHosts string
	// DebugMode enables POST /echo.
	DebugMode bool
	// Workers is reported by /health.
	Workers int
	// RateLimited is true unless the rate limits are "none"; it makes
	// client_ipaddr mandatory, as in the reference.
	RateLimited bool
	// Mail holds the configured SMTP settings; requests may override them.
	Mail mail.Settings
	// Social configures social login (user-social-*); without providers
	// those types answer "social login is not configured".
	Social SocialOptions
	// TOTPIssuer is the issuer name authenticator apps show for TOTP
	// second factors (config item totpissuer); "" means "authnzrv".
	TOTPIssuer string
	// MailTemplates renders the two mails.
	MailTemplates *mail.Templates
	// Limiter enforces the rate-limit policy's buckets (nil: no rate limits).
	Limiter limiter.Limiter
	// Replay accepts each request token once while RequestTTL > 0.
	Replay limiter.ReplayGuard
	// Lockout is the failed-login back-off and lock-out.
	Lockout Lockout
	// Metrics, when set, are served on GET /metrics and updated.
	Metrics *Metrics
	// Tracer, when set, records a span per request and per policy decision
	// (OpenTelemetry; off by default).
	Tracer trace.Tracer
	// Bergson configures the Bergson Authenticator REST API (bergson.go).
	Bergson BergsonOptions
}

// Deps are the services a Server composes.
type Deps struct {
	Store     *identity.Store
	Hasher    Hasher
	Validator Validator
	Engine    Decider
	// Rates is the rate-limit policy (nil: no rate limits).
	Rates  RateDecider
	Logger *slog.Logger
	PII    *pii.Hasher
}

// Server answers the authnzerver protocol.
type Server struct {
	opts     Options
	codec    *wire.Codec
	deps     Deps
	log      *slog.Logger
	hosts    *regexp.Regexp
	e        *echo.Echo
	requests map[string]*request
	dummyH   dummyHash
	bergson  *bergsonAPI
	// staleLogged is when (unix seconds) a stale token was last logged;
	// staleMuted counts those not logged since.
	staleLogged, staleMuted atomic.Int64
}

// reqCtx carries what a handler may need besides its arguments.
type reqCtx struct {
	log      *slog.Logger
	request  string
	clientIP string
	// check is the reserved password check of a lock-out-counted request.
	check *passwordCheck
}

// New builds a Server.
func New(opts Options, deps Deps) (*Server, error) {
	if opts.Social.StateTTL <= 0 {
		opts.Social.StateTTL = DefaultSocialStateTTL
	}
	codec, err := wire.NewCodec(opts.Secret, opts.RequestTTL)
	if err != nil {
		return nil, err
	}
	if opts.MaxBodySize <= 0 {
		opts.MaxBodySize = 1 << 20
	}
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if deps.PII == nil {
		return nil, errors.New("api: a PII hasher is required")
	}
	if opts.Tracer == nil {
		opts.Tracer = noop.NewTracerProvider().Tracer("authnzrv")
	}
	requests, err := requestIndex()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, codec: codec, deps: deps, log: deps.Logger, hosts: hostPattern(opts.AllowedHosts), requests: requests}
	s.e = s.router()
	return s, nil
}

// now is the server's clock.
func (s *Server) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

// sleep waits for d or until ctx ends.
func (s *Server) sleep(ctx context.Context, d time.Duration) {
	if s.opts.Sleep != nil {
		s.opts.Sleep(ctx, d)
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Codec returns the server's wire codec.
func (s *Server) Codec() *wire.Codec { return s.codec }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.e.ServeHTTP(w, r) }

// hostPattern builds the allowed-hosts matcher (protocol.md §8): entries are
// matched exactly, as written.
func hostPattern(list string) *regexp.Regexp {
	var alts []string
	for _, h := range strings.Split(list, ";") {
		if h = strings.TrimSpace(h); h != "" {
			alts = append(alts, regexp.QuoteMeta(h))
		}
	}
	return regexp.MustCompile("^(?:" + strings.Join(alts, "|") + ")$")
}

const (
	body400 = "HTTP 400: Could not service this request because of invalid request parameters."
	body401 = "HTTP 401: Could not service this request because of invalid request authentication token or violation of host restriction."
	body429 = "HTTP 429: Could not service this request because the set rate limit has been exceeded."
	body503 = "HTTP 503: Could not service this request because a store shared by the server's instances (Redis) is unavailable. Try again later."
	page404 = "<html><title>404: Not Found</title><body>404: Not Found</body></html>"
)

func plainError(code int) string {
	switch code {
	case http.StatusBadRequest:
		return body400
	case http.StatusUnauthorized:
		return body401
	case http.StatusTooManyRequests:
		return body429
	case http.StatusServiceUnavailable:
		return body503
	}
	return fmt.Sprintf("HTTP %d: Could not service this request.", code)
}

// writePlain sends one of the reference's plain-text error bodies.
func writePlain(c echo.Context, code int) error {
	if code == http.StatusTooManyRequests {
		c.Response().Header().Set("Retry-After", "180")
	}
	c.Response().Header().Set(echo.HeaderContentType, "text/plain; charset=UTF-8")
	c.Response().WriteHeader(code)
	_, err := c.Response().Write([]byte(plainError(code)))
	return err
}

func writeNotFound(c echo.Context) error {
	return c.HTML(http.StatusNotFound, page404)
}

func (s *Server) router() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// Echo's own lines go through the server's logger, in its format.
	e.Logger = newEchoLogger(s.log)
	e.StdLogger = slog.NewLogLogger(s.log.With("source", "echo").Handler(), slog.LevelError)
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		code := http.StatusInternalServerError
		var he *echo.HTTPError
		if errors.As(err, &he) {
			code = he.Code
		}
		path := c.Request().URL.Path
		switch {
		case code == http.StatusNotFound:
			_ = writeNotFound(c)
		case path == "/" || path == "/health":
			_ = writePlain(c, code)
		default:
			_ = c.HTML(code, fmt.Sprintf("<html><title>%d: %s</title><body>%d: %s</body></html>", code, http.StatusText(code), code, http.StatusText(code)))
		}
	}
	e.Pre(s.hostFilter)
	e.POST("/", s.serveAPI)
	e.GET("/health", s.serveHealth)
	if s.opts.Metrics != nil {
		e.GET("/metrics", echo.WrapHandler(s.opts.Metrics.Handler()))
	}
	if s.opts.DebugMode {
		e.POST("/echo", s.serveEcho)
	}
	if s.opts.Bergson.Enabled {
		s.mountBergson(e)
	}
	return e
}

// hostFilter answers 404 for a Host header outside the allowed list.
func (s *Server) hostFilter(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		host := strings.ToLower(c.Request().Host)
		if host == "" {
			host = "127.0.0.1"
		}
		if h, _, err := net.SplitHostPort(host); err == nil {
			if strings.Contains(h, ":") {
				h = "[" + h + "]"
			}
			host = h
		}
		if !s.hosts.MatchString(host) {
			return writeNotFound(c)
		}
		// Every other method on the known paths is a 405 (protocol.md §6.2),
		// OPTIONS and HEAD included.
		method := c.Request().Method
		switch c.Request().URL.Path {
		case "/":
			if method != http.MethodPost {
				return writePlain(c, http.StatusMethodNotAllowed)
			}
		case "/health", "/metrics":
			if method != http.MethodGet {
				return writePlain(c, http.StatusMethodNotAllowed)
			}
		case "/echo":
			if s.opts.DebugMode && method != http.MethodPost {
				return echo.NewHTTPError(http.StatusMethodNotAllowed)
			}
		}
		return next(c)
	}
}

// readBody reads at most MaxBodySize bytes; more is a 413, answered before
// reading when the request announces its length (so that a client waiting
// for "100 Continue" gets the 413 instead).
func (s *Server) readBody(c echo.Context) ([]byte, int) {
	if c.Request().ContentLength > s.opts.MaxBodySize {
		return nil, http.StatusRequestEntityTooLarge
	}
	r := http.MaxBytesReader(c.Response(), c.Request().Body, s.opts.MaxBodySize)
	b, err := io.ReadAll(r)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, http.StatusRequestEntityTooLarge
		}
		return nil, http.StatusBadRequest
	}
	return b, 0
}

// serveAPI is POST /: the processing pipeline of protocol.md §6.
func (s *Server) serveAPI(c echo.Context) error {
	if s.opts.Metrics == nil {
		return s.serveAPIInner(c)
	}
	start := time.Now()
	err := s.serveAPIInner(c)
	request, _ := c.Get("request").(string)
	outcome, _ := c.Get("outcome").(string)
	if outcome == "" {
		outcome = fmt.Sprintf("http_%d", c.Response().Status)
	}
	s.opts.Metrics.request(s.requestLabel(request), outcome, time.Since(start))
	return err
}

// serveAPIInner is the pipeline; it leaves "request" and "outcome" in c.
func (s *Server) serveAPIInner(c echo.Context) error {
	body, code := s.readBody(c)
	if code != 0 {
		return writePlain(c, code)
	}
	plain, token, err := s.codec.Open(body)
	if err != nil {
		s.logStale(c, err)
		return writePlain(c, http.StatusUnauthorized)
	}
	env, err := DecodeEnvelope(plain)
	if errors.Is(err, ErrFalsy) {
		return writePlain(c, http.StatusUnauthorized)
	}
	if err != nil {
		return writePlain(c, http.StatusBadRequest)
	}
	if env.Request == "echo" {
		return writePlain(c, http.StatusBadRequest)
	}
	ctx, span := s.opts.Tracer.Start(c.Request().Context(), "authnzrv "+s.requestLabel(env.Request),
		trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attribute.String("authnzrv.request", s.requestLabel(env.Request))))
	defer func() {
		outcome, _ := c.Get("outcome").(string)
		if outcome == "" {
			outcome = fmt.Sprintf("http_%d", c.Response().Status)
		}
		span.SetAttributes(attribute.String("authnzrv.outcome", outcome))
		span.End()
	}()
	c.Set("request", env.Request)
	log := s.log.With("reqid", clip(string(env.ReqID), maxEchoedName), "request", clip(env.Request, maxEchoedName))
	switch code := s.replayCheck(ctx, log, token); code {
	case 0:
	case http.StatusServiceUnavailable:
		return writeLimited(c, code, 30*time.Second)
	default:
		return writePlain(c, code)
	}
	if env.ReqID == nil {
		log.Info("request without reqid refused")
		return s.reply(c, nil, fail("request is missing 'reqid'", "The request could not be processed: it has no 'reqid'.").result(nil))
	}
	if !env.HasRequest {
		return s.reply(c, env.ReqID, fail("request is missing 'request'", "The request could not be processed: it has no request type.").result(nil))
	}
	if s.opts.RateLimited && env.ClientIP == "" {
		log.Info("request without client_ipaddr refused")
		return writePlain(c, http.StatusBadRequest)
	}
	if !env.BodyPresent || !env.BodyIsObject {
		return writePlain(c, http.StatusBadRequest)
	}
	ctx = engine.WithRequestID(ctx, clip(string(env.ReqID), maxEchoedName))
	// Password hashes queue fairly per client address (identity/password).
	ctx = password.WithQueueKey(ctx, func() string { return s.deps.PII.Key(env.ClientIP) })
	if s.opts.RateLimited {
		if code, wait := s.rateLimited(ctx, log, s.rateRequest(env, s.requests[env.Request])); code != 0 {
			return writeLimited(c, code, wait)
		}
	}
	rc := &reqCtx{log: log, request: env.Request, clientIP: env.ClientIP}
	res, f := s.dispatch(ctx, rc, env)
	if f != nil && f.Status != 0 {
		return writePlain(c, f.Status)
	}
	if ok, _ := res["success"].(bool); ok {
		c.Set("outcome", "success")
	} else {
		c.Set("outcome", "failure")
	}
	return s.reply(c, env.ReqID, res)
}

// dispatch validates the arguments and runs the request type's handler. A
// returned *Failure with a Status means the client gets that plain HTTP
// status instead of the result.
func (s *Server) dispatch(ctx context.Context, rc *reqCtx, env *Envelope) (Result, *Failure) {
	rt, known := s.requests[env.Request]
	if !known {
		rc.log.Info("unknown request type")
		msg := fmt.Sprintf("request '%s' is not a valid request", clip(env.Request, maxEchoedName))
		return fail(msg, msg).result(nil), nil
	}
	account, counted := "", rt.lockout && s.opts.Lockout.Enabled
	if counted {
		var ok bool
		if account, ok = s.lockoutAccount(env.Body); !ok {
			return nil, badRequest(errMissingEmail)
		}
	}
	args, problems := rt.spec.decode(env.Body)
	if len(problems) > 0 {
		rc.log.Info("invalid request parameters", "problems", len(problems))
		return Result{
			"success":  false,
			"response": map[string]any{"problems": problems, "failure_reason": "invalid request parameters"},
			"messages": []string{fmt.Sprintf("request '%s' has invalid parameters", env.Request)},
		}, nil
	}
	if counted {
		if f := s.reserveCheck(ctx, rc, account); f != nil {
			if f.Err != nil {
				rc.log.Error("request failed", "reason", f.Reason, "error", f.Err)
			}
			return f.result(rt.fields), nil
		}
	}
	res, err := s.run(ctx, rt, rc, args.Interface())
	if err != nil {
		f := asFailure(err, rt.fault)
		if f.Status != 0 {
			rc.log.Info("request refused", "status", f.Status, "error", f.Err)
			if counted {
				s.resolveCheck(ctx, rc, nil)
			}
			return nil, f
		}
		if f.Err != nil {
			rc.log.Log(ctx, f.level(), "request failed", "reason", f.Reason, "error", f.Err)
		} else {
			rc.log.Debug("request refused", "reason", f.Reason)
		}
		res = f.result(rt.fields)
	}
	if counted {
		res = s.resolveCheck(ctx, rc, res)
	}
	return res, nil
}

// run calls a handler, turning a panic into an error so that no client ever
// sees a stack trace and the server keeps serving.
func (s *Server) run(ctx context.Context, rt *request, rc *reqCtx, args any) (res Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in %s: %v", rt.name, r)
		}
	}()
	return rt.run(s, ctx, rc, args)
}

// maxEchoedName is the longest request name echoed back or logged.
const maxEchoedName = 64

// clip cuts an attacker-controlled string for a log line or a message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// reply encrypts and sends a response envelope.
func (s *Server) reply(c echo.Context, reqid json.RawMessage, r Result) error {
	msg, err := encodeResponse(NewResponse(reqid, r))
	if err != nil {
		s.log.Error("encode response", "error", err)
		return writePlain(c, http.StatusInternalServerError)
	}
	out, err := s.codec.SealBytes(msg)
	if err != nil {
		s.log.Error("encode response", "error", err)
		return writePlain(c, http.StatusInternalServerError)
	}
	return c.Blob(http.StatusOK, "text/plain; charset=UTF-8", out)
}

// serveHealth is GET /health: one database probe, reported for each
// configured worker; Health-Ok only when every probe says "ok" (quirk #8).
func (s *Server) serveHealth(c echo.Context) error {
	start := time.Now()
	if s.opts.RateLimited {
		req := limiter.Request{Type: "health", Group: groupIP, ClientIP: s.deps.PII.Key(remoteIP(c.Request()))}
		if code, wait := s.rateLimited(c.Request().Context(), s.log, req); code != 0 {
			return writeLimited(c, code, wait)
		}
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
	defer cancel()
	status := "ok"
	if err := s.deps.Store.Ping(ctx); err != nil {
		s.log.Warn("health probe failed", "error", err)
		status = "database broken"
	}
	workers := map[string]string{}
	for i := 1; i <= s.opts.Workers; i++ {
		workers[fmt.Sprintf("authnzrv-worker-%d", i)] = status
	}
	out := map[string]any{
		"Expected-Workers": s.opts.Workers,
		"Workers":          workers,
		"Check-Time":       time.Since(start).Seconds(),
		"Health-Ok":        status == "ok",
	}
	if s.deps.Engine != nil {
		out["Policy-Revision"] = s.deps.Engine.Revision()
	}
	if l, ok := s.deps.Engine.(interface{ LastLoad() engine.LoadStatus }); ok {
		out["Policy-Reload"] = policyReload(l.LastLoad())
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	code := http.StatusOK
	if status != "ok" {
		code = http.StatusInternalServerError
	}
	return c.Blob(code, "application/json; charset=UTF-8", b)
}

// policyReload is /health's "Policy-Reload": the latest load of the
// policies, the start's until the first reload (At-Start true). A refused
// reload leaves the old policies serving, so it does not make the server
// unhealthy; Error is its one-line reason.
func policyReload(st engine.LoadStatus) map[string]any {
	outcome := "ok"
	if st.Err != "" {
		outcome = "refused"
	}
	return map[string]any{
		"Outcome":  outcome,
		"Error":    st.Err,
		"Time":     st.Time.UTC().Format(time.RFC3339Nano),
		"At-Start": !st.Reload,
		"Revision": st.Revision,
	}
}

// serveEcho is the debug-mode POST /echo (protocol.md §10).
func (s *Server) serveEcho(c echo.Context) error {
	host, _, _ := net.SplitHostPort(c.Request().RemoteAddr)
	if host != "127.0.0.1" {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	body, code := s.readBody(c)
	if code != 0 {
		return echo.NewHTTPError(code)
	}
	plain, _, err := s.codec.Open(body)
	if err != nil {
		return echo.NewHTTPError(http.StatusUnauthorized)
	}
	var obj map[string]any
	if err := json.Unmarshal(plain, &obj); err != nil || obj == nil {
		return echo.NewHTTPError(http.StatusUnauthorized)
	}
	if obj["request"] != "echo" {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	roles, err := s.deps.Store.Roles(c.Request().Context())
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	dbtest := make([]map[string]string, 0, len(roles))
	for _, r := range roles {
		dbtest = append(dbtest, map[string]string{"name": r.Name, "desc": r.Desc})
	}
	obj["dbtest"] = dbtest
	out, err := s.codec.Seal(obj)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	return c.Blob(http.StatusOK, "text/plain; charset=UTF-8", out)
}
