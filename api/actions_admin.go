package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/authnzrv/authnzrv/identity"
)

// userDelete is user-delete, self-service deletion (actions.md §3.2).
func (s *Server) userDelete(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	uid, _ := a.int("user_id")
	email := a.str("email")
	fail := func(reason, msg string) (Result, error) {
		r := failure(reason, msg)
		r["user_id"], r["email"] = a["user_id"], a["email"]
		return r, nil
	}
	u, err := s.deps.Store.UserByID(ctx, uid)
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return nil, err
	}
	if err != nil || u.Email != email {
		if err := s.dummy(ctx); err != nil {
			return hashErr(rc, err)
		}
		return fail("invalid email", "We could not verify your email address or password.")
	}
	ok, err := s.verify(ctx, u.Password, truncatePassword(a.str("password")))
	if err != nil {
		return hashErr(rc, err)
	}
	if !ok {
		return fail("invalid password", "We could not verify your email address or password.")
	}
	if u.UserRole == "superuser" {
		return fail("can't delete superusers", "Can't delete superusers.")
	}
	if _, err := s.deps.Store.DeleteUser(ctx, uid); err != nil {
		rc.log.Error("user delete", "error", err)
		return fail("user deletion failed in DB", "Could not delete user from DB.")
	}
	rc.log.Info("user deleted", "user", s.deps.PII.Hash(uid))
	return Result{"success": true, "user_id": a["user_id"], "email": a["email"], "messages": []string{"User successfully deleted from DB."}}, nil
}

// internalUserDelete is internal-user-delete (actions.md §9.2); the system
// users 2 and 3 and the last superuser are refused (quirk #23).
func (s *Server) internalUserDelete(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	id, _ := a.int("target_userid")
	if id == 2 || id == 3 {
		return failure("can't delete the system anonymous/locked users", "Could not delete user from DB."), nil
	}
	u, err := s.deps.Store.UserByID(ctx, id)
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return nil, err
	}
	if err == nil && u.UserRole == "superuser" {
		n, err := s.deps.Store.CountSuperusers(ctx)
		if err != nil {
			return nil, err
		}
		if n <= 1 {
			return failure("can't delete the last superuser", "Could not delete user from DB."), nil
		}
	}
	if _, err := s.deps.Store.DeleteUser(ctx, id); err != nil {
		rc.log.Error("internal user delete", "error", err)
		return failure("user deletion failed in DB", "Could not delete user from DB."), nil
	}
	return Result{"success": true, "user_id": a["target_userid"], "messages": []string{"User successfully deleted from DB."}}, nil
}

// userLookupMatch is user-lookup-match (actions.md §5.3), restricted to the
// user_info columns (quirk #21).
func (s *Server) userLookupMatch(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	by := a.str("by")
	match, isDict := a["match"].(map[string]any)
	fail := func(reason string) (Result, error) {
		r := failure(reason, "User look up failed.")
		if strings.HasPrefix(reason, "invalid request") {
			r["messages"] = []string{"Invalid match condition provided."}
		}
		r["user_info"] = nil
		return r, nil
	}
	if isDict != (by == "extra_info") {
		return fail("invalid request: 'by' is 'extra_info' but 'match' is not a dict or 'match' is a dict and 'by' is not 'extra_info'")
	}
	var us []identity.User
	var err error
	if isDict {
		us, err = s.deps.Store.UsersByExtraInfo(ctx, match)
	} else {
		v := a["match"]
		switch x := v.(type) {
		case []any, nil:
			return fail("exception in DB access")
		case interface{ String() string }: // json.Number
			if n, ok := toInt(x); ok {
				v = n
			} else {
				v = x.String()
			}
		}
		us, err = s.deps.Store.UsersWhere(ctx, by, v)
	}
	if err != nil {
		rc.log.Info("user lookup-match", "error", err)
		return fail("exception in DB access")
	}
	out := make([]map[string]any, len(us))
	for i := range us {
		out[i] = userInfo(&us[i])
	}
	return Result{"success": true, "user_info": out, "messages": []string{"User look up successful."}}, nil
}

