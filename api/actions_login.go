package api

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/password"
)

// errHashBusy marks a request that could not get password-hashing capacity.
var errHashBusy = errors.New("password hashing capacity exhausted")

// busyFailure is the reply when the hashing queue has no room: at once,
// with the seconds after which a retry is likely to find room.
func busyFailure(cause error) *Failure {
	retry := 1
	var be *password.BusyError
	if errors.As(cause, &be) {
		retry = max(int(be.RetryAfter.Round(time.Second)/time.Second), 1)
	}
	return fail("server is busy, try again later", "The server is busy. Please try again in a moment.").
		with("user_id", nil, "retry_after", retry)
}

// dummyHash holds the stored hash of system user 3, against which failure
// paths verify so that they cost what a real verification costs.
type dummyHash struct {
	mu   sync.Mutex
	hash string
}

func (s *Server) dummy(ctx context.Context) error {
	s.dummyH.mu.Lock()
	h := s.dummyH.hash
	s.dummyH.mu.Unlock()
	if h == "" {
		u, err := s.deps.Store.UserByID(ctx, 3)
		if err != nil {
			return fmt.Errorf("load the dummy user's hash: %w", err)
		}
		h = u.Password
		s.dummyH.mu.Lock()
		s.dummyH.hash = h
		s.dummyH.mu.Unlock()
	}
	_, err := s.verify(ctx, h, "nope")
	return err
}

// verify checks a password; hashing errors (budget, context) are errHashBusy.
func (s *Server) verify(ctx context.Context, hash, pw string) (bool, error) {
	ok, err := s.deps.Hasher.Verify(ctx, hash, pw)
	if err != nil {
		return false, fmt.Errorf("%w: %w", errHashBusy, err)
	}
	return ok, nil
}

// dummies runs n dummy verifications.
func (s *Server) dummies(ctx context.Context, n int) error {
	for range n {
		if err := s.dummy(ctx); err != nil {
			return err
		}
	}
	return nil
}

// hashErr turns a hashing error into the busy reply; other errors pass.
func hashErr(rc *reqCtx, err error) error {
	if errors.Is(err, errHashBusy) {
		rc.log.Warn("password hashing busy", "error", err)
		return busyFailure(err)
	}
	return err
}

const msgBadLogin = "Sorry, that user ID and password combination didn't work."

// loginArgs are user-login's arguments.
type loginArgs struct {
	SessionToken string `arg:"session_token" type:"str" max:"512"`
	Email        string `arg:"email" type:"str" max:"280"`
	Password     string `arg:"password" type:"str" max:"1024"`
}

// badLogin is the failed-login answer.
func badLogin() *Failure {
	return fail("user does not exist or password doesn't match", msgBadLogin)
}

// userLogin is user-login (actions.md §2.1). Every path performs two
// verifications (quirk #10 fixed for unknown and inactive users). A user
// with a second factor on gets "second factor required" and a challenge
// for user-login-totp instead of a success.
func (s *Server) userLogin(ctx context.Context, rc *reqCtx, a *loginArgs) (Result, error) {
	pw := a.Password // the hasher uses its first 256 characters
	if _, err := s.deps.Store.LiveSession(ctx, a.SessionToken); err != nil {
		if !errors.Is(err, identity.ErrNotFound) {
			return nil, err
		}
		if err := s.dummies(ctx, 2); err != nil {
			return nil, hashErr(rc, err)
		}
		return nil, fail("session does not exist", "No session token provided.")
	}
	if err := s.dummy(ctx); err != nil {
		return nil, hashErr(rc, err)
	}
	u, err := s.userByEmail(ctx, a.Email)
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return nil, err
	}
	deny := "no_such_user"
	if err == nil {
		if deny, err = s.admit(ctx, engine.AdminInput{Op: "login", Target: adminUser(u)}); err != nil {
			return nil, err
		}
	}
	// The policy refuses some users before their password is checked
	// (inactive, unverified: a dummy verification keeps the cost the same)
	// and some after it matched (a locked role).
	match := false
	if deny != "no_such_user" && deny != "not_active" && deny != "not_verified" {
		if match, err = s.verify(ctx, u.Password, pw); err != nil {
			return nil, hashErr(rc, err)
		}
	} else if err := s.dummy(ctx); err != nil {
		return nil, hashErr(rc, err)
	}
	rc.checked(match)
	if _, err := s.deps.Store.DeleteSession(ctx, a.SessionToken); err != nil {
		return nil, err
	}
	if !match {
		rc.log.Info("login failed", "email", s.deps.PII.Hash(a.Email))
		return nil, badLogin()
	}
	if s.deps.Hasher.NeedsRehash(u.Password) {
		if h, err := s.deps.Hasher.Hash(ctx, pw); err == nil {
			if err := s.deps.Store.SetPasswordHash(ctx, u.UserID, u.Email, h); err != nil {
				rc.log.Error("rehash on login", "error", err)
			}
		}
	}
	if deny != "" {
		return nil, fail("user exists but is inactive", msgBadLogin).with("user_id", u.UserID)
	}
	// A user with a second factor is not logged in yet (totp.go).
	if err := s.secondFactor(ctx, rc, u); err != nil {
		return nil, err
	}
	rc.log.Info("login succeeded", "user", s.deps.PII.Hash(u.UserID))
	return Result{"success": true, "user_id": u.UserID, "user_role": u.UserRole, "messages": []string{"Login successful."}}, nil
}

