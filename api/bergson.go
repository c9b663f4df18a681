package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/password"
	"github.com/authnzrv/authnzrv/wire/hawk"
)

// The Bergson Authenticator REST API (--bergson): the source's endpoints,
// status codes, JSON keys and error strings (ba_core.py of
// gudmdharalds/bergson_authenticator), over this server's identity store,
// hasher, lock-out and rate limits, with Hawk request signing as the
// source does it with Mohawk and the sender access list decided by the
// Hawk policy (policies/authnzrv/hawk).

// BergsonOptions configure the Bergson Authenticator REST API.
type BergsonOptions struct {
	// Enabled mounts the API (--bergson).
	Enabled bool
	// Senders are the Hawk senders (--hawksenders). Without any, Hawk is
	// off and a request that carries an Authorization header is refused,
	// as the source does.
	Senders HawkSenders
	// Skew is how far a request's Hawk timestamp may be from the server's
	// clock (--hawknonceexpiry; 0: 60 s).
	Skew time.Duration
	// Nonces remembers Hawk nonces: Redis (ReplayNonces) or, when nil, the
	// database (Deps.Store's hawk_nonces table).
	Nonces HawkNonces
	// ACL decides which sender may call which path (nil: Deps.Engine when
	// it has the Hawk decision).
	ACL HawkDecider
	// Now is the clock of Hawk timestamps (nil: time.Now).
	Now func() time.Time
}

// bergsonAPI is the mounted API's state.
type bergsonAPI struct {
	opts BergsonOptions
	// lastPurge is when the nonce purge last ran (Unix seconds).
	lastPurge atomic.Int64
}

func (b *bergsonAPI) now() time.Time {
	if b.opts.Now != nil {
		return b.opts.Now()
	}
	return time.Now()
}

// The source's answers.
const (
	errBergsonNotFound   = "Not found."
	errBergsonSignature  = "Signature validation of your request failed."
	errBergsonACL        = "Access to resource is denied"
	errBergsonMissing2   = "Username and/or password missing"
	errBergsonMissing1   = "Username missing"
	errBergsonDB         = "Database communication error"
	errBergsonBadUser    = "Username is not acceptable"
	errBergsonBadPass    = "Password is not acceptable"
	errBergsonExists     = "Account exists"
	errBergsonNoAccount  = "Account does not exist"
	errBergsonNotUpdated = "Account-information could not be updated"
	errBergsonDenied     = "Access denied"
	// This server's own refusals (the source has no rate limits or
	// hashing queue): JSON like the rest.
	errBergsonLimited = "Too many requests. Try again later."
	errBergsonBusy    = "The server is busy. Try again later."
)

// maxBergsonBody bounds a Bergson request body (a username and a password
// take well under 1 KiB). A longer body is not read: it has no parameters,
// which the source answers as for any body it cannot parse.
const maxBergsonBody = 64 << 10

// bergsonEndpoint is one path of the API.
type bergsonEndpoint struct {
	name   string // rate-limit request type "bergson-" + name
	path   string // the /v1/... path (the Hawk policy is asked with it)
	method string
	handle func(s *Server, ctx context.Context, rc *reqCtx, p bergsonParams) bergsonReply
}

// bergsonReply is a handler's answer: status, JSON body, extra headers.
type bergsonReply struct {
	status int
	body   jsonObject
	raw    string // the body when it is not an object (OPTIONS: "")
	header map[string]string
}

// jsonObject is a JSON object with its keys in order, encoded as Python's
// json.dumps writes it ({"status": 1, "message": "..."}).
type jsonObject []jsonPair

type jsonPair struct {
	key string
	val any
}

func (o jsonObject) encode() []byte {
	var b strings.Builder
	b.WriteByte('{')
	for i, p := range o {
		if i > 0 {
			b.WriteString(", ")
		}
		k, _ := json.Marshal(p.key)
		v, _ := json.Marshal(p.val)
		b.Write(k)
		b.WriteString(": ")
		b.Write(v)
	}
	b.WriteByte('}')
	return []byte(b.String())
}

func bergsonError(status int, msg string) bergsonReply {
	return bergsonReply{status: status, body: jsonObject{{"error", msg}}}
}

func bergsonOK(pairs ...jsonPair) bergsonReply {
	return bergsonReply{status: http.StatusOK, body: append(jsonObject{{"status", 1}}, pairs...)}
}