// sessionOf reports whether token is a live session of an active user with
// this id and role.
func (s *Server) sessionOf(ctx context.Context, token string, uid int64, role string) bool {
	si, err := s.deps.Store.LiveSession(ctx, token)
	return err == nil && si.User.IsActive && si.Session.UserID == uid && si.User.UserRole == role
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
func (s *Server) cleanUpdate(upd map[string]any) (map[string]any, string) {
	out := map[string]any{}
	for k, v := range upd {
		switch k {
		case "email":
			e, ok := v.(string)
			if !ok || !s.deps.Validator.Email(e) {
				return nil, k
			}
			out[k] = s.deps.Validator.NormalizeEmail(e)
		case "full_name":
			n, ok := v.(string)
			if !ok {
				return nil, k
			}
			n = s.deps.Validator.NormalizeFullName(n)
			if s.deps.Validator.FullName(n) != nil {
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

// userEdit is user-edit (actions.md §5.4).
func (s *Server) userEdit(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	uid, _ := a.int("user_id")
	target, _ := a.int("target_userid")
	role, token := a.str("user_role"), a.str("session_token")
	upd, _ := a["update_dict"].(map[string]any)
	fail := func(reason, msg string) (Result, error) {
		r := failure(reason, msg)
		r["user_info"] = nil
		return r, nil
	}
	if target == 2 || target == 3 {
		return fail("invalid request: can't edit anonymous/locked users", "Editing anonymous/locked user accounts not allowed.")
	}
	keys := make([]string, 0, len(upd))
	for k := range upd {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	switch {
	case target == uid && (role == "authenticated" || role == "staff"):
		if !s.sessionOf(ctx, token, uid, role) {
			return fail("no valid session found for originating user_id", "User session info not available for this user edit attempt.")
		}
		for _, k := range keys {
			if k != "full_name" && k != "email" {
				return fail(fmt.Sprintf("role '%s' can't edit anything other than 'full_name', 'email'", role), "extra elements in update_dict not allowed")
			}
		}
	case role == "superuser":
		if !s.sessionOf(ctx, token, uid, role) {
			return fail("invalid session for edit attempt", "Superuser session info not available for this user edit attempt.")
		}
		for _, k := range keys {
			if !slices.Contains([]string{"full_name", "email", "is_active", "user_role", "email_verified"}, k) {
				return fail(fmt.Sprintf("role: 'superuser' is not allowed to edit items: '%s'", pyList(keys)), "extra elements in update_dict not allowed")
			}
		}
		if r, ok := upd["user_role"]; ok {
			if rs, _ := r.(string); !slices.Contains(s.roles(), rs) {
				return fail("role change requested is not valid", "unknown role change request in update_dict")
			}
		}
	default:
		return fail("invalid session for edit attempt", "user_id or session info not available for this user edit attempt.")
	}
	clean, bad := s.cleanUpdate(upd)
	if bad != "" {
		return fail(fmt.Sprintf("invalid value for '%s' in update_dict", bad), "User update failed.")
	}
	u, err := s.deps.Store.UpdateUser(ctx, target, clean)
	if err != nil {
		rc.log.Info("user edit failed", "error", err)
		return fail("exception when trying to update user", "User update failed.")
	}
	rc.log.Info("user edited", "editor", s.deps.PII.Hash(uid), "target", s.deps.PII.Hash(target), "keys", keys)
	return Result{"success": true, "user_info": userInfo(u), "messages": []string{"User update successful."}}, nil
}

// userLock is user-lock (actions.md §5.5).
func (s *Server) userLock(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	uid, _ := a.int("user_id")
	target, _ := a.int("target_userid")
	role, action := a.str("user_role"), a.str("action")
	fail := func(reason, msg string) (Result, error) {
		r := failure(reason, msg)
		r["user_info"] = nil
		return r, nil
	}
	switch {
	case role != "superuser":
		return fail("user role is not 'superuser', required to toggle locks", "You don't have lock/unlock privileges.")
	case target == uid:
		return fail("can't toggle a lock state on self", "You can't lock/unlock your own user account.")
	case action != "lock" && action != "unlock":
		return fail("action must be one of 'lock', 'unlock'", "Unknown action requested for toggle_user_lock.")
	case target == 2 || target == 3:
		return fail("can't toggle lock state for system anonymous/locked accounts", "Editing anonymous/locked user accounts not allowed.")
	case !s.sessionOf(ctx, a.str("session_token"), uid, role):
		return fail("invalid session for user attempting lock toggle", "Superuser session info not available for this user edit attempt.")
	}
	return s.internalUserLock(ctx, rc, args{"target_userid": a["target_userid"], "action": action})
}

// internalUserLock is internal-user-lock (actions.md §9.1).
func (s *Server) internalUserLock(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	target, _ := a.int("target_userid")
	action := a.str("action")
	fail := func(reason, msg string) (Result, error) {
		r := failure(reason, msg)
		r["user_info"] = nil
		return r, nil
	}
	if action != "lock" && action != "unlock" {
		return fail("action must be either 'lock' or 'unlock'", "Unknown action requested for toggle_user_lock.")
	}
	if target == 2 || target == 3 {
		return fail("can't edit anonymous/locked users", "Editing anonymous/locked user accounts not allowed.")
	}
	u, err := s.deps.Store.SetLocked(ctx, target, action == "lock")
	if err != nil {
		rc.log.Info("lock toggle failed", "error", err)
		return fail("exception encountered when trying lock toggle action", "User lock toggle failed.")
	}
	rc.log.Info("lock toggled", "user", s.deps.PII.Hash(target), "action", action)
	return Result{"success": true, "user_info": userInfo(u), "messages": []string{"User lock toggle successful."}}, nil
}

// disallowedEdit are the update_dict keys internal-user-edit refuses.
var disallowedEdit = []string{"user_id", "system_id", "password", "emailverify_sent_datetime",
	"emailforgotpass_sent_datetime", "emailchangepass_sent_datetime", "last_login_success",
	"last_login_try", "failed_login_tries", "created_on", "last_updated"}

// internalUserEdit is internal-user-edit (actions.md §9.3).
func (s *Server) internalUserEdit(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	target, _ := a.int("target_userid")
	upd, _ := a["update_dict"].(map[string]any)
	fail := func(reason, msg string) (Result, error) {
		r := failure(reason, msg)
		r["user_info"] = nil
		return r, nil
	}
	if len(upd) == 0 {
		return fail("invalid request: missing 'update_dict' in request", "Invalid user-edit request: missing or invalid parameters.")
	}
	var bad []string
	for k := range upd {
		if slices.Contains(disallowedEdit, k) {
			bad = append(bad, "'"+k+"'")
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fail("invalid request: disallowed keys in update_dict: {"+strings.Join(bad, ", ")+"}", "Invalid edit-user request: invalid update parameters.")
	}
	u, err := s.deps.Store.UserByID(ctx, target)
	if err != nil {
		if errors.Is(err, identity.ErrNotFound) {
			return fail("no such user", "User info update failed.")
		}
		return nil, err
	}
	fields := map[string]any{}
	for k, v := range upd {
		if k == "extra_info" {
			m, ok := v.(map[string]any)
			if v == nil {
				continue
			}
			if !ok {
				return fail("DB error when updating user info", "User info update failed.")
			}
			j, err := identity.MarshalObject(mergeExtra(u.ExtraInfo, m))
			if err != nil {
				return nil, err
			}
			fields[k] = j
			continue
		}
		fields[k] = v
	}
	if r, ok := fields["user_role"].(string); ok && !slices.Contains(s.roles(), r) {
		return fail("DB error when updating user info", "User info update failed.")
	}
	u, err = s.deps.Store.UpdateUser(ctx, target, fields)
	if err != nil {
		rc.log.Info("internal user edit failed", "error", err)
		return fail("DB error when updating user info", "User info update failed.")
	}
	return Result{"success": true, "user_info": userInfo(u), "messages": []string{"User-info update successful."}}, nil
}

// userSetEmailSent is user-set-emailsent (actions.md §6.4).
func (s *Server) userSetEmailSent(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	kind := a.str("email_type")
	if kind != "signup" && kind != "forgotpass" {
		return failure("invalid request: invalid email_type requested", "Invalid email sent notification request."), nil
	}
	u, err := s.deps.Store.SetEmailSent(ctx, a.str("email"), kind, time.Now())
	if err != nil {
		return failure("could not update the email sent status in DB", "Email sent notification request failed."), nil
	}
	return Result{
		"success": true, "email": u.Email, "user_id": u.UserID, "is_active": u.IsActive, "user_role": u.UserRole,
		"emailverify_sent_datetime":     isoPtr(u.EmailVerifySentDatetime),
		"emailforgotpass_sent_datetime": isoPtr(u.EmailForgotPassSentDatetime),
		"messages":                      []string{"Email sent notification request succeeded."},
	}, nil
}
