package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/identity"
)

// userDeleteArgs are user-delete's arguments.
type userDeleteArgs struct {
	Email    string `arg:"email" type:"str" max:"280"`
	UserID   int64  `arg:"user_id" type:"int"`
	Password string `arg:"password" type:"str" max:"1024"`
}

// userDelete is user-delete, self-service deletion (actions.md §3.2).
func (s *Server) userDelete(ctx context.Context, rc *reqCtx, a *userDeleteArgs) (Result, error) {
	refuse := func(reason, msg string) *Failure {
		return fail(reason, msg).with("user_id", a.UserID, "email", a.Email)
	}
	u, err := s.deps.Store.UserByID(ctx, a.UserID)
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return nil, err
	}
	if err != nil || !s.sameEmail(u.Email, a.Email) {
		if err := s.dummy(ctx); err != nil {
			return nil, hashErr(rc, err)
		}
		return nil, refuse("invalid email", "We could not verify your email address or password.")
	}
	ok, err := s.verify(ctx, u.Password, a.Password)
	if err != nil {
		return nil, hashErr(rc, err)
	}
	if !ok {
		return nil, refuse("invalid password", "We could not verify your email address or password.")
	}
	if deny, err := s.admit(ctx, engine.AdminInput{Op: "user-delete", Target: adminUser(u)}); err != nil {
		return nil, err
	} else if deny != "" {
		return nil, refuse("can't delete superusers", "Can't delete superusers.")
	}
	if _, err := s.deps.Store.DeleteUser(ctx, a.UserID); err != nil {
		return nil, refuse("user deletion failed in DB", "Could not delete user from DB.").because(err)
	}
	rc.log.Info("user deleted", "user", s.deps.PII.Hash(a.UserID))
	return Result{"success": true, "user_id": a.UserID, "email": a.Email, "messages": []string{"User successfully deleted from DB."}}, nil
}

// targetArgs are the arguments of the types that name only a target user.
type targetArgs struct {
	TargetUserID int64 `arg:"target_userid" type:"int"`
}

// internalUserDelete is internal-user-delete (actions.md §9.2); the system
// users 2 and 3 and the last superuser are refused (quirk #23).
func (s *Server) internalUserDelete(ctx context.Context, rc *reqCtx, a *targetArgs) (Result, error) {
	id := a.TargetUserID
	target := engine.AdminUser{UserID: id}
	u, err := s.deps.Store.UserByID(ctx, id)
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return nil, err
	}
	if err == nil {
		target = adminUser(u)
	}
	n, err := s.deps.Store.CountSuperusers(ctx)
	if err != nil {
		return nil, err
	}
	switch deny, err := s.admit(ctx, engine.AdminInput{Op: "internal-user-delete", Target: target, Superusers: n}); {
	case err != nil:
		return nil, err
	case deny == "system_user":
		return nil, fail("can't delete the system anonymous/locked users", "Could not delete user from DB.")
	case deny == "last_superuser":
		return nil, fail("can't delete the last superuser", "Could not delete user from DB.")
	case deny != "":
		return nil, fail("user deletion refused by the policy", "Could not delete user from DB.")
	}
	if _, err := s.deps.Store.DeleteUser(ctx, id); err != nil {
		return nil, err
	}
	return Result{"success": true, "user_id": id, "messages": []string{"User successfully deleted from DB."}}, nil
}

// lookupMatchArgs are user-lookup-match's arguments.
type lookupMatchArgs struct {
	By    string `arg:"by" type:"str" max:"64"`
	Match Raw    `arg:"match" type:"Any" max:"4096"`
}

// userLookupMatch is user-lookup-match (actions.md §5.3), restricted to the
// user_info columns (quirk #21).
func (s *Server) userLookupMatch(ctx context.Context, rc *reqCtx, a *lookupMatchArgs) (Result, error) {
	match, isDict := a.Match.V.(map[string]any)
	if isDict != (a.By == "extra_info") {
		return nil, fail("invalid request: 'by' is 'extra_info' but 'match' is not a dict or 'match' is a dict and 'by' is not 'extra_info'",
			"Invalid match condition provided.")
	}
	var us []identity.User
	var err error
	if isDict {
		us, err = s.deps.Store.UsersByExtraInfo(ctx, match)
	} else {
		v := a.Match.V
		switch x := v.(type) {
		case []any, nil:
			return nil, fail("exception in DB access", "User look up failed.")
		case interface{ String() string }: // json.Number
			if n, ok := strictInt(x); ok {
				v = n
			} else {
				v = x.String()
			}
		}
		if !identity.UserInfoColumns[a.By] || a.By == "extra_info" {
			return nil, fail("exception in DB access", "User look up failed.")
		}
		us, err = s.deps.Store.UsersWhere(ctx, a.By, v)
	}
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(us))
	for i := range us {
		out[i] = userInfo(&us[i])
	}
	return Result{"success": true, "user_info": out, "messages": []string{"User look up successful."}}, nil
}