var bergsonEndpoints = []bergsonEndpoint{
	{"create", "/v1/account/create", http.MethodPost, (*Server).bergsonCreate},
	{"authenticate", "/v1/account/authenticate", http.MethodPost, (*Server).bergsonAuthenticate},
	{"exists", "/v1/account/exists", http.MethodGet, (*Server).bergsonExists},
	{"passwordchange", "/v1/account/passwordchange", http.MethodPut, (*Server).bergsonPasswordChange},
	{"disable", "/v1/account/disable", http.MethodPut, (*Server).bergsonDisable},
	{"enable", "/v1/account/enable", http.MethodPut, (*Server).bergsonEnable},
	{"health", "/v1/service/health", http.MethodGet, (*Server).bergsonHealth},
}

// mountBergson adds the API's routes: every /v1 path, the unversioned
// account aliases of the source's first README (/create, /authenticate,
// ...), and a JSON 404 for every other path.
func (s *Server) mountBergson(e *echo.Echo) {
	b := &bergsonAPI{opts: s.opts.Bergson}
	if b.opts.Skew <= 0 {
		b.opts.Skew = hawk.DefaultSkew
	}
	if b.opts.ACL == nil {
		b.opts.ACL, _ = s.deps.Engine.(HawkDecider)
	}
	if b.opts.Nonces == nil {
		b.opts.Nonces = s.deps.Store
	}
	s.bergson = b
	for _, ep := range bergsonEndpoints {
		e.Any(ep.path, s.bergsonHandler(ep))
		if strings.HasPrefix(ep.path, "/v1/account/") {
			e.Any("/"+ep.name, s.bergsonHandler(ep))
		}
	}
	e.Any("/*", func(c echo.Context) error {
		return s.bergsonWrite(c, nil, bergsonError(http.StatusNotFound, errBergsonNotFound))
	})
}

// bergsonHandler runs one endpoint: the method (another one is the
// source's 404), the rate limit, the parameters, the Hawk signature and
// the sender's access, then the handler; the reply is signed.
func (s *Server) bergsonHandler(ep bergsonEndpoint) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method != ep.method && r.Method != http.MethodOptions {
			return s.bergsonWrite(c, nil, bergsonError(http.StatusNotFound, errBergsonNotFound))
		}
		ctx := r.Context()
		ip := remoteIP(r)
		name := "bergson-" + ep.name
		if r.Method == http.MethodOptions {
			name = "bergson-options"
		}
		log := s.log.With("request", name)
		if s.opts.RateLimited {
			req := s.rateRequest(&Envelope{Request: name, ClientIP: ip, Body: map[string]any{}}, nil)
			req.Type = name
			if code, wait := s.rateLimited(ctx, log, req); code != 0 {
				c.Response().Header().Set("Retry-After", strconv.Itoa(max(int(wait.Round(time.Second)/time.Second), 1)))
				return s.bergsonWrite(c, nil, bergsonError(code, errBergsonLimited))
			}
		}
		body, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, min(s.opts.MaxBodySize, maxBergsonBody)))
		if err != nil {
			body = nil
			log.Info("Bergson request body unreadable or too large; no parameters", "error", err)
		}
		ct := bergsonContentType(r.Header.Values(echo.HeaderContentType))
		params := parseBergsonParams(r.Method, ct, r.URL.RawQuery, body)
		canon, err := params.canonical()
		if err != nil {
			log.Info("Bergson request refused: its parameters have no canonical form")
			return s.bergsonWrite(c, nil, bergsonError(http.StatusUnauthorized, errBergsonSignature))
		}
		var signed *hawk.Result
		if len(s.bergson.opts.Senders) == 0 {
			if _, sent := r.Header["Authorization"]; sent {
				log.Warn("Bergson request with an Authorization header refused: Hawk is off (no --hawksenders)")
				return s.bergsonWrite(c, nil, bergsonError(http.StatusUnauthorized, errBergsonSignature))
			}
		} else {
			if !params.fromJSON && !isASCII(canon) {
				// The source UTF-8-encodes the byte string: non-ASCII fails.
				log.Info("Bergson request refused: non-ASCII form parameters cannot be signed")
				return s.bergsonWrite(c, nil, bergsonError(http.StatusUnauthorized, errBergsonSignature))
			}
			if signed, err = s.hawkAuthenticate(ctx, r, ct, []byte(canon)); err != nil {
				log.Info("Bergson request refused: Hawk signature", "reason", hawkReason(err))
				return s.bergsonWrite(c, nil, bergsonError(http.StatusUnauthorized, errBergsonSignature))
			}
			log = log.With("sender", signed.Credentials.ID)
			if ok := s.hawkAllowed(ctx, log, signed.Credentials.ID, ep.path); !ok {
				return s.bergsonWrite(c, nil, bergsonError(http.StatusUnauthorized, errBergsonACL))
			}
		}
		var reply bergsonReply
		if r.Method == http.MethodOptions {
			reply = bergsonReply{status: http.StatusOK, raw: `""`, header: map[string]string{"Allow": ep.method + ",OPTIONS"}}
		} else {
			ctx = password.WithQueueKey(ctx, func() string { return s.deps.PII.Key(ip) })
			reply = ep.handle(s, ctx, &reqCtx{log: log, request: name, clientIP: ip}, params)
		}
		return s.bergsonWrite(c, signed, reply)
	}
}