// logoutArgs are user-logout's arguments.
type logoutArgs struct {
	SessionToken string `arg:"session_token" type:"str" max:"512"`
	UserID       int64  `arg:"user_id" type:"int"`
}

// userLogout is user-logout (actions.md §2.2).
func (s *Server) userLogout(ctx context.Context, rc *reqCtx, a *logoutArgs) (Result, error) {
	refuse := func(reason string) error {
		return fail(reason, "Logout failed. Invalid session_token for user_id.").with("user_id", a.UserID)
	}
	si, err := s.deps.Store.LiveSession(ctx, a.SessionToken)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, refuse("session does not exist")
	}
	if err != nil {
		return nil, err
	}
	if si.Session.UserID != a.UserID {
		return nil, refuse("user does not exist")
	}
	n, err := s.deps.Store.DeleteSession(ctx, a.SessionToken)
	if err != nil {
		return nil, err
	}
	if n != 1 {
		return nil, refuse("delete session failed")
	}
	return Result{"success": true, "user_id": si.Session.UserID, "messages": []string{"Logout successful."}}, nil
}

// passcheckOutcome is the common ending of both password checks: after a
// match, the policy says whether the user may pass.
func (s *Server) passcheckOutcome(ctx context.Context, u *identity.User, match bool) (Result, error) {
	if !match {
		return nil, badLogin()
	}
	deny, err := s.admit(ctx, engine.AdminInput{Op: "passcheck", Target: adminUser(u)})
	if err != nil {
		return nil, err
	}
	if deny == "" {
		return Result{"success": true, "user_id": u.UserID, "user_role": u.UserRole, "messages": []string{"Verification successful."}}, nil
	}
	return nil, fail("user exists but is inactive", msgBadLogin).with("user_id", u.UserID)
}

// passcheckArgs are user-passcheck's arguments.
type passcheckArgs struct {
	SessionToken string `arg:"session_token" type:"str" max:"512"`
	Password     string `arg:"password" type:"str" max:"1024"`
}

// userPasscheck is user-passcheck (actions.md §2.3).
func (s *Server) userPasscheck(ctx context.Context, rc *reqCtx, a *passcheckArgs) (Result, error) {
	pw := a.Password
	si, err := s.deps.Store.LiveSession(ctx, a.SessionToken)
	if err != nil {
		if !errors.Is(err, identity.ErrNotFound) {
			return nil, err
		}
		if err := s.dummies(ctx, 2); err != nil {
			return nil, hashErr(rc, err)
		}
		return nil, fail("session does not exist", "No session token provided.")
	}
	if err := s.dummy(ctx); err != nil {
		return nil, hashErr(rc, err)
	}
	match, err := s.verify(ctx, si.User.Password, pw)
	if err != nil {
		return nil, hashErr(rc, err)
	}
	return s.passcheckOutcome(ctx, &si.User, match)
}

// passcheckNoSessionArgs are user-passcheck-nosession's arguments.
type passcheckNoSessionArgs struct {
	Email    string `arg:"email" type:"str" max:"280"`
	Password string `arg:"password" type:"str" max:"1024"`
}

// userPasscheckNoSession is user-passcheck-nosession (actions.md §2.4).
func (s *Server) userPasscheckNoSession(ctx context.Context, rc *reqCtx, a *passcheckNoSessionArgs) (Result, error) {
	pw := a.Password
	if err := s.dummy(ctx); err != nil {
		return nil, hashErr(rc, err)
	}
	u, err := s.userByEmail(ctx, a.Email)
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return nil, err
	}
	match := false
	if err == nil {
		if match, err = s.verify(ctx, u.Password, pw); err != nil {
			return nil, hashErr(rc, err)
		}
	} else if err := s.dummy(ctx); err != nil {
		return nil, hashErr(rc, err)
	}
	rc.checked(match)
	return s.passcheckOutcome(ctx, u, match)
}
