package api

import (
	"context"
	"errors"
	"time"

	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/password"
)

// resetWindow is how long after a forgot-password mail (or a frontend's
// user-set-emailsent "forgotpass") a password reset is accepted.
const resetWindow = 24 * time.Hour

const msgPwNoMatch = "Your current password did not match the stored password."

// changePassArgs are user-changepass's arguments.
type changePassArgs struct {
	UserID          int64  `arg:"user_id" type:"int"`
	SessionToken    string `arg:"session_token" type:"str" max:"512"`
	FullName        string `arg:"full_name" type:"str" max:"280"`
	Email           string `arg:"email" type:"str" max:"280"`
	CurrentPassword string `arg:"current_password" type:"str" max:"1024"`
	NewPassword     string `arg:"new_password" type:"str" max:"1024"`
}

// changePassNoSessionArgs are user-changepass-nosession's arguments.
type changePassNoSessionArgs struct {
	UserID          int64  `arg:"user_id" type:"int"`
	FullName        string `arg:"full_name" type:"str" max:"280"`
	Email           string `arg:"email" type:"str" max:"280"`
	CurrentPassword string `arg:"current_password" type:"str" max:"1024"`
	NewPassword     string `arg:"new_password" type:"str" max:"1024"`
}

// userChangePass is user-changepass (actions.md §4.1): with quirk #17
// fixed, the session must be live and belong to the user; the user's other
// sessions end.
func (s *Server) userChangePass(ctx context.Context, rc *reqCtx, a *changePassArgs) (Result, error) {
	return s.changePassword(ctx, rc, changePassArgs(*a), true)
}

// userChangePassNoSession is user-changepass-nosession (actions.md §4.2).
func (s *Server) userChangePassNoSession(ctx context.Context, rc *reqCtx, a *changePassNoSessionArgs) (Result, error) {
	return s.changePassword(ctx, rc, changePassArgs{UserID: a.UserID, FullName: a.FullName, Email: a.Email,
		CurrentPassword: a.CurrentPassword, NewPassword: a.NewPassword}, false)
}

func (s *Server) changePassword(ctx context.Context, rc *reqCtx, a changePassArgs, withSession bool) (Result, error) {
	uid, email := a.UserID, a.Email
	cur, next := a.CurrentPassword, password.Truncate(a.NewPassword)
	refuse := func(reason string, msgs ...string) *Failure {
		return fail(reason, msgs...).with("user_id", uid, "email", email)
	}
	u, err := s.deps.Store.UserByID(ctx, uid)
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return nil, err
	}
	if err != nil || !s.sameEmail(u.Email, email) || !u.IsActive {
		if err := s.dummy(ctx); err != nil {
			return nil, hashErr(rc, err)
		}
		return nil, refuse("user does not exist", msgPwNoMatch)
	}
	if withSession {
		si, err := s.deps.Store.LiveSession(ctx, a.SessionToken)
		if err != nil && !errors.Is(err, identity.ErrNotFound) {
			return nil, err
		}
		if err != nil || si.Session.UserID != uid {
			if err := s.dummy(ctx); err != nil {
				return nil, hashErr(rc, err)
			}
			return nil, refuse("invalid session for password change", "Your session is not valid for this password change request.")
		}
	}
	ok, err := s.verify(ctx, u.Password, cur)
	if err != nil {
		return nil, hashErr(rc, err)
	}
	if !ok {
		return nil, refuse("user password does not match", msgPwNoMatch)
	}
	same, err := s.verify(ctx, u.Password, next)
	if err != nil {
		return nil, hashErr(rc, err)
	}
	if same {
		return nil, refuse("password did not change", "Your new password cannot be the same as your old password.")
	}
	hash, err := s.deps.Hasher.Hash(ctx, next)
	if err != nil {
		return nil, hashErr(rc, errors.Join(errHashBusy, err))
	}
	valid, msgs := s.deps.Validator.Password(ctx, next, email, a.FullName)
	if !valid {
		return nil, refuse("new password is insecure", append(msgs, "The new password you entered is insecure. It must be at least 12 characters long and be sufficiently complex.")...)
	}
	if err := s.deps.Store.SetPasswordHash(ctx, uid, u.Email, hash); err != nil {
		return nil, refuse("DB error when updating password", append(msgs, "Password could not be changed.")...).because(err)
	}
	msgs = append(msgs, "Password changed successfully.")
	if withSession {
		if _, err := s.deps.Store.DeleteUserSessions(ctx, uid, a.SessionToken); err != nil {
			return nil, refuse("DB error when updating password", "Password changed successfully, but your other sessions could not be ended.").because(err)
		}
		msgs = append(msgs, "For security purposes, you have been logged out of all other sessions.")
	}
	rc.log.Info("password changed", "user", s.deps.PII.Hash(uid))
	return Result{"success": true, "user_id": uid, "email": email, "messages": msgs}, nil
}