// hawkAllowed asks the Hawk policy; an error refuses.
func (s *Server) hawkAllowed(ctx context.Context, log interface {
	Info(string, ...any)
	Error(string, ...any)
}, sender, path string) bool {
	acl := s.bergson.opts.ACL
	if acl == nil {
		log.Error("Bergson request refused: no Hawk policy")
		return false
	}
	d, err := acl.Hawk(ctx, engine.HawkInput{Sender: sender, Path: path})
	if err != nil {
		log.Error("Bergson request refused: Hawk policy failed", "error", err)
		return false
	}
	if !d.Allowed {
		log.Info("Bergson request refused by the Hawk policy", "path", path, "reason", d.Reason)
	}
	return d.Allowed
}

// hawkReason names a Hawk failure for the log (never a MAC or key).
func hawkReason(err error) string {
	for _, e := range []error{hawk.ErrMissing, hawk.ErrMalformed, hawk.ErrUnknownID, hawk.ErrBadMAC, hawk.ErrBadHash,
		hawk.ErrReplay, hawk.ErrStale} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return "server error: " + err.Error()
}

// bergsonWrite sends a reply as the source does: JSON, no caching, and a
// Server-Authorization header over the body when the request was signed.
func (s *Server) bergsonWrite(c echo.Context, signed *hawk.Result, r bergsonReply) error {
	body := []byte(r.raw)
	if r.body != nil {
		body = r.body.encode()
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, ctJSON)
	h.Set("Cache-Control", "no-cache")
	h.Set("Pragma", "no-cache")
	for k, v := range r.header {
		h.Set(k, v)
	}
	if signed != nil {
		sa, err := hawk.ServerAuthorization(signed, ctJSON, body, "")
		if err != nil {
			s.log.Error("sign a Bergson response", "error", err)
			r, body = bergsonError(http.StatusInternalServerError, errBergsonSignature), nil
			body = r.body.encode()
		} else {
			h.Set("Server-Authorization", sa)
		}
	}
	c.Response().WriteHeader(r.status)
	_, err := c.Response().Write(body)
	return err
}

// bergsonUser reads and checks the username parameter: nil reply when it
// is acceptable.
func bergsonUser(p bergsonParams) (string, *bergsonReply) {
	u, _, isStr := p.str("username")
	if !isStr || !validBergsonUsername(u) {
		r := bergsonError(http.StatusNotAcceptable, errBergsonBadUser)
		return "", &r
	}
	return u, nil
}

// bergsonNewPassword reads and checks a new password.
func bergsonNewPassword(p bergsonParams) (string, *bergsonReply) {
	pw, _, isStr := p.str("password")
	if !isStr || !validBergsonPassword(pw) {
		r := bergsonError(http.StatusNotAcceptable, errBergsonBadPass)
		return "", &r
	}
	return pw, nil
}

// bergsonHash hashes a new password with the server's hasher.
func (s *Server) bergsonHash(ctx context.Context, rc *reqCtx, pw string) (string, *bergsonReply) {
	h, err := s.deps.Hasher.Hash(ctx, pw)
	if err != nil {
		rc.log.Warn("password hashing busy", "error", err)
		r := bergsonError(http.StatusServiceUnavailable, errBergsonBusy)
		return "", &r
	}
	return h, nil
}

// bergsonCreate is POST /v1/account/create (ba_handler_account_create).
func (s *Server) bergsonCreate(ctx context.Context, rc *reqCtx, p bergsonParams) bergsonReply {
	if !p.has("username", "password") {
		return bergsonError(http.StatusBadRequest, errBergsonMissing2)
	}
	user, bad := bergsonUser(p)
	if bad != nil {
		return *bad
	}
	pw, bad := bergsonNewPassword(p)
	if bad != nil {
		return *bad
	}
	switch _, err := s.deps.Store.UserByEmail(ctx, user); {
	case err == nil:
		return bergsonError(http.StatusUnprocessableEntity, errBergsonExists)
	case !errors.Is(err, identity.ErrNotFound):
		rc.log.Error("Bergson create", "error", err)
		return bergsonError(http.StatusInternalServerError, errBergsonDB)
	}
	hash, bad := s.bergsonHash(ctx, rc, pw)
	if bad != nil {
		return *bad
	}
	u, err := s.deps.Store.CreateBergsonAccount(ctx, user, hash)
	switch {
	case errors.Is(err, identity.ErrDuplicate):
		return bergsonError(http.StatusUnprocessableEntity, errBergsonExists)
	case err != nil:
		rc.log.Error("Bergson create", "error", err)
		return bergsonError(http.StatusInternalServerError, errBergsonDB)
	}
	rc.log.Info("Bergson account created", "user", s.deps.PII.Hash(u.UserID))
	return bergsonOK(jsonPair{"username", user})
}

