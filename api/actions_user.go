package api

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/password"
	"github.com/authnzrv/authnzrv/identity/validate"
)

const msgCreated = "User account created. Please verify your email address to log in."

// maxFullName is the longest stored full name, in characters (the column's
// width on every database).
const maxFullName = 280

const msgNameTooLong = "The full name provided is too long. It can have at most 280 characters."

// verifyRetryWait coerces the verify_retry_wait kwarg: hours, default 6,
// at least 1, at most a year.
func verifyRetryWait(v any) int64 {
	var n int64 = 6
	switch x := v.(type) {
	case string:
		if i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
			n = i
		}
	case json.Number:
		if i, ok := strictInt(x); ok {
			n = i
		} else if f, ok := finite(x); ok && f > -1e6 && f < 1e6 {
			n = int64(f)
		}
	}
	return min(max(n, 1), 24*366)
}

// userNewArgs are user-new's arguments.
type userNewArgs struct {
	FullName        string `arg:"full_name" type:"str" max:"280"`
	Email           string `arg:"email" type:"str" max:"280"`
	Password        string `arg:"password" type:"str" max:"1024"`
	ExtraInfo       Raw    `arg:"extra_info,kwarg" type:"dict,None" json:"stored"`
	VerifyRetryWait Raw    `arg:"verify_retry_wait,kwarg" type:"int,None" max:"64"`
	SystemID        Raw    `arg:"system_id,kwarg" type:"str,None" max:"50"`
}

// userNew is user-new, sign-up (actions.md §3.1).
func (s *Server) userNew(ctx context.Context, rc *reqCtx, a *userNewArgs) (Result, error) {
	// The policy judges what will be hashed: the first 256 characters.
	pw := password.Truncate(a.Password)
	v := s.deps.Validator
	if !v.Email(a.Email) {
		rc.log.Info("sign-up refused: invalid email", "email", s.deps.PII.Hash(a.Email))
		return nil, fail("invalid email", "The email address provided doesn't seem to be a valid email address and cannot be used to sign up for an account on this server.")
	}
	email, name := v.NormalizeEmail(a.Email), v.NormalizeFullName(a.FullName)
	if tooLong(name, maxFullName) {
		// HTML escaping and NFKC can lengthen a name within the argument's
		// limit; every database stores at most maxFullName (issue 13,
		// finding 8).
		rc.log.Info("sign-up refused: full name too long once normalised", "name", s.deps.PII.Hash(name))
		return nil, fail("full name too long", msgNameTooLong)
	}
	if err := v.FullName(ctx, name); err != nil {
		rc.log.Info("sign-up refused: full name", "name", s.deps.PII.Hash(name))
		if errors.Is(err, validate.ErrNoSuffixList) {
			return nil, fail("public suffix list not present", "Full name could not be validated because of an internal server error").because(err)
		}
		return nil, fail("invalid full name", "The full name provided appears to contain an HTTP link, and cannot be used to sign up for an account on this server.")
	}
	hash, err := s.deps.Hasher.Hash(ctx, pw)
	if err != nil {
		return nil, hashErr(rc, errors.Join(errHashBusy, err))
	}
	if ok, msgs := v.Password(ctx, pw, email, name); !ok {
		return nil, fail("invalid password", msgs...).with("user_email", email)
	}
	wait := verifyRetryWait(a.VerifyRetryWait.V)
	extra := map[string]any{}
	if m, ok := a.ExtraInfo.V.(map[string]any); ok && len(m) > 0 {
		extra = m
	}
	extra["provenance"], extra["type"], extra["verify_retry_wait"] = "request-created", "normal-user", wait
	extraJSON, err := identity.MarshalObject(extra)
	if err != nil {
		return nil, err
	}
	systemID, ok := a.SystemID.Str()
	if !ok || systemID == "" {
		systemID = uuid.NewString()
	}
	t := s.now().UTC()
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
		return nil, insertErr
	}
	existing, err := s.deps.Store.UserByEmail(ctx, email)
	if errors.Is(err, identity.ErrNotFound) {
		// The duplicate was the system_id, not the e-mail.
		return nil, fail("system_id exists", msgCreated)
	}
	if err != nil {
		return nil, err
	}
	// NULL emailverify_sent_datetime (the system users) counts as long ago
	// (quirk #13 fixed).
	resend := false
	if !existing.IsActive {
		sent := existing.EmailVerifySentDatetime
		resend = sent == nil || s.now().Sub(*sent) > time.Duration(wait)*time.Hour
	}
	if resend {
		if err := s.deps.Store.ResetSignup(ctx, existing.UserID, name, hash, email, extraJSON); err != nil {
			return nil, err
		}
	}
	rc.log.Info("sign-up for an existing e-mail", "user", s.deps.PII.Hash(existing.UserID), "send_verification", resend)
	return nil, fail("user exists", msgCreated).with("user_email", existing.Email, "user_id", existing.UserID,
		"system_id", existing.SystemID, "send_verification", resend)
}