// resetPassArgs are user-resetpass's arguments.
type resetPassArgs struct {
	EmailAddress string `arg:"email_address" type:"str" max:"280"`
	NewPassword  string `arg:"new_password" type:"str" max:"1024"`
	SessionToken string `arg:"session_token" type:"str" max:"512"`
}

// resetPassNoSessionArgs are user-resetpass-nosession's arguments.
type resetPassNoSessionArgs struct {
	EmailAddress   string `arg:"email_address" type:"str" max:"280"`
	NewPassword    string `arg:"new_password" type:"str" max:"1024"`
	RequiredActive bool   `arg:"required_active" type:"bool"`
}

// userResetPass is user-resetpass (actions.md §4.3): a reset needs the
// verification flow, a forgot-password mail recorded for the user within
// resetWindow (sent by user-sendemail-forgotpass or recorded with
// user-set-emailsent). The mark is cleared by the reset and every session
// of the user ends (quirk #18 fixed).
func (s *Server) userResetPass(ctx context.Context, rc *reqCtx, a *resetPassArgs) (Result, error) {
	if _, err := s.deps.Store.LiveSession(ctx, a.SessionToken); errors.Is(err, identity.ErrNotFound) {
		return nil, fail("session does not exist", "Invalid session token for password reset request.")
	} else if err != nil {
		return nil, err
	}
	return s.resetPassword(ctx, rc, a.EmailAddress, a.NewPassword, true, "user does not exist", "invalid password", "Insecure password for password reset request.")
}

// userResetPassNoSession is user-resetpass-nosession (actions.md §4.4).
func (s *Server) userResetPassNoSession(ctx context.Context, rc *reqCtx, a *resetPassNoSessionArgs) (Result, error) {
	return s.resetPassword(ctx, rc, a.EmailAddress, a.NewPassword, a.RequiredActive,
		"user does not exist or is_active was not as required", "invalid new password", "Insecure new password for password reset request.")
}

func (s *Server) resetPassword(ctx context.Context, rc *reqCtx, email, newPassword string, wantActive bool, badUser, weakReason, weakMsg string) (Result, error) {
	next := password.Truncate(newPassword) // the policy judges what will be hashed
	u, err := s.userByEmail(ctx, email)
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return nil, err
	}
	if err != nil || u.IsActive != wantActive {
		return nil, fail(badUser, "Invalid user for password reset request.")
	}
	sent := u.EmailForgotPassSentDatetime
	if sent == nil || s.now().Sub(*sent) > resetWindow {
		return nil, fail("no password reset was requested for this user", "Invalid user for password reset request.")
	}
	hash, err := s.deps.Hasher.Hash(ctx, next)
	if err != nil {
		return nil, hashErr(rc, errors.Join(errHashBusy, err))
	}
	name := ""
	if u.FullName != nil {
		name = *u.FullName
	}
	valid, msgs := s.deps.Validator.Password(ctx, next, email, name)
	if !valid {
		return nil, fail(weakReason, append([]string{weakMsg}, msgs...)...)
	}
	if err := s.deps.Store.CompleteReset(ctx, u.UserID, hash); err != nil {
		return nil, fail("password update failed in DB", append(msgs, "Password could not be changed.")...).because(err)
	}
	rc.log.Info("password reset", "user", s.deps.PII.Hash(u.UserID))
	return Result{"success": true, "messages": append(msgs, "Password changed successfully.")}, nil
}

// validatePassArgs are user-validatepass's arguments; the policy kwargs are
// accepted and type-checked, and the server's own policy applies.
type validatePassArgs struct {
	Password              string `arg:"password" type:"str" max:"1024"`
	Email                 string `arg:"email" type:"str" max:"280"`
	FullName              string `arg:"full_name" type:"str" max:"280"`
	MinPassLength         Raw    `arg:"min_pass_length,kwarg" type:"int"`
	MaxUnsafeSimilarity   Raw    `arg:"max_unsafe_similarity,kwarg" type:"int"`
	MaxCharacterFrequency Raw    `arg:"max_character_frequency,kwarg" type:"float"`
	MinPwnedMatches       Raw    `arg:"min_pwned_matches,kwarg" type:"int"`
}

// userValidatePass is user-validatepass (actions.md §4.5): the server's
// password policy always applies (it always parses: it is checked at start).
func (s *Server) userValidatePass(ctx context.Context, rc *reqCtx, a *validatePassArgs) (Result, error) {
	ok, msgs := s.deps.Validator.Password(ctx, a.Password, a.Email, a.FullName)
	if msgs == nil {
		msgs = []string{}
	}
	if !ok {
		return nil, fail("password is insecure or invalid", msgs...)
	}
	return Result{"success": true, "messages": msgs}, nil
}
