package api

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/authnzrv/authnzrv/identity"
)

// errHashBusy marks a request that could not get password-hashing capacity.
var errHashBusy = errors.New("password hashing capacity exhausted")

// busyFailure is the reply when the hashing budget is exhausted.
func busyFailure() Result {
	r := failure("server is busy, try again later", "The server is busy. Please try again in a moment.")
	r["user_id"] = nil
	return r
}

// truncatePassword keeps the first 256 code points (security.md §1).
func truncatePassword(pw string) string {
	n := 0
	for i := range pw {
		if n == 256 {
			return pw[:i]
		}
		n++
	}
	return pw
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
		return false, fmt.Errorf("%w: %v", errHashBusy, err)
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

// hashErr turns a hashing error into the busy reply, or an action error.
func hashErr(rc *reqCtx, err error) (Result, error) {
	if errors.Is(err, errHashBusy) {
		rc.log.Warn("password hashing busy", "error", err)
		return busyFailure(), nil
	}
	return nil, err
}

const msgBadLogin = "Sorry, that user ID and password combination didn't work."

// userLogin is user-login (actions.md §2.1). Every path performs two
// verifications (quirk #10 fixed for unknown and inactive users).
func (s *Server) userLogin(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	token, email, pw := a.str("session_token"), a.str("email"), truncatePassword(a.str("password"))
	if _, err := s.deps.Store.LiveSession(ctx, token); err != nil {
		if !errors.Is(err, identity.ErrNotFound) {
			return nil, err
		}
		if err := s.dummies(ctx, 2); err != nil {
			return hashErr(rc, err)
		}
		r := failure("session does not exist", "No session token provided.")
		r["user_id"] = nil
		return r, nil
	}
	if err := s.dummy(ctx); err != nil {
		return hashErr(rc, err)
	}
	u, err := s.deps.Store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return nil, err
	}
	match := false
	if err == nil && u.IsActive && u.EmailVerified {
		if match, err = s.verify(ctx, u.Password, pw); err != nil {
			return hashErr(rc, err)
		}
	} else if err := s.dummy(ctx); err != nil {
		return hashErr(rc, err)
	}
	if _, err := s.deps.Store.DeleteSession(ctx, token); err != nil {
		return nil, err
	}
	if !match {
		rc.log.Info("login failed", "email", s.deps.PII.Hash(email))
		r := failure("user does not exist or password doesn't match", msgBadLogin)
		r["user_id"] = nil
		return r, nil
	}
	if s.deps.Hasher.NeedsRehash(u.Password) {
		if h, err := s.deps.Hasher.Hash(ctx, pw); err == nil {
			if err := s.deps.Store.SetPasswordHash(ctx, u.UserID, u.Email, h); err != nil {
				rc.log.Error("rehash on login", "error", err)
			}
		}
	}
	if u.UserRole == "locked" {
		r := failure("user exists but is inactive", msgBadLogin)
		r["user_id"] = u.UserID
		return r, nil
	}
	rc.log.Info("login succeeded", "user", s.deps.PII.Hash(u.UserID))
	return Result{"success": true, "user_id": u.UserID, "user_role": u.UserRole, "messages": []string{"Login successful."}}, nil
}

// userLogout is user-logout (actions.md §2.2).
func (s *Server) userLogout(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	token := a.str("session_token")
	uid, _ := a.int("user_id")
	fail := func(reason string) (Result, error) {
		r := failure(reason, "Logout failed. Invalid session_token for user_id.")
		r["user_id"] = a["user_id"]
		return r, nil
	}
	si, err := s.deps.Store.LiveSession(ctx, token)
	if errors.Is(err, identity.ErrNotFound) {
		return fail("session does not exist")
	}
	if err != nil {
		return nil, err
	}
	if si.Session.UserID != uid {
		return fail("user does not exist")
	}
	n, err := s.deps.Store.DeleteSession(ctx, token)
	if err != nil || n != 1 {
		return fail("delete session failed")
	}
	return Result{"success": true, "user_id": si.Session.UserID, "messages": []string{"Logout successful."}}, nil
}

// passcheckOutcome is the common ending of both password checks.
func passcheckOutcome(u *identity.User, match bool) Result {
	if !match {
		r := failure("user does not exist or password doesn't match", msgBadLogin)
		r["user_id"] = nil
		return r
	}
	if u.IsActive && u.UserRole != "locked" {
		return Result{"success": true, "user_id": u.UserID, "user_role": u.UserRole, "messages": []string{"Verification successful."}}
	}
	r := failure("user exists but is inactive", msgBadLogin)
	r["user_id"] = u.UserID
	return r
}

// userPasscheck is user-passcheck (actions.md §2.3).
func (s *Server) userPasscheck(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	pw := truncatePassword(a.str("password"))
	si, err := s.deps.Store.LiveSession(ctx, a.str("session_token"))
	if err != nil {
		if !errors.Is(err, identity.ErrNotFound) {
			return nil, err
		}
		if err := s.dummies(ctx, 2); err != nil {
			return hashErr(rc, err)
		}
		r := failure("session does not exist", "No session token provided.")
		r["user_id"] = nil
		return r, nil
	}
	if err := s.dummy(ctx); err != nil {
		return hashErr(rc, err)
	}
	match, err := s.verify(ctx, si.User.Password, pw)
	if err != nil {
		return hashErr(rc, err)
	}
	return passcheckOutcome(&si.User, match), nil
}

// userPasscheckNoSession is user-passcheck-nosession (actions.md §2.4).
func (s *Server) userPasscheckNoSession(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	pw := truncatePassword(a.str("password"))
	if err := s.dummy(ctx); err != nil {
		return hashErr(rc, err)
	}
	u, err := s.deps.Store.UserByEmail(ctx, a.str("email"))
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return nil, err
	}
	match := false
	if err == nil {
		if match, err = s.verify(ctx, u.Password, pw); err != nil {
			return hashErr(rc, err)
		}
	} else if err := s.dummy(ctx); err != nil {
		return hashErr(rc, err)
	}
	return passcheckOutcome(u, match), nil
}
