package api

import (
	"context"
	"fmt"
	"reflect"
	"sort"
)

// The request table: every request type of the protocol, in one place.
// Adding a request type means adding its entry here, its handler (and
// argument struct) in a handler file, and its test.

// Rate-limit groups of request types (security.md §5): the group's limit
// per client address applies unless the type has a stricter one of its own.
const (
	groupIP       = "ipaddr"
	groupUser     = "user"
	groupSession  = "session"
	groupAPIKey   = "apikey"
	groupInternal = "internal"
)

// sessionUse says whether a request type acts on behalf of a session.
type sessionUse int

const (
	// noSession: the type takes no session token.
	noSession sessionUse = iota
	// withSession: the type needs a live session (session_token).
	withSession
)

// request describes one request type.
type request struct {
	// name is the request type, e.g. "user-login".
	name string
	// args is the argument struct's type; spec describes its fields.
	args reflect.Type
	spec *argSpec
	// run calls the handler with a *args value.
	run func(s *Server, ctx context.Context, rc *reqCtx, args any) (Result, error)
	// group is the rate-limit group.
	group string
	// emailKey is the body key whose e-mail gets a per-address rate-limit
	// bucket ("" for none).
	emailKey string
	// lockout: failed password checks of this type count towards the
	// lock-out (security.md §4).
	lockout bool
	// session: whether the type acts on behalf of a live session.
	session sessionUse
	// fault is the documented answer when the server itself fails
	// (database or mail outage); nil gives genericFault.
	fault *Failure
	// fields are response keys every failure of this type carries.
	fields Result
	// summary says in one line what the type does (docs/).
	summary string
}

// op binds a handler to its argument struct type.
func op[A any](h func(*Server, context.Context, *reqCtx, *A) (Result, error)) (reflect.Type, func(*Server, context.Context, *reqCtx, any) (Result, error)) {
	return reflect.TypeFor[A](), func(s *Server, ctx context.Context, rc *reqCtx, a any) (Result, error) {
		return h(s, ctx, rc, a.(*A))
	}
}

// entry makes a table entry.
func entry[A any](name, summary string, h func(*Server, context.Context, *reqCtx, *A) (Result, error), group string, opts ...func(*request)) request {
	t, run := op(h)
	r := request{name: name, args: t, run: run, group: group, summary: summary}
	for _, o := range opts {
		o(&r)
	}
	return r
}

func emailBucket(key string) func(*request) { return func(r *request) { r.emailKey = key } }
func lockoutCounted(r *request)             { r.lockout = true }
func needsSession(r *request)               { r.session = withSession }
func onFault(reason string, msgs ...string) func(*request) {
	return func(r *request) { r.fault = fail(reason, msgs...) }
}
func failFields(pairs ...any) func(*request) {
	return func(r *request) {
		r.fields = Result{}
		for i := 0; i+1 < len(pairs); i += 2 {
			r.fields[pairs[i].(string)] = pairs[i+1]
		}
	}
}

