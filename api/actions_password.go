package api

import (
	"context"
	"errors"
	"time"

	"github.com/authnzrv/authnzrv/identity"
)

// resetWindow is how long after a forgot-password mail (or a frontend's
// user-set-emailsent "forgotpass") a password reset is accepted.
const resetWindow = 24 * time.Hour

const msgPwNoMatch = "Your current password did not match the stored password."

// changePassword is user-changepass and user-changepass-nosession
// (actions.md §4.1, §4.2). With a session (quirk #17 fixed) the session must
// be live and belong to the user; the user's other sessions end.
func (s *Server) changePassword(withSession bool) handler {
	return func(ctx context.Context, rc *reqCtx, a args) (Result, error) {
		uid, _ := a.int("user_id")
		email, token := a.str("email"), a.str("session_token")
		cur, next := truncatePassword(a.str("current_password")), truncatePassword(a.str("new_password"))
		fail := func(reason string, msgs ...string) (Result, error) {
			r := failure(reason, msgs...)
			r["user_id"], r["email"] = a["user_id"], a["email"]
			return r, nil
		}
		u, err := s.deps.Store.UserByID(ctx, uid)
		if err != nil && !errors.Is(err, identity.ErrNotFound) {
			return nil, err
		}
		if err != nil || u.Email != email || !u.IsActive {
			if err := s.dummy(ctx); err != nil {
				return hashErr(rc, err)
			}
			return fail("user does not exist", msgPwNoMatch)
		}
		if withSession {
			si, err := s.deps.Store.LiveSession(ctx, token)
			if err != nil || si.Session.UserID != uid {
				if err := s.dummy(ctx); err != nil {
					return hashErr(rc, err)
				}
				return fail("invalid session for password change", "Your session is not valid for this password change request.")
			}
		}
		ok, err := s.verify(ctx, u.Password, cur)
		if err != nil {
			return hashErr(rc, err)
		}
		if !ok {
			return fail("user password does not match", msgPwNoMatch)
		}
		same, err := s.verify(ctx, u.Password, next)
		if err != nil {
			return hashErr(rc, err)
		}
		if same {
			return fail("password did not change", "Your new password cannot be the same as your old password.")
		}
		hash, err := s.deps.Hasher.Hash(ctx, next)
		if err != nil {
			return hashErr(rc, errors.Join(errHashBusy, err))
		}
		valid, msgs := s.deps.Validator.Password(ctx, next, email, a.str("full_name"))
		if !valid {
			return fail("new password is insecure", append(msgs, "The new password you entered is insecure. It must be at least 12 characters long and be sufficiently complex.")...)
		}
		if err := s.deps.Store.SetPasswordHash(ctx, uid, email, hash); err != nil {
			rc.log.Error("password change", "error", err)
			return fail("DB error when updating password", append(msgs, "Password could not be changed.")...)
		}
		msgs = append(msgs, "Password changed successfully.")
		if withSession {
			if _, err := s.deps.Store.DeleteUserSessions(ctx, uid, token); err != nil {
				return nil, err
			}
			msgs = append(msgs, "For security purposes, you have been logged out of all other sessions.")
		}
		rc.log.Info("password changed", "user", s.deps.PII.Hash(uid))
		return Result{"success": true, "user_id": a["user_id"], "email": a["email"], "messages": msgs}, nil
	}
}

// resetPassword is user-resetpass and user-resetpass-nosession (actions.md
// §4.3, §4.4). A reset needs the verification flow: a forgot-password mail
// recorded for the user within resetWindow (sent by user-sendemail-forgotpass
// or recorded with user-set-emailsent). The mark is cleared by the reset and
// every session of the user ends (quirk #18 fixed).
func (s *Server) resetPassword(withSession bool) handler {
	return func(ctx context.Context, rc *reqCtx, a args) (Result, error) {
		email, next := a.str("email_address"), truncatePassword(a.str("new_password"))
		badUser, weakReason, weakMsg := "user does not exist", "invalid password", "Insecure password for password reset request."
		if !withSession {
			badUser, weakReason, weakMsg = "user does not exist or is_active was not as required", "invalid new password", "Insecure new password for password reset request."
		}
		if withSession {
			if _, err := s.deps.Store.LiveSession(ctx, a.str("session_token")); err != nil {
				return failure("session does not exist", "Invalid session token for password reset request."), nil
			}
		}
		wantActive := true
		if !withSession {
			wantActive = a.bool("required_active")
		}
		u, err := s.deps.Store.UserByEmail(ctx, email)
		if err != nil && !errors.Is(err, identity.ErrNotFound) {
			return nil, err
		}
		if err != nil || u.IsActive != wantActive {
			return failure(badUser, "Invalid user for password reset request."), nil
		}
		sent := u.EmailForgotPassSentDatetime
		if sent == nil || time.Since(*sent) > resetWindow {
			return failure("no password reset was requested for this user", "Invalid user for password reset request."), nil
		}
		hash, err := s.deps.Hasher.Hash(ctx, next)
		if err != nil {
			return hashErr(rc, errors.Join(errHashBusy, err))
		}
		name := ""
		if u.FullName != nil {
			name = *u.FullName
		}
		valid, msgs := s.deps.Validator.Password(ctx, next, email, name)
		if !valid {
			return failure(weakReason, append([]string{weakMsg}, msgs...)...), nil
		}
		if err := s.deps.Store.CompleteReset(ctx, u.UserID, hash); err != nil {
			rc.log.Error("password reset", "error", err)
			return failure("password update failed in DB", append(msgs, "Password could not be changed.")...), nil
		}
		rc.log.Info("password reset", "user", s.deps.PII.Hash(u.UserID))
		return Result{"success": true, "messages": append(msgs, "Password changed successfully.")}, nil
	}
}

// userValidatePass is user-validatepass (actions.md §4.5): the server's
// password policy always applies (it always parses: it is checked at start).
func (s *Server) userValidatePass(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	ok, msgs := s.deps.Validator.Password(ctx, a.str("password"), a.str("email"), a.str("full_name"))
	if msgs == nil {
		msgs = []string{}
	}
	if !ok {
		return failure("password is insecure or invalid", msgs...), nil
	}
	return Result{"success": true, "messages": msgs}, nil
}