// sessionOf reports whether token is a live session of an active user with
// this id and role.
func (s *Server) sessionOf(ctx context.Context, token string, uid int64, role string) (bool, error) {
	si, err := s.deps.Store.LiveSession(ctx, token)
	if errors.Is(err, identity.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return si.User.IsActive && si.Session.UserID == uid && si.User.UserRole == role, nil
}

// pyList renders keys like Python's repr of a list of strings.
func pyList(keys []string) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = "'" + k + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// cleanUpdate validates and normalises user-edit values (quirk #22): e-mails
// and names as at sign-up, known roles, boolean flags.
func (s *Server) cleanUpdate(ctx context.Context, upd map[string]any) (map[string]any, string) {
	out := map[string]any{}
	for k, v := range upd {
		switch k {
		case "email":
			e, ok := v.(string)
			if !ok || len(e) > 280 || !s.deps.Validator.Email(e) {
				return nil, k
			}
			out[k] = s.deps.Validator.NormalizeEmail(e)
		case "full_name":
			n, ok := v.(string)
			if !ok || len(n) > 4*280 {
				return nil, k
			}
			n = s.deps.Validator.NormalizeFullName(n)
			if tooLong(n, 280) || s.deps.Validator.FullName(ctx, n) != nil {
				return nil, k
			}
			out[k] = n
		case "user_role":
			r, ok := v.(string)
			if !ok || !slices.Contains(s.roles(), r) {
				return nil, k
			}
			out[k] = r
		case "is_active", "email_verified":
			b, ok := v.(bool)
			if !ok {
				return nil, k
			}
			out[k] = b
		default:
			return nil, k
		}
	}
	return out, ""
}

func (s *Server) roles() []string {
	if s.deps.Engine == nil {
		return nil
	}
	return s.deps.Engine.Roles()
}

// userEditArgs are user-edit's arguments.
type userEditArgs struct {
	UserID       int64          `arg:"user_id" type:"int"`
	UserRole     string         `arg:"user_role" type:"str" max:"100"`
	SessionToken string         `arg:"session_token" type:"str" max:"512"`
	TargetUserID int64          `arg:"target_userid" type:"int"`
	UpdateDict   map[string]any `arg:"update_dict" type:"dict" json:"stored"`
}

// userEdit is user-edit (actions.md §5.4).
func (s *Server) userEdit(ctx context.Context, rc *reqCtx, a *userEditArgs) (Result, error) {
	uid, target, role, upd := a.UserID, a.TargetUserID, a.UserRole, a.UpdateDict
	keys := make([]string, 0, len(upd))
	for k := range upd {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	session, err := s.sessionOf(ctx, a.SessionToken, uid, role)
	if err != nil {
		return nil, err
	}
	newRole, _ := upd["user_role"].(string)
	deny, err := s.admit(ctx, engine.AdminInput{Op: "user-edit", Actor: engine.AdminUser{UserID: uid, Role: role, Session: session},
		Target: engine.AdminUser{UserID: target}, Keys: keys, NewRole: newRole})
	if err != nil {
		return nil, err
	}
	switch deny {
	case "":
	case "system_user":
		return nil, fail("invalid request: can't edit anonymous/locked users", "Editing anonymous/locked user accounts not allowed.")
	case "no_session_self":
		return nil, fail("no valid session found for originating user_id", "User session info not available for this user edit attempt.")
	case "keys_self":
		return nil, fail(fmt.Sprintf("role '%s' can't edit anything other than 'full_name', 'email'", role), "extra elements in update_dict not allowed")
	case "no_session_superuser":
		return nil, fail("invalid session for edit attempt", "Superuser session info not available for this user edit attempt.")
	case "keys_superuser":
		return nil, fail(fmt.Sprintf("role: 'superuser' is not allowed to edit items: '%s'", pyList(keys)), "extra elements in update_dict not allowed")
	case "unknown_role":
		return nil, fail("role change requested is not valid", "unknown role change request in update_dict")
	default:
		return nil, fail("invalid session for edit attempt", "user_id or session info not available for this user edit attempt.")
	}
	clean, bad := s.cleanUpdate(ctx, upd)
	if bad != "" {
		return nil, fail(fmt.Sprintf("invalid value for '%s' in update_dict", bad), "User update failed.")
	}
	u, err := s.deps.Store.UpdateUser(ctx, target, clean)
	switch {
	case errors.Is(err, identity.ErrDuplicate):
		return nil, fail("exception when trying to update user: the e-mail is taken", "User update failed.")
	case errors.Is(err, identity.ErrNotFound):
		return nil, fail("exception when trying to update user", "User update failed.")
	case err != nil:
		return nil, err
	}
	rc.log.Info("user edited", "editor", s.deps.PII.Hash(uid), "target", s.deps.PII.Hash(target), "keys", keys)
	return Result{"success": true, "user_info": userInfo(u), "messages": []string{"User update successful."}}, nil
}

// userLockArgs are user-lock's arguments.
type userLockArgs struct {
	UserID       int64  `arg:"user_id" type:"int"`
	UserRole     string `arg:"user_role" type:"str" max:"100"`
	SessionToken string `arg:"session_token" type:"str" max:"512"`
	TargetUserID int64  `arg:"target_userid" type:"int"`
	Action       string `arg:"action" type:"str" max:"64"`
}

// userLock is user-lock (actions.md §5.5).
func (s *Server) userLock(ctx context.Context, rc *reqCtx, a *userLockArgs) (Result, error) {
	uid, target, role, action := a.UserID, a.TargetUserID, a.UserRole, a.Action
	session, err := s.sessionOf(ctx, a.SessionToken, uid, role)
	if err != nil {
		return nil, err
	}
	deny, err := s.admit(ctx, engine.AdminInput{Op: "user-lock", Actor: engine.AdminUser{UserID: uid, Role: role, Session: session},
		Target: engine.AdminUser{UserID: target}, Action: action})
	if err != nil {
		return nil, err
	}
	switch deny {
	case "":
	case "self":
		return nil, fail("can't toggle a lock state on self", "You can't lock/unlock your own user account.")
	case "bad_action":
		return nil, fail("action must be one of 'lock', 'unlock'", "Unknown action requested for toggle_user_lock.")
	case "system_user":
		return nil, fail("can't toggle lock state for system anonymous/locked accounts", "Editing anonymous/locked user accounts not allowed.")
	case "no_session":
		return nil, fail("invalid session for user attempting lock toggle", "Superuser session info not available for this user edit attempt.")
	default: // not_superuser
		return nil, fail("user role is not 'superuser', required to toggle locks", "You don't have lock/unlock privileges.")
	}
	return s.toggleLock(ctx, rc, target, action)
}

// lockArgs are internal-user-lock's arguments.
type lockArgs struct {
	TargetUserID int64  `arg:"target_userid" type:"int"`
	Action       string `arg:"action" type:"str" max:"64"`
}

// internalUserLock is internal-user-lock (actions.md §9.1).
func (s *Server) internalUserLock(ctx context.Context, rc *reqCtx, a *lockArgs) (Result, error) {
	deny, err := s.admit(ctx, engine.AdminInput{Op: "internal-user-lock", Target: engine.AdminUser{UserID: a.TargetUserID}, Action: a.Action})
	if err != nil {
		return nil, err
	}
	switch deny {
	case "":
	case "bad_action":
		return nil, fail("action must be either 'lock' or 'unlock'", "Unknown action requested for toggle_user_lock.")
	default: // system_user
		return nil, fail("can't edit anonymous/locked users", "Editing anonymous/locked user accounts not allowed.")
	}
	return s.toggleLock(ctx, rc, a.TargetUserID, a.Action)
}

// toggleLock locks or unlocks a user the policy allowed to.
func (s *Server) toggleLock(ctx context.Context, rc *reqCtx, target int64, action string) (Result, error) {
	u, err := s.deps.Store.SetLocked(ctx, target, action == "lock")
	if errors.Is(err, identity.ErrNotFound) {
		return nil, fail("exception encountered when trying lock toggle action", "User lock toggle failed.")
	}
	if err != nil {
		return nil, err
	}
	rc.log.Info("lock toggled", "user", s.deps.PII.Hash(target), "action", action)
	return Result{"success": true, "user_info": userInfo(u), "messages": []string{"User lock toggle successful."}}, nil
}

// disallowedEdit are the update_dict keys internal-user-edit refuses.
var disallowedEdit = []string{"user_id", "system_id", "password", "emailverify_sent_datetime",
	"emailforgotpass_sent_datetime", "emailchangepass_sent_datetime", "last_login_success",
	"last_login_try", "failed_login_tries", "created_on", "last_updated"}

// internalUserEditArgs are internal-user-edit's arguments.
type internalUserEditArgs struct {
	TargetUserID int64          `arg:"target_userid" type:"int"`
	UpdateDict   map[string]any `arg:"update_dict" type:"dict" json:"stored"`
}

// internalUserEdit is internal-user-edit (actions.md §9.3).
func (s *Server) internalUserEdit(ctx context.Context, rc *reqCtx, a *internalUserEditArgs) (Result, error) {
	upd := a.UpdateDict
	if len(upd) == 0 {
		return nil, fail("invalid request: missing 'update_dict' in request", "Invalid user-edit request: missing or invalid parameters.")
	}
	var bad []string
	for k := range upd {
		if slices.Contains(disallowedEdit, k) {
			bad = append(bad, "'"+k+"'")
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return nil, fail("invalid request: disallowed keys in update_dict: {"+strings.Join(bad, ", ")+"}", "Invalid edit-user request: invalid update parameters.")
	}
	u, err := s.deps.Store.UserByID(ctx, a.TargetUserID)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, fail("no such user", "User info update failed.")
	}
	if err != nil {
		return nil, err
	}
	refused := fail("DB error when updating user info", "User info update failed.")
	fields := map[string]any{}
	for k, v := range upd {
		if !identity.EditableColumns[k] {
			return nil, refused
		}
		if k != "extra_info" {
			fields[k] = v
			continue
		}
		if v == nil {
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, refused
		}
		j, err := identity.MarshalObject(mergeExtra(u.ExtraInfo, m))
		if err != nil {
			return nil, err
		}
		if len(j) > maxStoredJSON {
			return nil, refused
		}
		fields[k] = j
	}
	if r, ok := fields["user_role"].(string); ok && !slices.Contains(s.roles(), r) {
		return nil, refused
	}
	u, err = s.deps.Store.UpdateUser(ctx, a.TargetUserID, fields)
	switch {
	case errors.Is(err, identity.ErrDuplicate), errors.Is(err, identity.ErrNotFound), errors.Is(err, identity.ErrBadValue):
		return nil, refused
	case err != nil:
		return nil, err
	}
	return Result{"success": true, "user_info": userInfo(u), "messages": []string{"User-info update successful."}}, nil
}

// emailSentArgs are user-set-emailsent's arguments.
type emailSentArgs struct {
	Email     string `arg:"email" type:"str" max:"280"`
	EmailType string `arg:"email_type" type:"str" max:"64"`
}

// userSetEmailSent is user-set-emailsent (actions.md §6.4).
func (s *Server) userSetEmailSent(ctx context.Context, rc *reqCtx, a *emailSentArgs) (Result, error) {
	if a.EmailType != "signup" && a.EmailType != "forgotpass" {
		return nil, fail("invalid request: invalid email_type requested", "Invalid email sent notification request.")
	}
	email := a.Email
	if found, err := s.userByEmail(ctx, a.Email); err == nil {
		email = found.Email
	}
	u, err := s.deps.Store.SetEmailSent(ctx, email, a.EmailType, s.now())
	if errors.Is(err, identity.ErrNotFound) {
		return nil, fail("could not update the email sent status in DB", "Email sent notification request failed.")
	}
	if err != nil {
		return nil, err
	}
	return Result{
		"success": true, "email": u.Email, "user_id": u.UserID, "is_active": u.IsActive, "user_role": u.UserRole,
		"emailverify_sent_datetime":     isoPtr(u.EmailVerifySentDatetime),
		"emailforgotpass_sent_datetime": isoPtr(u.EmailForgotPassSentDatetime),
		"messages":                      []string{"Email sent notification request succeeded."},
	}, nil
}