// bergsonExists is GET /v1/account/exists (ba_handler_account_exists).
func (s *Server) bergsonExists(ctx context.Context, rc *reqCtx, p bergsonParams) bergsonReply {
	if !p.has("username") {
		return bergsonError(http.StatusBadRequest, errBergsonMissing1)
	}
	user, bad := bergsonUser(p)
	if bad != nil {
		return *bad
	}
	switch _, err := s.deps.Store.UserByEmail(ctx, user); {
	case errors.Is(err, identity.ErrNotFound):
		return bergsonError(http.StatusNotFound, errBergsonNoAccount)
	case err != nil:
		rc.log.Error("Bergson exists", "error", err)
		return bergsonError(http.StatusInternalServerError, errBergsonDB)
	}
	return bergsonOK(jsonPair{"message", "Account exists"})
}

// bergsonPasswordChange is PUT /v1/account/passwordchange
// (ba_handler_account_passwordchange): the new password is hashed with
// argon2id.
func (s *Server) bergsonPasswordChange(ctx context.Context, rc *reqCtx, p bergsonParams) bergsonReply {
	if !p.has("username", "password") {
		return bergsonError(http.StatusBadRequest, errBergsonMissing2)
	}
	user, bad := bergsonUser(p)
	if bad != nil {
		return *bad
	}
	pw, bad := bergsonNewPassword(p)
	if bad != nil {
		return *bad
	}
	switch _, err := s.deps.Store.UserByEmail(ctx, user); {
	case errors.Is(err, identity.ErrNotFound):
		return bergsonError(http.StatusNotFound, errBergsonNoAccount)
	case err != nil:
		rc.log.Error("Bergson password change", "error", err)
		return bergsonError(http.StatusInternalServerError, errBergsonDB)
	}
	hash, bad := s.bergsonHash(ctx, rc, pw)
	if bad != nil {
		return *bad
	}
	switch err := s.deps.Store.SetAccountPassword(ctx, user, hash); {
	case errors.Is(err, identity.ErrNotFound):
		return bergsonError(http.StatusNotFound, errBergsonNoAccount)
	case err != nil:
		rc.log.Error("Bergson password change", "error", err)
		return bergsonError(http.StatusInternalServerError, errBergsonNotUpdated)
	}
	return bergsonOK(jsonPair{"message", "Updated password"})
}

// bergsonEnable and bergsonDisable are PUT /v1/account/enable and
// /v1/account/disable (ba_handler_account_enable_or_disable): they set
// is_active and nothing else.
func (s *Server) bergsonEnable(ctx context.Context, rc *reqCtx, p bergsonParams) bergsonReply {
	return s.bergsonSetEnabled(ctx, rc, p, true)
}

func (s *Server) bergsonDisable(ctx context.Context, rc *reqCtx, p bergsonParams) bergsonReply {
	return s.bergsonSetEnabled(ctx, rc, p, false)
}

func (s *Server) bergsonSetEnabled(ctx context.Context, rc *reqCtx, p bergsonParams, enabled bool) bergsonReply {
	if !p.has("username") {
		return bergsonError(http.StatusBadRequest, errBergsonMissing1)
	}
	user, bad := bergsonUser(p)
	if bad != nil {
		return *bad
	}
	switch err := s.deps.Store.SetAccountEnabled(ctx, user, enabled); {
	case errors.Is(err, identity.ErrNotFound):
		return bergsonError(http.StatusNotFound, errBergsonNoAccount)
	case err != nil:
		rc.log.Error("Bergson enable/disable", "error", err)
		return bergsonError(http.StatusInternalServerError, errBergsonNotUpdated)
	}
	word := "disabled"
	if enabled {
		word = "enabled"
	}
	return bergsonOK(jsonPair{"message", "Account " + word})
}

