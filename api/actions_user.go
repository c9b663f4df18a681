package api

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/validate"
)

const msgCreated = "User account created. Please verify your email address to log in."

// verifyRetryWait coerces the verify_retry_wait kwarg: hours, default 6,
// at least 1.
func verifyRetryWait(v any) int64 {
	var n int64 = 6
	switch x := v.(type) {
	case nil:
	case string:
		if i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
			n = i
		}
	case json.Number:
		if i, ok := toInt(x); ok {
			n = i
		} else if f, err := x.Float64(); err == nil {
			n = int64(f)
		}
	case bool:
		n, _ = toInt(x)
	}
	if n < 1 {
		n = 1
	}
	return n
}

// userNew is user-new, sign-up (actions.md §3.1).
func (s *Server) userNew(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	rawEmail, rawName := a.str("email"), a.str("full_name")
	pw := truncatePassword(a.str("password"))
	early := func(reason, msg string, email any) (Result, error) {
		r := failure(reason, msg)
		r["user_email"], r["user_id"], r["send_verification"] = email, nil, false
		return r, nil
	}
	v := s.deps.Validator
	if !v.Email(rawEmail) {
		rc.log.Info("sign-up refused: invalid email", "email", s.deps.PII.Hash(rawEmail))
		return early("invalid email", "The email address provided doesn't seem to be a valid email address and cannot be used to sign up for an account on this server.", nil)
	}
	email, name := v.NormalizeEmail(rawEmail), v.NormalizeFullName(rawName)
	if err := v.FullName(name); err != nil {
		rc.log.Info("sign-up refused: full name", "name", s.deps.PII.Hash(name))
		if errors.Is(err, validate.ErrNoSuffixList) {
			return early("public suffix list not present", "Full name could not be validated because of an internal server error", nil)
		}
		return early("invalid full name", "The full name provided appears to contain an HTTP link, and cannot be used to sign up for an account on this server.", nil)
	}
	hash, err := s.deps.Hasher.Hash(ctx, pw)
	if err != nil {
		return hashErr(rc, errors.Join(errHashBusy, err))
	}
	if ok, msgs := v.Password(ctx, pw, email, name); !ok {
		r := failure("invalid password", msgs...)
		r["user_email"], r["user_id"], r["send_verification"] = email, nil, false
		return r, nil
	}
	wait := verifyRetryWait(a["verify_retry_wait"])
	extra := map[string]any{}
	if m, ok := a["extra_info"].(map[string]any); ok && len(m) > 0 {
		extra = m
	}
	extra["provenance"], extra["type"], extra["verify_retry_wait"] = "request-created", "normal-user", wait
	extraJSON, err := identity.MarshalObject(extra)
	if err != nil {
		return nil, err
	}
	systemID, ok := a["system_id"].(string)
	if !ok {
		systemID = uuid.NewString()
	}
	t := time.Now().UTC()
	u := &identity.User{
		SystemID: systemID, FullName: &name, Password: hash, Email: email,
		EmailVerifySentDatetime: &t, FailedLoginTries: new(int64), ExtraInfo: extraJSON, UserRole: "locked",
	}
	insertErr := s.deps.Store.InsertUser(ctx, u)
	if insertErr == nil {
		rc.log.Info("user created", "user", s.deps.PII.Hash(u.UserID))
		return Result{
			"success": true, "user_email": email, "user_id": u.UserID, "system_id": u.SystemID,
			"send_verification": true, "messages": []string{msgCreated},
		}, nil
	}
	if !errors.Is(insertErr, identity.ErrDuplicate) {
		rc.log.Error("insert user", "error", insertErr)
	}
	existing, err := s.deps.Store.UserByEmail(ctx, email)
	if err != nil {
		r := failure("DB issue with user creation", msgCreated)
		r["user_email"], r["user_id"], r["send_verification"] = nil, nil, false
		return r, nil
	}
	// NULL emailverify_sent_datetime (the system users) counts as long ago
	// (quirk #13 fixed).
	resend := false
	if !existing.IsActive {
		sent := existing.EmailVerifySentDatetime
		resend = sent == nil || time.Since(*sent) > time.Duration(wait)*time.Hour
	}
	if resend {
		if err := s.deps.Store.ResetSignup(ctx, existing.UserID, name, hash, email, extraJSON); err != nil {
			return nil, err
		}
	}
	rc.log.Info("sign-up for an existing e-mail", "user", s.deps.PII.Hash(existing.UserID), "send_verification", resend)
	r := failure("user exists", msgCreated)
	r["user_email"], r["user_id"], r["system_id"], r["send_verification"] = existing.Email, existing.UserID, existing.SystemID, resend
	return r, nil
}

