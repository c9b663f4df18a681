package frontend

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/authnzrv/authnzrv/identity/validate"
)

// ErrNoSession is returned by Login and Logout for requests that did not
// pass through the middleware's session handling.
var ErrNoSession = errors.New("frontend: the request has no session (is the handler behind Middleware.Handler?)")

// LoginResult is the outcome of Login.
type LoginResult struct {
	// OK reports a successful login.
	OK bool
	// Session is the session now in the cookie: the user's on success, a
	// fresh anonymous one on failure.
	Session Session
	// Messages are authnzrv's messages about the attempt, safe to show to
	// the end user (they do not say whether the account exists).
	Messages []string
}

// Login checks email and password with user-login on the request's
// session. authnzrv always deletes the presented session; on success Login
// creates a session for the user and sets the cookie to it (session
// rotation), on failure it sets the cookie to a new anonymous session.
// Call it before writing the response body; the request's context still
// holds the old session, so answer with a redirect. The e-mail is
// normalised as sign-up stores it. An error means authnzrv could not be
// asked or could not create the new session.
func (m *Middleware) Login(w http.ResponseWriter, r *http.Request, email, password string) (LoginResult, error) {
	ctx := r.Context()
	cur, ok := SessionFrom(ctx)
	if !ok {
		return LoginResult{}, ErrNoSession
	}
	email = validate.NormalizeEmail(email)
	reply, err := m.call(ctx, clientIPFrom(ctx), "user-login", map[string]any{
		"session_token": cur.Token, "email": email, "password": password,
	})
	if err != nil {
		return LoginResult{}, err
	}
	if !reply.Success {
		m.log.Info("login failed", "reason", reply.Reason())
		s, err := m.newSession(ctx, w, r, 0)
		return LoginResult{Session: s, Messages: reply.Messages}, err
	}
	uid, ok := intKey(reply.Response, "user_id")
	if !ok || uid <= 0 {
		return LoginResult{}, errors.New("frontend: user-login succeeded without a user_id")
	}
	s, err := m.newSession(ctx, w, r, uid)
	if err != nil {
		return LoginResult{}, err
	}
	s.Role, s.Email = strKey(reply.Response, "user_role"), email
	if full, found, err := m.lookup(ctx, s.Token); err != nil {
		m.log.Warn("session-exists after login failed", "error", err)
	} else if found {
		s = full
	}
	m.log.Info("login succeeded", "session", s)
	return LoginResult{OK: true, Session: s, Messages: reply.Messages}, nil
}

// Logout ends the request's session with user-logout and sets the cookie to
// a new anonymous session, which it returns. Call it before writing the
// response body.
func (m *Middleware) Logout(w http.ResponseWriter, r *http.Request) (Session, error) {
	ctx := r.Context()
	cur, ok := SessionFrom(ctx)
	if !ok {
		return Session{}, ErrNoSession
	}
	reply, err := m.call(ctx, clientIPFrom(ctx), "user-logout", map[string]any{
		"session_token": cur.Token, "user_id": cur.UserID,
	})
	if err != nil {
		return Session{}, err
	}
	if !reply.Success {
		// The session is gone or not this user's: either way it is not
		// used any more.
		m.log.Info("logout refused", "reason", reply.Reason(), "session", cur)
	}
	return m.newSession(ctx, w, r, 0)
}

// SignUpResult is the outcome of SignUp.
type SignUpResult struct {
	// OK reports that a new account was created.
	OK bool
	// UserID is the account's id when authnzrv returned one: the new
	// account's, or, when the e-mail was already registered, the existing
	// account's. Do not show it: it would tell whether an address has an
	// account.
	UserID int64
	// Email is the normalised e-mail address the account is stored under.
	Email string
	// SendVerification reports that a verification e-mail must be sent
	// (also true for an unverified existing account whose retry wait has
	// passed). The account cannot log in until user-set-emailverified.
	SendVerification bool
	// Reason is authnzrv's failure_reason ("" on success), for logs.
	Reason string
	// Messages are authnzrv's messages, safe to show to the end user.
	Messages []string
}

// SignUp creates an account with user-new. When ctx is a request context
// under the middleware, authnzrv sees the end user's address (sign-up is
// rate-limited per address). An error means authnzrv could not be asked.
func (m *Middleware) SignUp(ctx context.Context, fullName, email, password string) (SignUpResult, error) {
	reply, err := m.call(ctx, clientIPFrom(ctx), "user-new", map[string]any{
		"full_name": fullName, "email": email, "password": password,
	})
	if err != nil {
		return SignUpResult{}, err
	}
	res := SignUpResult{
		OK: reply.Success, Email: strKey(reply.Response, "user_email"), Reason: reply.Reason(), Messages: reply.Messages,
	}
	res.UserID, _ = intKey(reply.Response, "user_id")
	res.SendVerification, _ = reply.Response["send_verification"].(bool)
	if !res.OK {
		m.log.Info("sign-up refused", "reason", res.Reason)
	}
	return res, nil
}

// RequireUser wraps next so that it runs only for a logged-in user (a
// non-anonymous session) or a request authenticated with an API key. Other
// requests get 401, or a 303 redirect to Options.LoginURL for GET and HEAD
// when it is set. It must run behind Handler.
func (m *Middleware) RequireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := APIKeyFrom(r.Context()); ok {
			next.ServeHTTP(w, r)
			return
		}
		if s, ok := SessionFrom(r.Context()); ok && !s.Anonymous() {
			next.ServeHTTP(w, r)
			return
		}
		if m.opts.LoginURL != "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			http.Redirect(w, r, loginRedirect(m.opts.LoginURL, r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		http.Error(w, "login required", http.StatusUnauthorized)
	})
}

// loginRedirect adds next=<target> to the login URL.
func loginRedirect(login, target string) string {
	u, err := url.Parse(login)
	if err != nil {
		return login
	}
	q := u.Query()
	q.Set("next", target)
	u.RawQuery = q.Encode()
	return u.String()
}