// bergsonHealth is GET /v1/service/health (ba_handler_service_health).
func (s *Server) bergsonHealth(ctx context.Context, rc *reqCtx, _ bergsonParams) bergsonReply {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.deps.Store.Ping(ctx); err != nil {
		rc.log.Warn("Bergson health probe failed", "error", err)
		return bergsonReply{status: http.StatusInternalServerError, body: jsonObject{{"status", 0}}}
	}
	return bergsonOK()
}

// bergsonAuthenticate is POST /v1/account/authenticate
// (ba_handler_authenticate) over this server's lock-out: the check is
// reserved for the account (the username) before the password is
// evaluated and resolved after, exactly as user-login does, so the same
// failures count across both APIs. Unknown, disabled and locked accounts
// cost one dummy verification; a right password of an account whose hash
// is an imported PBKDF2 one (or an outdated argon2id one) is rehashed.
func (s *Server) bergsonAuthenticate(ctx context.Context, rc *reqCtx, p bergsonParams) bergsonReply {
	if !p.has("username", "password") {
		return bergsonError(http.StatusBadRequest, errBergsonMissing2)
	}
	user, bad := bergsonUser(p)
	if bad != nil {
		return *bad
	}
	// The source hashes str(password) whatever its type.
	pw, err := pyStr(p.m["password"])
	if err != nil {
		pw = ""
	}
	if s.opts.Lockout.Enabled {
		if f := s.reserveCheck(ctx, rc, user); f != nil {
			if f.Err != nil {
				rc.log.Error("Bergson authenticate", "error", f.Err)
				return bergsonError(http.StatusInternalServerError, errBergsonDB)
			}
			return bergsonError(http.StatusForbidden, errBergsonDenied)
		}
	}
	match, u, reply := s.bergsonCheck(ctx, rc, user, pw)
	if s.opts.Lockout.Enabled {
		res := s.resolveCheck(ctx, rc, Result{"success": match})
		if ok, _ := res["success"].(bool); match && !ok {
			return bergsonError(http.StatusForbidden, errBergsonDenied)
		}
	}
	if reply != nil {
		return *reply
	}
	if !match {
		rc.log.Info("Bergson authentication failed")
		return bergsonError(http.StatusForbidden, errBergsonDenied)
	}
	if s.deps.Hasher.NeedsRehash(u.Password) {
		if h, err := s.deps.Hasher.Hash(ctx, pw); err == nil {
			if err := s.deps.Store.SetPasswordHash(ctx, u.UserID, u.Email, h); err != nil {
				rc.log.Error("rehash on authenticate", "error", err)
			} else {
				rc.log.Info("password rehashed", "user", s.deps.PII.Hash(u.UserID))
			}
		}
	}
	rc.log.Info("Bergson authentication succeeded", "user", s.deps.PII.Hash(u.UserID))
	return bergsonOK(jsonPair{"authenticated", true})
}

// bergsonCheck evaluates a password: match, the user, or the reply of a
// check that could not run (then nothing counts: rc.checked is not called).
func (s *Server) bergsonCheck(ctx context.Context, rc *reqCtx, user, pw string) (bool, *identity.User, *bergsonReply) {
	busy := func(err error) (bool, *identity.User, *bergsonReply) {
		rc.log.Warn("password hashing busy", "error", err)
		r := bergsonError(http.StatusServiceUnavailable, errBergsonBusy)
		return false, nil, &r
	}
	u, err := s.deps.Store.UserByEmail(ctx, user)
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		rc.log.Error("Bergson authenticate", "error", err)
		r := bergsonError(http.StatusInternalServerError, errBergsonDB)
		return false, nil, &r
	}
	deny := "no_such_user"
	if err == nil {
		if deny, err = s.admit(ctx, engine.AdminInput{Op: "login", Target: adminUser(u)}); err != nil {
			rc.log.Error("Bergson authenticate: admin policy", "error", err)
			r := bergsonError(http.StatusInternalServerError, errBergsonDB)
			return false, nil, &r
		}
	}
	match := false
	if deny == "no_such_user" || deny == "not_active" || deny == "not_verified" {
		if err := s.dummy(ctx); err != nil {
			return busy(err)
		}
	} else if match, err = s.verify(ctx, u.Password, pw); err != nil {
		if errors.Is(err, password.ErrMalformed) {
			rc.log.Error("Bergson authenticate: unreadable stored hash", "user", s.deps.PII.Hash(u.UserID))
			match = false
		} else {
			return busy(err)
		}
	}
	rc.checked(match)
	if match && deny != "" {
		rc.log.Info("Bergson authentication refused by the admin policy", "deny", deny)
		match = false
	}
	return match, u, nil
}