// emailArgs are the arguments of the types that take only an e-mail.
type emailArgs struct {
	Email string `arg:"email" type:"str" max:"280"`
}

// userSetEmailVerified is user-set-emailverified (actions.md §6.3); it acts
// only on users whose e-mail is not yet verified (quirk #26).
func (s *Server) userSetEmailVerified(ctx context.Context, rc *reqCtx, a *emailArgs) (Result, error) {
	u, err := s.userByEmail(ctx, a.Email)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, fail("could not find user in DB by email", "Email verification toggle request failed.")
	}
	if err != nil {
		return nil, err
	}
	if !u.EmailVerified {
		prev, _ := u.ExtraInfo.Object()["previous_user_roles"].([]any)
		role, d, err := s.deps.Engine.AssignRole(ctx, engine.RoleInput{Op: "verify-email", CurrentRole: u.UserRole, PreviousRoles: prev})
		if err != nil {
			return nil, err
		}
		if !d.Allowed {
			return nil, fail("email verification refused by the policy: "+d.Reason, "Email verification toggle request failed.")
		}
		if err := s.deps.Store.VerifyEmail(ctx, u.Email, role); err != nil {
			return nil, err
		}
		if u, err = s.deps.Store.UserByEmail(ctx, u.Email); err != nil {
			return nil, err
		}
	}
	return Result{
		"success": true, "user_id": u.UserID, "is_active": u.IsActive, "user_role": u.UserRole,
		"messages": []string{"Email verification toggle request succeeded."},
	}, nil
}

// userLookupEmail is user-lookup-email (actions.md §5.2).
func (s *Server) userLookupEmail(ctx context.Context, rc *reqCtx, a *emailArgs) (Result, error) {
	u, err := s.userByEmail(ctx, a.Email)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, fail("user email not found in DB", "User look up failed.")
	}
	if err != nil {
		return nil, err
	}
	return Result{"success": true, "user_info": userInfo(u), "messages": []string{"User look up successful."}}, nil
}

// userListArgs are user-list's arguments.
type userListArgs struct {
	UserID Raw `arg:"user_id" type:"int,None" max:"64"`
}

// userList is user-list (actions.md §5.1).
func (s *Server) userList(ctx context.Context, rc *reqCtx, a *userListArgs) (Result, error) {
	var id *int64
	if a.UserID.V != nil {
		n, ok := a.UserID.Int()
		if !ok {
			return Result{"success": true, "user_info": []any{}, "messages": []string{"User look up successful."}}, nil
		}
		id = &n
	}
	us, err := s.deps.Store.ListUsers(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(us))
	for i := range us {
		out[i] = userInfo(&us[i])
	}
	return Result{"success": true, "user_info": out, "messages": []string{"User look up successful."}}, nil
}

// userByEmail finds the user with this e-mail as sign-up stores it
// (normalised: `Alice@Example.org` finds alice@example.org), or, for a row
// stored otherwise (carried over from another system), exactly as given.
func (s *Server) userByEmail(ctx context.Context, email string) (*identity.User, error) {
	norm := s.deps.Validator.NormalizeEmail(email)
	u, err := s.deps.Store.UserByEmail(ctx, norm)
	if errors.Is(err, identity.ErrNotFound) && norm != email {
		return s.deps.Store.UserByEmail(ctx, email)
	}
	return u, err
}

// sameEmail reports whether a user's stored e-mail is the one a request
// names, compared as sign-up stores e-mails.
func (s *Server) sameEmail(stored, given string) bool {
	return stored == given || stored == s.deps.Validator.NormalizeEmail(given)
}