// requestTable lists every request type (actions.md).
func requestTable() []request {
	return []request{
		// Sessions (actions.md §1).
		entry("session-new", "create a session token", (*Server).sessionNew, groupSession,
			onFault("DB error when making new session", "Could not create a new session."),
			failFields("session_token", nil, "expires", nil)),
		entry("session-exists", "look up a live session and its user", (*Server).sessionExists, groupSession,
			onFault("DB error when retrieving session info", "Session look up failed."),
			failFields("session_info", nil)),
		entry("session-delete", "end one session", (*Server).sessionDelete, groupSession,
			onFault("DB error when deleting session", "Session could not be deleted.")),
		entry("session-delete-userid", "end every session of a user (optionally but the current one)", (*Server).sessionDeleteUserID, groupSession,
			onFault("DB error when updating session info", "Sessions could not be deleted.")),
		entry("internal-session-edit", "merge keys into a session's extra_info_json", (*Server).internalSessionEdit, groupInternal,
			onFault("no such session", "Session extra_info update failed."), failFields("session_info", nil)),

		// Login, logout, password checks (§2).
		entry("user-login", "check an e-mail and password for a session; the session ends either way", (*Server).userLogin, groupUser,
			lockoutCounted, needsSession, failFields("user_id", nil)),
		entry("user-logout", "end a user's session", (*Server).userLogout, groupUser, needsSession),
		entry("user-passcheck", "re-check the password of a session's user", (*Server).userPasscheck, groupUser,
			needsSession, failFields("user_id", nil)),
		entry("user-passcheck-nosession", "check an e-mail and password without a session", (*Server).userPasscheckNoSession, groupUser,
			lockoutCounted, failFields("user_id", nil)),

		// Users (§3).
		entry("user-new", "sign up a new user (inactive until the e-mail is verified)", (*Server).userNew, groupUser,
			onFault("DB issue with user creation", msgCreated),
			failFields("user_email", nil, "user_id", nil, "send_verification", false)),
		entry("user-delete", "a user deletes their own account", (*Server).userDelete, groupUser,
			onFault("user deletion failed in DB", "Could not delete user from DB.")),

		// Passwords (§4).
		entry("user-changepass", "change a password with the current one and a live session; other sessions end", (*Server).userChangePass, groupUser,
			needsSession, onFault("DB error when updating password", "Password could not be changed.")),
		entry("user-changepass-nosession", "change a password with the current one", (*Server).userChangePassNoSession, groupUser,
			onFault("DB error when updating password", "Password could not be changed.")),
		entry("user-resetpass", "set a new password after a forgot-password mail; every session ends", (*Server).userResetPass, groupUser,
			needsSession, onFault("password update failed in DB", "Password could not be changed.")),
		entry("user-resetpass-nosession", "set a new password after a forgot-password mail, without a session", (*Server).userResetPassNoSession, groupUser,
			onFault("password update failed in DB", "Password could not be changed.")),
		entry("user-validatepass", "check a password against the server's password policy", (*Server).userValidatePass, groupUser),

		// Administration (§5).
		entry("user-list", "list users, or one user by id", (*Server).userList, groupUser,
			onFault("exception when checking the DB", "User look up failed."), failFields("user_info", nil)),
		entry("user-lookup-email", "look a user up by e-mail", (*Server).userLookupEmail, groupUser,
			emailBucket("email"), onFault("exception when checking the DB", "User look up failed."), failFields("user_info", nil)),
		entry("user-lookup-match", "look users up by a user_info column or extra_info keys", (*Server).userLookupMatch, groupUser,
			onFault("exception in DB access", "User look up failed."), failFields("user_info", nil)),
		entry("user-edit", "edit a user (self: name and e-mail; superuser: more)", (*Server).userEdit, groupUser,
			needsSession, onFault("exception when trying to update user", "User update failed."), failFields("user_info", nil)),
		entry("user-lock", "a superuser locks or unlocks a user", (*Server).userLock, groupUser,
			needsSession, onFault("exception encountered when trying lock toggle action", "User lock toggle failed."), failFields("user_info", nil)),

		// E-mail actions (§6).
		entry("user-sendemail-signup", "send the sign-up verification mail", (*Server).userSendEmailSignup, groupUser,
			emailBucket("email_address"), needsSession,
			onFault("verification email could not be sent because of an email server problem", "Could not send email for the verify email request."),
			failFields("user_id", nil, "email_address", nil, "emailverify_sent_datetime", nil)),
		entry("user-sendemail-forgotpass", "send the forgot-password mail", (*Server).userSendEmailForgotPass, groupUser,
			emailBucket("email_address"), needsSession,
			onFault("forgot-pass verification email could not be sent because email server issue", "Invalid password reset email request."),
			failFields("user_id", nil, "email_address", nil, "emailforgotpass_sent_datetime", nil)),
		entry("user-set-emailverified", "mark a user's e-mail verified and activate the user", (*Server).userSetEmailVerified, groupUser,
			emailBucket("email"), onFault("could not find user in DB by email", "Email verification toggle request failed."),
			failFields("user_id", nil, "is_active", false, "user_role", "locked")),
		entry("user-set-emailsent", "record that a sign-up or forgot-password mail was sent", (*Server).userSetEmailSent, groupUser,
			emailBucket("email"), onFault("could not update the email sent status in DB", "Email sent notification request failed.")),

		// API keys (§7).
		entry("apikey-new", "issue an API key bound to a live session", (*Server).apikeyNew, groupAPIKey, needsSession),
		entry("apikey-verify", "verify a session-bound API key", (*Server).apikeyVerify, groupAPIKey),
		entry("apikey-revoke", "revoke a session-bound API key", (*Server).apikeyRevoke, groupAPIKey),
		entry("apikey-new-nosession", "issue an API key with a refresh token", (*Server).apikeyNewNoSession, groupAPIKey),
		entry("apikey-verify-nosession", "verify a no-session API key", (*Server).apikeyVerifyNoSession, groupAPIKey),
		entry("apikey-revoke-nosession", "revoke a no-session API key", (*Server).apikeyRevokeNoSession, groupAPIKey),
		entry("apikey-revokeall-nosession", "revoke every no-session API key of a user", (*Server).apikeyRevokeAll, groupAPIKey),
		entry("apikey-refresh-nosession", "exchange a no-session key and its refresh token for a new pair", (*Server).apikeyRefresh, groupAPIKey),

		// Authorization checks (§8).
		entry("user-check-access", "decide whether a user may act on an item (policy)", (*Server).userCheckAccess, groupUser,
			onFault("exception when checking the DB", "Access request check failed.")),
		entry("user-check-limit", "decide whether a value is within a role's limit (policy)", (*Server).userCheckLimit, groupUser,
			onFault("exception when checking the DB", "Limit check failed.")),

		// Internal actions (§9).
		entry("internal-user-lock", "lock or unlock a user (no permission check)", (*Server).internalUserLock, groupInternal,
			onFault("exception encountered when trying lock toggle action", "User lock toggle failed."), failFields("user_info", nil)),
		entry("internal-user-delete", "delete a user (no permission check)", (*Server).internalUserDelete, groupInternal,
			onFault("user deletion failed in DB", "Could not delete user from DB.")),
		entry("internal-user-edit", "edit any user_info column of a user (no permission check)", (*Server).internalUserEdit, groupInternal,
			onFault("DB error when updating user info", "User info update failed."), failFields("user_info", nil)),
	}
}

// requestIndex checks the table (unique names, argument structs that
// describe themselves) and indexes it by name.
func requestIndex() (map[string]*request, error) {
	list := requestTable()
	idx := make(map[string]*request, len(list))
	for i := range list {
		r := &list[i]
		if _, dup := idx[r.name]; dup {
			return nil, fmt.Errorf("api: request table: %s listed twice", r.name)
		}
		sp, err := newArgSpec(r.args)
		if err != nil {
			return nil, fmt.Errorf("api: request table: %s: %w", r.name, err)
		}
		r.spec = sp
		idx[r.name] = r
	}
	return idx, nil
}

// RequestTypes returns the names of every request type, sorted.
func RequestTypes() []string {
	var out []string
	for _, r := range requestTable() {
		out = append(out, r.name)
	}
	sort.Strings(out)
	return out
}