// userSetEmailVerified is user-set-emailverified (actions.md §6.3); it acts
// only on users whose e-mail is not yet verified (quirk #26).
func (s *Server) userSetEmailVerified(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	email := a.str("email")
	u, err := s.deps.Store.UserByEmail(ctx, email)
	if err != nil {
		if !errors.Is(err, identity.ErrNotFound) {
			rc.log.Error("lookup for email verification", "error", err)
		}
		r := failure("could not find user in DB by email", "Email verification toggle request failed.")
		r["user_id"], r["is_active"], r["user_role"] = nil, false, "locked"
		return r, nil
	}
	role := u.UserRole
	if role == "locked" {
		role = "authenticated"
		if prev, ok := u.ExtraInfo.Object()["previous_user_roles"].([]any); ok && len(prev) > 0 {
			if last, ok := prev[len(prev)-1].(string); ok && last != "locked" {
				role = last
			}
		}
	}
	if !u.EmailVerified {
		if err := s.deps.Store.VerifyEmail(ctx, email, role); err != nil {
			return nil, err
		}
		if u, err = s.deps.Store.UserByEmail(ctx, email); err != nil {
			return nil, err
		}
	}
	return Result{
		"success": true, "user_id": u.UserID, "is_active": u.IsActive, "user_role": u.UserRole,
		"messages": []string{"Email verification toggle request succeeded."},
	}, nil
}

// userLookupEmail is user-lookup-email (actions.md §5.2).
func (s *Server) userLookupEmail(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	u, err := s.deps.Store.UserByEmail(ctx, a.str("email"))
	if err != nil {
		reason := "user email not found in DB"
		if !errors.Is(err, identity.ErrNotFound) {
			rc.log.Error("user lookup", "error", err)
			reason = "exception when checking the DB"
		}
		r := failure(reason, "User look up failed.")
		r["user_info"] = nil
		return r, nil
	}
	return Result{"success": true, "user_info": userInfo(u), "messages": []string{"User look up successful."}}, nil
}

// userList is user-list (actions.md §5.1).
func (s *Server) userList(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	var id *int64
	if v := a["user_id"]; v != nil {
		n, ok := toInt(v)
		if !ok {
			return Result{"success": true, "user_info": []any{}, "messages": []string{"User look up successful."}}, nil
		}
		id = &n
	}
	us, err := s.deps.Store.ListUsers(ctx, id)
	if err != nil {
		rc.log.Error("user list", "error", err)
		return Result{"success": false, "user_info": nil, "messages": []string{"User look up failed."}}, nil
	}
	out := make([]map[string]any, len(us))
	for i := range us {
		out[i] = userInfo(&us[i])
	}
	return Result{"success": true, "user_info": out, "messages": []string{"User look up successful."}}, nil
}

// handlers is the request table: every implemented request type and its
// handler. The argument schemas are in schema.go.
func (s *Server) handlers() map[string]handler {
	return map[string]handler{
		"session-new":                s.sessionNew,
		"session-exists":             s.sessionExists,
		"session-delete":             s.sessionDelete,
		"session-delete-userid":      s.sessionDeleteUserID,
		"internal-session-edit":      s.internalSessionEdit,
		"user-new":                   s.userNew,
		"user-set-emailverified":     s.userSetEmailVerified,
		"user-login":                 s.userLogin,
		"user-logout":                s.userLogout,
		"user-passcheck":             s.userPasscheck,
		"user-passcheck-nosession":   s.userPasscheckNoSession,
		"user-lookup-email":          s.userLookupEmail,
		"user-list":                  s.userList,
		"user-check-access":          s.userCheckAccess,
		"user-check-limit":           s.userCheckLimit,
		"user-changepass":            s.changePassword(true),
		"user-changepass-nosession":  s.changePassword(false),
		"user-resetpass":             s.resetPassword(true),
		"user-resetpass-nosession":   s.resetPassword(false),
		"user-validatepass":          s.userValidatePass,
		"user-delete":                s.userDelete,
		"internal-user-delete":       s.internalUserDelete,
		"user-lookup-match":          s.userLookupMatch,
		"user-edit":                  s.userEdit,
		"user-lock":                  s.userLock,
		"internal-user-lock":         s.internalUserLock,
		"internal-user-edit":         s.internalUserEdit,
		"user-set-emailsent":         s.userSetEmailSent,
		"user-sendemail-signup":      s.userSendEmailSignup,
		"user-sendemail-forgotpass":  s.userSendEmailForgotPass,
		"apikey-new":                 s.apikeyNew,
		"apikey-verify":              s.apikeyVerify(false),
		"apikey-revoke":              s.apikeyRevoke(false),
		"apikey-new-nosession":       s.apikeyNewNoSession,
		"apikey-verify-nosession":    s.apikeyVerify(true),
		"apikey-revoke-nosession":    s.apikeyRevoke(true),
		"apikey-revokeall-nosession": s.apikeyRevokeAll,
		"apikey-refresh-nosession":   s.apikeyRefresh,
	}
}
