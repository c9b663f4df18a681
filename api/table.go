package api

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
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
	// extension marks a type of authnzrv's own, not in the reference
	// authnzerver (testdata/spec/extensions.json lists its arguments).
	extension bool
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
func extension(r *request)                  { r.extension = true }
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

		// Social login (authnzrv's own; README "Social login").
		entry("user-social-start", "start a social login for a session: returns the provider's authorization URL", (*Server).userSocialStart, groupUser,
			needsSession, extension, failFields("authorization_url", nil)),
		entry("user-social-finish", "finish a social login with the provider's code and state; the session ends either way", (*Server).userSocialFinish, groupUser,
			needsSession, extension, failFields("user_id", nil)),
		entry("user-social-list", "list the social login accounts linked to a user", (*Server).userSocialList, groupUser,
			extension, failFields("providers", nil)),
		entry("user-social-unlink", "unlink a social login account from a user, never the last way to log in", (*Server).userSocialUnlink, groupUser,
			extension),
		// Second factor: TOTP (authnzrv's own; totp.go).
		entry("user-totp-enroll", "start TOTP enrolment for a session's user: a new secret, its otpauth URL and QR code", (*Server).userTOTPEnroll, groupUser,
			extension, needsSession, failFields("user_id", nil)),
		entry("user-totp-confirm", "turn TOTP on with a first code; answers one-time recovery codes", (*Server).userTOTPConfirm, groupUser,
			extension, needsSession, failFields("user_id", nil)),
		entry("user-totp-disable", "turn TOTP off with the password and a current or recovery code", (*Server).userTOTPDisable, groupUser,
			extension, needsSession, failFields("user_id", nil)),
		entry("user-totp-status", "whether a user has TOTP on and how many recovery codes are left", (*Server).userTOTPStatus, groupUser,
			extension, failFields("user_id", nil)),
		entry("user-login-totp", "finish a login held back for its second factor with a TOTP or recovery code", (*Server).userLoginTOTP, groupUser,
			extension, failFields("user_id", nil)),

		// Users (§3).
		entry("user-new", "sign up a new user (inactive until the e-mail is verified)", (*Server).userNew, groupUser,
			onFault("DB issue with user creation", "The user account could not be created because of a server error. Please try again later."),
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

// Requests returns every request type in table order, with its arguments
// and documentation (the read-only view docs/ and the Go client are
// generated from). It fails when an entry lacks documentation or the
// documentation names a type the table does not have.
func Requests() ([]RequestInfo, error) {
	idx, err := requestIndex()
	if err != nil {
		return nil, err
	}
	all := requestDocs()
	var out []RequestInfo
	for _, entry := range requestTable() {
		r := idx[entry.name]
		d, ok := all[r.name]
		if !ok {
			return nil, fmt.Errorf("api: request table: %s has no documentation in requestDocs", r.name)
		}
		delete(all, r.name)
		fault := r.fault
		if fault == nil {
			fault = genericFault
		}
		info := RequestInfo{
			Name: r.name, Summary: r.summary, Group: r.group, EmailKey: r.emailKey, Lockout: r.lockout,
			NeedsSession: r.session == withSession, Extension: r.extension, FailureKeys: maps.Clone(r.fields),
			Fault:   FailureInfo{Reason: fault.Reason, Messages: slices.Clone(fault.Messages)},
			Success: slices.Clone(d.ok), Effects: slices.Clone(d.effects),
		}
		for i := range r.spec.fields {
			info.Args = append(info.Args, r.spec.fields[i].info())
		}
		for _, k := range d.returns {
			info.Returns = append(info.Returns, KeyInfo{Name: k.name, Description: k.desc})
		}
		for _, f := range d.failures {
			info.Failures = append(info.Failures, failureInfo(f))
		}
		out = append(out, info)
	}
	for name := range all {
		return nil, fmt.Errorf("api: requestDocs documents %s, which the request table does not have", name)
	}
	return out, nil
}

// Documentation texts shared by several request types.
const (
	msgProviderDown     = "The login provider could not be reached. Please try again later."
	msgSocialUnverified = "The login provider has not verified your e-mail address, so it cannot be used to log in here."
	effectClaims        = "`apikey_dict` is the key's claims as a JSON object (the frontend decodes the `apikey` string it issued). " +
		"A dict without `uid`, `tkn` or `rol` (verify also: `aud`, `sub`, `ver`, `exp`), or with claims of the wrong type, is answered HTTP 400."
	effectNoAuthz = "No authorization check: the frontend decides who may send this request."
	effectMailReq = "The SMTP settings are the server's; `emailsender`, `emailserver`, `emailport`, `emailuser`, `emailpass` in the body " +
		"override them (a present key overrides, even with null). The mail goes to the stored e-mail and names the session's IP address and browser."
	effectInternal     = "Internal request type: no permission check at all; never forward end-user input to it."
	effectSecondFactor = "For a user with TOTP on (authnzrv's own), a right password does not log in: the reply is " +
		"`second factor required` with a `challenge` (single-use, bound to the user, valid 5 minutes, stored only as its digest) " +
		"to pass to `user-login-totp` with the user's code. A frontend that knows nothing of TOTP sees a failed login. " +
		"The password alone neither counts as a failure nor resets the lock-out's count; users without TOTP are unaffected."
	effectTOTPCounted = "With the lock-out on (`--userlocktries`), a wrong code counts for the user's account like a wrong password at " +
		"`user-login` (answered after the growing delay; the failure reaching the limit locks the user and drops their waiting challenges); " +
		"a right code resets the count."
)

// requestDocs documents every request type of the table: the success keys,
// every refusal the handler gives, and the side effects (docs/requests.md).
// Tests check that the failure reasons are exactly those the handlers
// (actions_*.go) can answer.
func requestDocs() map[string]docs {
	// Keys and failures shared by several request types.
	var (
		keyUserInfo     = docKey{"user_info", "the user: a user_info object"}
		keyUserInfoList = docKey{"user_info", "the matching users: a list of user_info objects ordered by `user_id` (empty when none match)"}
		failBusy        = docFailure{reason: "server is busy, try again later", messages: []string{"The server is busy. Please try again in a moment."},
			keys: "`user_id: null`", when: "the password-hashing budget (`--hashbudget`) stayed taken; retry later"}
		failBadLogin = docFailure{reason: "user does not exist or password doesn't match", messages: []string{msgBadLogin},
			when: "no such user, the user may not log in (inactive, unverified) or the password is wrong"}
		failInactive = docFailure{reason: "user exists but is inactive", messages: []string{msgBadLogin}, keys: "`user_id`: the user's id",
			when: "the password matched but the admin policy refuses the user (e.g. role `locked`)"}
		failKeyView = docFailure{reason: "originating user is not allowed to operate on this API key",
			messages: []string{"API key verification failed. You are not allowed to operate on this API key."},
			when:     "the policy denies `view` on the key to the requester, the requester is not active with this `user_role`, or the key's owner is not active"}
		failKeyInvalid = docFailure{reason: "key validation failed, provided key does not match stored key or has expired",
			messages: []string{"API key could not be verified."}, when: "no key with this `tkn`, `uid` and `rol`, or it expired or is not valid yet"}
		failKeyDelete = docFailure{reason: "originating user is not allowed to operate on this API key",
			messages: []string{"API key revocation failed. You are not allowed to operate on this API key."},
			when:     "the policy denies `delete` on the key to the requester, the requester is not active with this `user_role`, or the key's owner is not active"}
		failKeyNotRevoked = docFailure{messages: []string{"API key revocation processed."}, when: "no key with this `tkn`, `uid` and `rol`"}
		failSocialOff     = docFailure{reason: "social login is not configured", messages: []string{"Social login is not available on this server."},
			when: "the server runs without `--oauthproviders`"}
		failSocialProvider = docFailure{reason: "unknown provider", messages: []string{"This login provider is not available."},
			when: "`provider` is not a name of the providers file"}
		failSecondFactor = docFailure{reason: "second factor required", messages: []string{msgSecondFactor},
			keys: "`second_factor: \"totp\"`; `challenge`: 43 characters for `user-login-totp`; `challenge_expires_in`: its lifetime in seconds (300)",
			when: "the password matched and the user may log in, but has TOTP on (authnzrv's own): finish with `user-login-totp`"}
		failNoSession = docFailure{reason: "session does not exist", messages: []string{"No session token provided."},
			when: "`session_token` is not a live session"}
		failCodeInvalid = docFailure{reason: "second factor code invalid", messages: []string{msgCodeInvalid},
			when: "the code is neither the TOTP code of the current 30 s step (or one step either side) nor an unused recovery code"}
		failCodeUsed = docFailure{reason: "second factor code already used", messages: []string{msgCodeUsed},
			when: "a right TOTP code of a step at or before the last accepted one (each code works once), or a recovery code spent by a concurrent request"}
		failTOTPLockout = []docFailure{
			{messages: []string{msgLockedOut}, keys: "`user_id: null`, no `failure_reason`",
				when: "the lock-out is on and the user's failures reached `--userlocktries` (wrong passwords and wrong codes count alike)"},
			{reason: "too many password checks in progress for this account, try again later",
				messages: []string{"Too many attempts are being checked for this account. Please try again in a moment."}, keys: "`retry_after: 1`",
				when: "as many checks of the account are in flight as may still fail"},
			{reason: "server error, try again later", messages: []string{"The server could not check this request. Please try again later."},
				when: "the lock-out's counters could not be read"},
		}
	)
	return map[string]docs{
		"session-new": {
			returns: []docKey{{"session_token", "the new session's token (43 characters); only its SHA-256 digest is stored"},
				{"expires", "the expiry as stored (isoformat, naive UTC)"}},
			ok: []string{"Generated session_token successfully. Session initiated."},
			failures: []docFailure{{reason: "DB error when making new session", messages: []string{"Could not create a new session."},
				when: "`ip_address` is not an IP address, `expires` is not `YYYY-MM-DDTHH:MM:SS.ffffff` (a `Z` is dropped), `user_id` is not an integer, or no such user"}},
			effects: []string{"Creates a session for `user_id`; a falsy `user_id` (null, 0, false, \"\") makes an anonymous session (user 2).",
				"The session lasts until `expires`, which the caller chooses (`--sessionexpiry` only delays the purge of expired rows). No check that the user is active.",
				"`extra_info_json` is stored as given (null: none)."},
		},
		"session-exists": {
			returns: []docKey{{"session_info", "the session and its user: `user_id`, `system_id`, `full_name`, `email`, `extra_info`, `email_verified`, " +
				"`emailverify_sent_datetime`, `is_active`, `last_login_try`, `last_login_success`, `created_on`, `user_role`, `session_token`, " +
				"`ip_address`, `user_agent`, `created`, `expires`, `extra_info_json`"}},
			ok: []string{"Session look up successful."},
			failures: []docFailure{{reason: "session does not exist or expired", messages: []string{"Session look up failed."},
				when: "no session with this token, or it expired"}},
			effects: []string{"None. The session is returned whatever its user's state: check `is_active` and `user_role`."},
		},
		"session-delete": {
			ok: []string{"Session delete processed, success: True."},
			failures: []docFailure{{messages: []string{"Session delete processed, success: False."},
				when: "no session with this token"}},
			effects: []string{"Deletes the session (expired or not) and the session-bound API keys issued for it."},
		},
		"session-delete-userid": {
			ok: []string{"Sessions delete processed. Success: True."},
			failures: []docFailure{{messages: []string{"Sessions delete processed. Success: False."},
				when: "no session was deleted"}},
			effects: []string{"Deletes every session of `user_id` (and their session-bound API keys); with `keep_current_session` true " +
				"the session in `session_token` is kept (the reference ignores the flag: quirk #9).", effectNoAuthz},
		},
		"internal-session-edit": {
			returns: []docKey{{"session_info", "the session: `user_id`, `session_token`, `ip_address`, `user_agent`, `created`, `expires`, `extra_info_json`"}},
			ok:      []string{"Session extra_info update successful."},
			failures: []docFailure{
				{reason: "invalid request: missing 'update_dict' in request", messages: []string{"Invalid session edit request: missing or invalid parameters."},
					when: "`update_dict` is empty"},
				{reason: "no such session", messages: []string{"Session extra_info update failed."}, when: "no live session with this token"},
				{reason: "invalid request: extra_info_json would be too large", messages: []string{"Invalid session edit request: missing or invalid parameters."},
					when: "the merged `extra_info_json` would exceed 65536 bytes"},
			},
			effects: []string{"Merges `update_dict` into the session's `extra_info_json`: each key is set, and a key whose value is the string " +
				"`\"__delete__\"` is removed when it exists.", effectInternal},
		},

		"user-login": {
			returns: []docKey{{"user_id", "the user's id"}, {"user_role", "the user's role"}},
			ok:      []string{"Login successful."},
			failures: []docFailure{
				{reason: "session does not exist", messages: []string{"No session token provided."}, when: "`session_token` is not a live session"},
				failBadLogin, failInactive, failBusy, failSecondFactor,
			},
			effects: []string{"**Always deletes the session it was given** (session rotation), whether the login succeeds or not: " +
				"after a success, create a new session for the user with `session-new` (`user_id` from the reply); after a failure, " +
				"create a new anonymous session before the next attempt. No session is created by the login itself.",
				"E-mails are compared exactly: send the e-mail as stored (sign-up stores it NFKC-normalised and case-folded).",
				"A password hashed with older Argon2 parameters is re-hashed with the current ones on success.",
				"Every path costs the same Argon2 work, known e-mail or not (quirk #10 fixed).",
				effectSecondFactor},
		},
		"user-totp-enroll": {
			returns: []docKey{{"user_id", "the session's user id"},
				{"secret", "the new shared secret, base32 without padding (32 characters), for manual entry; shown only now"},
				{"otpauth_url", "the `otpauth://totp/` key URI (issuer `--totpissuer`, default `authnzrv`; the user's e-mail as the account, SHA1, 6 digits, 30 s)"},
				{"qr_png_base64", "a 256×256 PNG QR code of `otpauth_url`, standard base64 (for a `data:image/png;base64,` URL)"}},
			ok: []string{"Scan the QR code with your authenticator app, then confirm with a code from it."},
			failures: []docFailure{failNoSession,
				{reason: failBadLogin.reason, messages: failBadLogin.messages, when: "the password is wrong"}, failInactive, failBusy,
				{reason: "second factor already enabled", messages: []string{msgTOTPAlreadyOn}, keys: "`user_id`",
					when: "the user has TOTP on: turn it off first (`user-totp-disable`)"}},
			effects: []string{"Stores a new secret for the session's user, not yet in use, replacing one not confirmed yet; " +
				"it is sealed (AES-256-GCM, a key derived from the server secret, bound to the user id), never stored in plain text.",
				"The password is checked as by `user-passcheck` (not counted towards the lock-out). The session stays."},
		},
		"user-totp-confirm": {
			returns: []docKey{{"user_id", "the session's user id"},
				{"recovery_codes", "10 one-time recovery codes (`xxxx-xxxx-xxxx`); shown only now, stored only as SHA-256 digests"}},
			ok: []string{"Two-factor authentication is on. Keep your recovery codes somewhere safe: each works once."},
			failures: []docFailure{failNoSession,
				{reason: "no second factor enrolment pending", messages: []string{msgTOTPNotPending}, keys: "`user_id`",
					when: "no secret waits for confirmation (no `user-totp-enroll`, TOTP already on, or a concurrent confirmation)"},
				{reason: failCodeInvalid.reason, messages: failCodeInvalid.messages, keys: "`user_id`",
					when: "the code is not the TOTP code of the current 30 s step or one step either side"},
				{reason: failCodeUsed.reason, messages: failCodeUsed.messages, keys: "`user_id`", when: "the code's step was accepted before"}},
			effects: []string{"Turns TOTP on for the session's user: from now on `user-login` asks for the second factor. " +
				"The code's step is the last accepted one (it cannot log in).", "Wrong codes are not counted towards the lock-out; the rate limits apply."},
		},
		"user-totp-disable": {
			returns: []docKey{{"user_id", "the session's user id"}},
			ok:      []string{"Two-factor authentication is off."},
			failures: append([]docFailure{failNoSession,
				{reason: failBadLogin.reason, messages: failBadLogin.messages, when: "the password is wrong"}, failInactive, failBusy,
				{reason: "second factor not enabled", messages: []string{msgTOTPNotOn}, keys: "`user_id`", when: "the user has no TOTP on"},
				{reason: failCodeInvalid.reason, messages: failCodeInvalid.messages, keys: "`user_id`", when: failCodeInvalid.when},
				{reason: failCodeUsed.reason, messages: failCodeUsed.messages, keys: "`user_id`", when: failCodeUsed.when}},
				failTOTPLockout...),
			effects: []string{"Needs the password (checked as by `user-passcheck`, not counted) and a current TOTP code or an unused recovery code; " +
				"deletes the user's secret, recovery codes and waiting login challenges.", effectTOTPCounted},
		},
		"user-totp-status": {
			returns: []docKey{{"user_id", "the user id asked about"}, {"enabled", "true when TOTP is on (a pending enrolment is not)"},
				{"recovery_codes_left", "how many recovery codes are unused (0 when TOTP is off)"}},
			ok:       []string{"Second factor status retrieved."},
			failures: []docFailure{{reason: "user does not exist", messages: []string{"Could not find the user."}, when: "no user `user_id`"}},
			effects:  []string{"None.", effectNoAuthz},
		},
		"user-login-totp": {
			returns: []docKey{{"user_id", "the user's id"}, {"user_role", "the user's role"}},
			ok:      []string{"Login successful."},
			failures: append([]docFailure{
				{reason: "challenge invalid or expired", messages: []string{msgChallengeGone},
					when: "no such challenge, it expired (5 minutes), was used by a successful login, or went with a lock-out or `user-totp-disable`: log in again"},
				{reason: "user exists but is inactive", messages: []string{msgTOTPLoginFailed}, keys: "`user_id`: the user's id",
					when: "the admin policy no longer lets the user log in (inactive, locked); the code is not checked"},
				failCodeInvalid, failCodeUsed}, failTOTPLockout...),
			effects: []string{"The second step of a `user-login` answered `second factor required`: the same keys as its success, " +
				"so the frontend continues as after a password login (create a session for `user_id` with `session-new`).",
				"`code` is the TOTP code from the authenticator app or one of the recovery codes (case, spaces and dashes ignored); " +
					"each is accepted once. A success consumes the challenge; after a failure it stays usable until it expires.",
				"**Deletes the session in `session_token`**, when given, whatever the outcome, as `user-login` does.",
				effectTOTPCounted},
		},
		"user-logout": {
			returns: []docKey{{"user_id", "the session's user id"}},
			ok:      []string{"Logout successful."},
			failures: []docFailure{
				{reason: "session does not exist", messages: []string{"Logout failed. Invalid session_token for user_id."}, when: "no live session with this token"},
				{reason: "user does not exist", messages: []string{"Logout failed. Invalid session_token for user_id."}, when: "the session belongs to another user (sic)"},
				{reason: "delete session failed", messages: []string{"Logout failed. Invalid session_token for user_id."}, when: "the session went away meanwhile"},
			},
			effects: []string{"Deletes the session and its session-bound API keys. Failures carry the request's `user_id`."},
		},
		"user-passcheck": {
			returns: []docKey{{"user_id", "the session's user id"}, {"user_role", "the user's role"}},
			ok:      []string{"Verification successful."},
			failures: []docFailure{
				{reason: "session does not exist", messages: []string{"No session token provided."}, when: "`session_token` is not a live session"},
				{reason: failBadLogin.reason, messages: failBadLogin.messages, when: "the password is wrong"}, failInactive, failBusy,
			},
			effects: []string{"None: the session stays. Not counted towards the lock-out (only the API rate limits apply)."},
		},
		"user-passcheck-nosession": {
			returns: []docKey{{"user_id", "the user's id"}, {"user_role", "the user's role"}},
			ok:      []string{"Verification successful."},
			failures: []docFailure{
				{reason: failBadLogin.reason, messages: failBadLogin.messages, when: "no user with this e-mail, or the password is wrong"},
				failInactive, failBusy,
			},
			effects: []string{"E-mails are compared exactly. No re-hash."},
		},

		"user-social-start": {
			returns: []docKey{{"authorization_url", "the provider's authorization URL: send the browser there"},
				{"state", "the login's state, also inside the URL: the provider sends it back with the code"},
				{"expires", "until when the login may be finished (isoformat, naive UTC)"}},
			ok: []string{"Social login started. Send the browser to the authorization URL."},
			failures: []docFailure{
				failSocialOff, failSocialProvider,
				{reason: "session does not exist", messages: []string{"No session token provided."}, when: "`session_token` is not a live session"},
				{reason: "provider unavailable", messages: []string{msgProviderDown},
					when: "the provider's OpenID Connect discovery failed (network, 5xx, a document naming another issuer)"},
			},
			effects: []string{"Stores the SHA-256 digests of a new state and of `session_token` for 10 minutes; the OpenID Connect nonce and the PKCE " +
				"verifier are derived from the state with a key of the server secret, so nothing stored lets anyone finish the login.",
				"The session stays: `user-social-finish` must present the same one. Send the browser to `authorization_url`; the provider " +
					"redirects it to the `redirect_url` of the providers file with `code` and `state`."},
		},
		"user-social-finish": {
			returns: []docKey{{"user_id", "the user's id"}, {"user_role", "the user's role"}},
			ok:      []string{"Login successful."},
			failures: []docFailure{
				failSocialOff, failSocialProvider,
				{reason: "session does not exist", messages: []string{"No session token provided."}, when: "`session_token` is not a live session (the state stays usable)"},
				{reason: "state invalid or expired", messages: []string{"This login attempt has expired or is not valid. Please start again."},
					when: "no unexpired state from `user-social-start` for this provider and session: unknown, used already, expired, or started by another session"},
				{reason: "provider unavailable", messages: []string{msgProviderDown},
					when: "the provider could not be reached or answered with a server error (token endpoint, signing keys, profile API)"},
				{reason: "authorization code exchange failed", messages: []string{"The login provider did not confirm this login. Please start again."},
					when: "the token endpoint refused the code (unknown, used or expired code, wrong PKCE verifier or client credentials)"},
				{reason: "ID token invalid", messages: []string{"The login provider's answer could not be verified. Please start again."},
					when: "the OpenID Connect ID token is missing or fails verification: signature, issuer, audience, expiry, nonce"},
				{reason: "profile fetch failed", messages: []string{"The login provider did not return your account details. Please try again later."},
					when: "GitHub's or X's profile API refused or gave an unreadable answer"},
				{reason: "already linked to another user", messages: []string{"This login is already linked to another account."},
					when: "the session is logged in and the provider account is linked to another user"},
				{reason: "provider already linked", messages: []string{"Your account is already linked to another account of this login provider. Unlink it first."},
					when: "the user to link to has another account of this provider linked"},
				{reason: "e-mail not verified", messages: []string{msgSocialUnverified},
					when: "a user has the e-mail the provider gave but the provider did not verify it; or the policy allowed a sign-up without a verified e-mail"},
				{reason: "user is locked or inactive", messages: []string{"This account cannot log in. Please contact the server admins."},
					when: "the admin policy's `login` decision refuses the user (inactive, unverified, role `locked`); no link is made"},
				{reason: "sign-up not allowed", messages: []string{"No account is linked to this login, and it cannot create one. Log in another way and link it from your account."},
					when: "no user to log in or link, and the role-assignment policy (`authnzrv.roles`, op `social-signup`) refuses a new user " +
						"(by default: the provider did not verify an e-mail; X never gives one)"},
				{reason: "social login conflict", messages: []string{"Another login with this account happened at the same time. Please try again."},
					when: "a concurrent finish linked this provider account or created the user first; nothing was written"},
				failBusy, failSecondFactor,
			},
			effects: []string{"**Always deletes the session it was given** once the state was checked, as `user-login` does: after a success create a " +
				"new session with `session-new` for `user_id`. The state is single-use.",
				"Finds the user: (1) the provider account's link; (2) else the session's logged-in user (not the anonymous user), which gets the link; " +
					"(3) else the user with the e-mail the provider verified, which gets the link (an unverified e-mail never links); (4) else a new " +
					"user, when the role-assignment policy allows it, with the role it names: active, e-mail verified, a password no one knows.",
				"The admin policy's `login` decision applies to every user, as in `user-login`. Not counted towards the lock-out.",
				"A user with TOTP on gets `second factor required` and a challenge, as from `user-login`, and finishes with `user-login-totp` " +
					"(not when a logged-in session links the account)."},
		},
		"user-social-list": {
			returns: []docKey{{"user_id", "`user_id`"},
				{"providers", "the linked accounts ordered by provider: objects with `provider`, `subject` (the provider's account id), " +
					"`email` (as the provider gave it when linked; \"\" for none) and `linked_on` (isoformat)"}},
			ok: []string{"Linked logins listed."},
			failures: []docFailure{failSocialOff,
				{reason: "no such user", messages: []string{"User look up failed."}, when: "no user `user_id`"}},
			effects: []string{"None.", effectNoAuthz},
		},
		"user-social-unlink": {
			returns: []docKey{{"user_id", "`user_id`"}},
			ok:      []string{"Login unlinked."},
			failures: []docFailure{failSocialOff,
				{reason: "no such link", messages: []string{"This login is not linked to the account."}, when: "no user `user_id`, or no account of `provider` linked to it"},
				{reason: "last login method", messages: []string{"This is the account's only way to log in: set a password or link another login first."},
					when: "it is the user's only link and the user has no password of their own (a user created by a social login, until a password reset)"},
			},
			effects: []string{"Deletes the link. The provider account logs in again only once linked anew (from a logged-in session, or by the e-mail the provider verified).", effectNoAuthz},
		},

		"user-new": {
			returns: []docKey{{"user_email", "the e-mail as stored: NFKC-normalised and case-folded"}, {"user_id", "the new user's id"},
				{"system_id", "the user's system id (`system_id` when given, else a new UUID)"},
				{"send_verification", "true: send the verification mail (`user-sendemail-signup`)"}},
			ok: []string{msgCreated},
			failures: []docFailure{
				{reason: "invalid email", messages: []string{"The email address provided doesn't seem to be a valid email address and cannot be used to sign up for an account on this server."},
					when: "the e-mail is malformed, uses confusable characters, a reserved name or a disposable domain"},
				{reason: "invalid full name", messages: []string{"The full name provided appears to contain an HTTP link, and cannot be used to sign up for an account on this server."},
					when: "the full name contains a link or a domain suffix"},
				{reason: "full name too long", messages: []string{msgNameTooLong},
					when: "the full name is longer than 280 characters once normalised (HTML escaping and NFKC can lengthen it)"},
				{reason: "public suffix list not present", messages: []string{"Full name could not be validated because of an internal server error"},
					when: "the server has no public suffix list (a server fault)"},
				{reason: "invalid password", messages: []string{"<the password policy's messages>"}, keys: "`user_email`: the normalised e-mail",
					when: "the password fails the policy (`--passpolicy`)"},
				{reason: "user exists", messages: []string{msgCreated}, keys: "`user_email`, `user_id`, `system_id` of the existing user; `send_verification`",
					when: "the e-mail is taken. `send_verification` is true when the existing sign-up was still inactive and older than `verify_retry_wait` hours: it was overwritten with this one, send a new verification mail"},
				{reason: "system_id exists", messages: []string{msgCreated}, when: "the given `system_id` is taken"},
				failBusy,
			},
			effects: []string{"Creates an inactive user with role `locked`, unverified e-mail and `emailverify_sent_datetime` now; the user cannot log in " +
				"until `user-set-emailverified`. Look at `send_verification`, not only `success`, to decide whether to send the mail.",
				"`extra_info` is stored with `provenance`, `type` and `verify_retry_wait` (hours, default 6, 1 to 8784) set by the server.",
				"The password is truncated to 256 characters before hashing."},
		},
		"user-delete": {
			returns: []docKey{{"user_id", "echoed from the request"}, {"email", "echoed from the request"}},
			ok:      []string{"User successfully deleted from DB."},
			failures: []docFailure{
				{reason: "invalid email", messages: []string{"We could not verify your email address or password."}, when: "no user with this `user_id` and exactly this `email`"},
				{reason: "invalid password", messages: []string{"We could not verify your email address or password."}, when: "the password is wrong"},
				{reason: "can't delete superusers", messages: []string{"Can't delete superusers."}, when: "the admin policy refuses (a superuser)"},
				{reason: "user deletion failed in DB", messages: []string{"Could not delete user from DB."}, when: "the database refused (a server fault)"},
				failBusy,
			},
			effects: []string{"Deletes the user, every session of the user and all their API keys. Failures echo `user_id` and `email`."},
		},

		"user-changepass": {
			returns: []docKey{{"user_id", "echoed from the request"}, {"email", "echoed from the request"}},
			ok:      []string{"<the password policy's messages, normally none>", "Password changed successfully.", "For security purposes, you have been logged out of all other sessions."},
			failures: []docFailure{
				{reason: "user does not exist", messages: []string{msgPwNoMatch}, when: "no active user with this `user_id` and exactly this `email`"},
				{reason: "invalid session for password change", messages: []string{"Your session is not valid for this password change request."},
					when: "`session_token` is not a live session of `user_id` (quirk #17 fixed)"},
				{reason: "user password does not match", messages: []string{msgPwNoMatch}, when: "`current_password` is wrong"},
				{reason: "password did not change", messages: []string{"Your new password cannot be the same as your old password."}, when: "the new password is the current one"},
				{reason: "new password is insecure", messages: []string{"<the password policy's messages>", "The new password you entered is insecure. It must be at least 12 characters long and be sufficiently complex."},
					when: "the new password fails the policy"},
				{reason: "DB error when updating password", messages: []string{"<the password policy's messages, normally none>", "Password could not be changed."},
					when: "storing the new password failed (a server fault)"},
				{reason: "DB error when updating password", messages: []string{"Password changed successfully, but your other sessions could not be ended."},
					when: "the password was changed but the other sessions could not be deleted (a server fault): retry ending them with `session-delete-userid`"},
				failBusy,
			},
			effects: []string{"**Ends every other session of the user** (all but `session_token`) and their session-bound API keys.",
				"Failures echo `user_id` and `email`. Passwords are truncated to 256 characters."},
		},
		"user-changepass-nosession": {
			returns: []docKey{{"user_id", "echoed from the request"}, {"email", "echoed from the request"}},
			ok:      []string{"<the password policy's messages, normally none>", "Password changed successfully."},
			failures: []docFailure{
				{reason: "user does not exist", messages: []string{msgPwNoMatch}, when: "no active user with this `user_id` and exactly this `email`"},
				{reason: "user password does not match", messages: []string{msgPwNoMatch}, when: "`current_password` is wrong"},
				{reason: "password did not change", messages: []string{"Your new password cannot be the same as your old password."}, when: "the new password is the current one"},
				{reason: "new password is insecure", messages: []string{"<the password policy's messages>", "The new password you entered is insecure. It must be at least 12 characters long and be sufficiently complex."},
					when: "the new password fails the policy"},
				{reason: "DB error when updating password", messages: []string{"<the password policy's messages, normally none>", "Password could not be changed."},
					when: "storing the new password failed (a server fault)"},
				failBusy,
			},
			effects: []string{"Sessions are not touched: end them with `session-delete-userid` if the user should log in again elsewhere.",
				"Failures echo `user_id` and `email`. Passwords are truncated to 256 characters."},
		},
		"user-resetpass": {
			ok: []string{"<the password policy's messages, normally none>", "Password changed successfully."},
			failures: []docFailure{
				{reason: "session does not exist", messages: []string{"Invalid session token for password reset request."}, when: "`session_token` is not a live session"},
				{reason: "user does not exist", messages: []string{"Invalid user for password reset request."}, when: "no active user with exactly this `email_address`"},
				{reason: "no password reset was requested for this user", messages: []string{"Invalid user for password reset request."},
					when: "no forgot-password mail was recorded for the user in the last 24 hours"},
				{reason: "invalid password", messages: []string{"Insecure password for password reset request.", "<the password policy's messages>"}, when: "the new password fails the policy"},
				{reason: "password update failed in DB", messages: []string{"<the password policy's messages, normally none>", "Password could not be changed."},
					when: "storing the new password failed (a server fault)"},
				failBusy,
			},
			effects: []string{"Needs a forgot-password mail recorded for the user within 24 hours (`user-sendemail-forgotpass`, or `user-set-emailsent` " +
				"with `forgotpass`); the reset clears it, so one mail allows one reset.",
				"**Ends every session of the user** (quirk #18 fixed), with their session-bound API keys; the session presented may be any live session (e.g. anonymous).",
				"The frontend checks the mailed token itself before sending this request."},
		},
		"user-resetpass-nosession": {
			ok: []string{"<the password policy's messages, normally none>", "Password changed successfully."},
			failures: []docFailure{
				{reason: "user does not exist or is_active was not as required", messages: []string{"Invalid user for password reset request."},
					when: "no user with exactly this `email_address` whose `is_active` equals `required_active`"},
				{reason: "no password reset was requested for this user", messages: []string{"Invalid user for password reset request."},
					when: "no forgot-password mail was recorded for the user in the last 24 hours"},
				{reason: "invalid new password", messages: []string{"Insecure new password for password reset request.", "<the password policy's messages>"}, when: "the new password fails the policy"},
				{reason: "password update failed in DB", messages: []string{"<the password policy's messages, normally none>", "Password could not be changed."},
					when: "storing the new password failed (a server fault)"},
				failBusy,
			},
			effects: []string{"Needs a forgot-password mail recorded within 24 hours, cleared by the reset (one mail, one reset).",
				"**Ends every session of the user** and their session-bound API keys. `is_active` is not changed."},
		},
		"user-validatepass": {
			ok: []string{"<the password policy's messages, normally none>"},
			failures: []docFailure{{reason: "password is insecure or invalid", messages: []string{"<the password policy's messages>"},
				when: "the password fails the policy"}},
			effects: []string{"None. The server's policy (`--passpolicy`) always applies: the policy kwargs are type-checked and ignored, as in the reference. " +
				"With `--pwnedcheck 1` the server asks the Pwned Passwords range API (k-anonymity). The password is not truncated here."},
		},

		"user-list": {
			returns: []docKey{{"user_info", "a list of user_info objects: every user ordered by `user_id` when `user_id` is null, else the one with that id (empty when none or not an integer)"}},
			ok:      []string{"User look up successful."},
			effects: []string{effectNoAuthz},
		},
		"user-lookup-email": {
			returns: []docKey{keyUserInfo},
			ok:      []string{"User look up successful."},
			failures: []docFailure{{reason: "user email not found in DB", messages: []string{"User look up failed."},
				when: "no user with exactly this e-mail"}},
			effects: []string{effectNoAuthz},
		},
		"user-lookup-match": {
			returns: []docKey{keyUserInfoList},
			ok:      []string{"User look up successful."},
			failures: []docFailure{
				{reason: "invalid request: 'by' is 'extra_info' but 'match' is not a dict or 'match' is a dict and 'by' is not 'extra_info'",
					messages: []string{"Invalid match condition provided."}, when: "`by` is `extra_info` and `match` is not an object, or the other way round"},
				{reason: "exception in DB access", messages: []string{"User look up failed."},
					when: "`by` is not a user_info column (the password never is: quirk #21 fixed), or `match` is a list"},
			},
			effects: []string{"`by: \"extra_info\"` matches users whose `extra_info` has every key of `match` with an equal value.", effectNoAuthz},
		},
		"user-edit": {
			returns: []docKey{keyUserInfo},
			ok:      []string{"User update successful."},
			failures: []docFailure{
				{reason: "invalid request: can't edit anonymous/locked users", messages: []string{"Editing anonymous/locked user accounts not allowed."}, when: "`target_userid` is 2 or 3"},
				{reason: "no valid session found for originating user_id", messages: []string{"User session info not available for this user edit attempt."},
					when: "a self-edit whose session is not a live session of an active `user_id` with this `user_role`"},
				{reason: "role '%s' can't edit anything other than 'full_name', 'email'", messages: []string{"extra elements in update_dict not allowed"},
					when: "a self-edit (role `authenticated` or `staff`) with other keys"},
				{reason: "invalid session for edit attempt", messages: []string{"Superuser session info not available for this user edit attempt."},
					when: "a superuser edit whose session is not a live session of the active superuser"},
				{reason: "role: 'superuser' is not allowed to edit items: '%s'", messages: []string{"extra elements in update_dict not allowed"},
					when: "a superuser edit with keys beyond `full_name`, `email`, `is_active`, `user_role`, `email_verified` (%s lists every key)"},
				{reason: "role change requested is not valid", messages: []string{"unknown role change request in update_dict"}, when: "`update_dict.user_role` is not a role of the policy"},
				{reason: "invalid session for edit attempt", messages: []string{"user_id or session info not available for this user edit attempt."},
					when: "any other editor (e.g. a user editing someone else)"},
				{reason: "invalid value for '%s' in update_dict", messages: []string{"User update failed."},
					when: "a value is invalid: an e-mail or full name that sign-up refuses, an unknown role, a flag that is not a boolean (quirk #22 fixed)"},
				{reason: "exception when trying to update user: the e-mail is taken", messages: []string{"User update failed."}, when: "another user has the new e-mail"},
				{reason: "exception when trying to update user", messages: []string{"User update failed."}, when: "no user `target_userid`"},
			},
			effects: []string{"Updates the target user; e-mails and full names are normalised as at sign-up. The admin policy decides who may edit what."},
		},
		"user-lock": {
			returns: []docKey{keyUserInfo},
			ok:      []string{"User lock toggle successful."},
			failures: []docFailure{
				{reason: "user role is not 'superuser', required to toggle locks", messages: []string{"You don't have lock/unlock privileges."}, when: "`user_role` is not `superuser`"},
				{reason: "can't toggle a lock state on self", messages: []string{"You can't lock/unlock your own user account."}, when: "`target_userid` is `user_id`"},
				{reason: "action must be one of 'lock', 'unlock'", messages: []string{"Unknown action requested for toggle_user_lock."}, when: "`action` is neither"},
				{reason: "can't toggle lock state for system anonymous/locked accounts", messages: []string{"Editing anonymous/locked user accounts not allowed."}, when: "`target_userid` is 2 or 3"},
				{reason: "invalid session for user attempting lock toggle", messages: []string{"Superuser session info not available for this user edit attempt."},
					when: "the session is not a live session of the active superuser"},
				{reason: "exception encountered when trying lock toggle action", messages: []string{"User lock toggle failed."}, when: "no user `target_userid`"},
			},
			effects: []string{"`lock`: the user becomes inactive with role `locked` (the previous role is kept in `extra_info.previous_user_roles`) and " +
				"**every session of the user ends**, with their session-bound API keys. `unlock`: active again with the previous role. " +
				"Locking a locked user or unlocking an unlocked one changes nothing."},
		},

		"user-sendemail-signup": {
			returns: []docKey{{"user_id", "the user's id"}, {"email_address", "the e-mail the mail went to"}, {"emailverify_sent_datetime", "when it was sent"}},
			ok:      []string{"Verify email sent successfully."},
			failures: []docFailure{
				{reason: "invalid request: missing 'account_verify_url' in request", messages: []string{"Invalid verify email request."},
					when: "neither `account_verify_url` nor `server_verify_url` is given"},
				{reason: "invalid request: missing 'emailsender', 'emailserver', or 'emailport' in request", messages: []string{"Invalid email server settings provided. Can't send an email."},
					when: "the effective sender, server or port is empty"},
				{reason: "not allowed to send verification email to target user, send_verification = False", messages: []string{"Not allowed to send an email verification request."},
					when: "`created_info.send_verification` is false"},
				{reason: "target user for verification email does not exist", messages: []string{"Invalid verify email request."},
					when: "no user with this e-mail and `created_info.user_id`"},
				{reason: "target user for verification email already active and verified", messages: []string{"Not sending an verify email request to an existing user."},
					when: "the admin policy refuses (the user is active or verified)"},
				{reason: "invalid session for requesting a verification email", messages: []string{"Invalid verify email request."}, when: "`session_token` is not a live session"},
				{reason: "verification email could not be sent because of an email server problem", messages: []string{"Could not send email for the verify email request."},
					when: "the SMTP server could not be reached, refused the login or the recipient (the server log says why)"},
				{reason: "verification email sent, but its time could not be recorded", messages: []string{"Verify email sent successfully."},
					when: "the mail went out but recording it failed (a server fault)"},
			},
			effects: []string{"Sends the sign-up mail: the link is `server_baseurl` + `account_verify_url` (alias `server_verify_url`), the token wrapped at 70 columns, " +
				"the expiry `verification_expiry` seconds from now. The frontend makes and checks the token.", effectMailReq,
				"Records `emailverify_sent_datetime`. `created_info` is the `user-new` reply (`user_id`, `send_verification`)."},
		},
		"user-sendemail-forgotpass": {
			returns: []docKey{{"user_id", "the user's id"}, {"email_address", "the e-mail the mail went to"}, {"emailforgotpass_sent_datetime", "when it was sent"}},
			ok:      []string{"Password reset request sent successfully to %s"},
			failures: []docFailure{
				{reason: "missing 'emailserver', 'emailsender', 'emailport' in request", messages: []string{"Invalid email server settings provided. Can't send an email."},
					when: "the effective sender, server or port is empty"},
				{reason: "invalid user for forgot-pass email request", messages: []string{"Invalid password reset email request."},
					when: "no user with this e-mail, or the admin policy refuses (inactive, role `locked` or `anonymous`)"},
				{reason: "forgot-pass verification email sent less than 24 hours ago", messages: []string{"Invalid password reset email request."},
					when: "a forgot-password mail went to the user in the last 24 hours"},
				{reason: "invalid session for forgot-pass request", messages: []string{"Invalid verification email request."}, when: "`session_token` is not a live session"},
				{reason: "forgot-pass verification email could not be sent because email server issue",
					messages: []string{"Could not send email to %s for the user password reset request."},
					when:     "the SMTP server could not be reached, refused the login or the recipient (the server log says why)"},
				{reason: "forgot-pass email sent, but its time could not be recorded", messages: []string{"Password reset request sent successfully to %s"},
					when: "the mail went out but recording it failed (a server fault)"},
			},
			effects: []string{"Sends the forgot-password mail (link `server_baseurl` + `password_forgot_url`); %s in the messages is the recipient list as Python prints it, e.g. `['a@example.org']`.",
				effectMailReq,
				"Records `emailforgotpass_sent_datetime`, which opens the 24-hour window of `user-resetpass` / `user-resetpass-nosession`; at most one mail per 24 hours."},
		},
		"user-set-emailverified": {
			returns: []docKey{{"user_id", "the user's id"}, {"is_active", "the user's state after the call"}, {"user_role", "the user's role after the call"}},
			ok:      []string{"Email verification toggle request succeeded."},
			failures: []docFailure{
				{reason: "could not find user in DB by email", messages: []string{"Email verification toggle request failed."}, when: "no user with exactly this e-mail"},
				{reason: "email verification refused by the policy: %s", messages: []string{"Email verification toggle request failed."},
					when: "the role-assignment policy (`authnzrv.roles`) refuses; %s is its reason"},
			},
			effects: []string{"For a user whose e-mail is unverified: marks it verified, activates the user and gives the role the role-assignment policy picks " +
				"(by default the previous role, else `authenticated`). A verified user is not changed (quirk #26 fixed: a locked user stays locked); the reply reports the current state.",
				"No token is checked: call it only after the frontend verified the mailed token."},
		},
		"user-set-emailsent": {
			returns: []docKey{{"email", "the user's e-mail"}, {"user_id", "the user's id"}, {"is_active", "the user's state"}, {"user_role", "the user's role"},
				{"emailverify_sent_datetime", "when the last sign-up mail was recorded"}, {"emailforgotpass_sent_datetime", "when the last forgot-password mail was recorded"}},
			ok: []string{"Email sent notification request succeeded."},
			failures: []docFailure{
				{reason: "invalid request: invalid email_type requested", messages: []string{"Invalid email sent notification request."}, when: "`email_type` is not `signup` or `forgotpass`"},
				{reason: "could not update the email sent status in DB", messages: []string{"Email sent notification request failed."}, when: "no user with exactly this e-mail"},
			},
			effects: []string{"For frontends that send the mails themselves: records now as the time of the user's `signup` or `forgotpass` mail. " +
				"`forgotpass` opens the 24-hour window of `user-resetpass`."},
		},

		"apikey-new": {
			returns: []docKey{{"apikey", "the key's claims as a JSON **string** (`iss`, `ver`, `uid`, `rol`, `usa`, `aud`, `sub`, `ipa`, `tkn`, `iat`, `nbf`, `exp`)"},
				{"expires", "the key's expiry (isoformat)"}},
			ok: []string{"API key generated successfully, expires: %s."},
			failures: []docFailure{
				{reason: "user not allowed to issue API key", messages: []string{"API key issuance failed. You are not allowed to issue an API key."},
					when: "the policy denies `create` on an own `apikey`, or the user is not active with this `user_role`"},
				{reason: "invalid session for user requesting API key issuance", messages: []string{"Invalid session token for API key issuance request."},
					keys: "`apikey: null, expires: null`", when: "`session_token` is not a live session"},
				{reason: "invalid session for user requesting API key issuance", messages: []string{"DB session user_id, ip_address, user_agent, user_role does not match provided session info."},
					keys: "`apikey: null, expires: null`", when: "the session's user, IP address, user agent or the user's role differ from the request"},
			},
			effects: []string{"Stores the key (its token as a SHA-256 digest) bound to the session: it dies with the session (logout, `session-delete`, " +
				"lock, password change or reset, user deletion, purge). No refresh. The frontend signs or encrypts `apikey` before handing it out."},
		},
		"apikey-verify": {
			ok:       []string{"API key verified successfully. Expires: %s."},
			failures: []docFailure{failKeyView, failKeyInvalid},
			effects:  []string{effectClaims, "Only `tkn`, `uid` and `rol` are matched; the key must be unexpired and past its `nbf`."},
		},
		"apikey-revoke": {
			ok:       []string{"API key revocation processed."},
			failures: []docFailure{failKeyDelete, failKeyNotRevoked},
			effects:  []string{effectClaims, "Deletes the session-bound key."},
		},
		"apikey-new-nosession": {
			returns: []docKey{{"apikey", "the key's claims as a JSON **string** (`iss`, `ver`, `uid`, `rol`, `aud`, `sub`, `ipa`, `tkn`, `iat`, `nbf`, `exp`)"},
				{"expires", "the key's expiry (isoformat)"}, {"refresh_token", "the refresh token (shown once; stored as a digest)"},
				{"refresh_token_expires", "the refresh token's expiry (isoformat)"}},
			ok: []string{"API key generated successfully, expires: %s."},
			failures: []docFailure{{reason: "originating user is not allowed to issue an API key",
				messages: []string{"API key issuance failed. You are not allowed to issue an API key."},
				when:     "the policy denies `create` on an own `apikey`, or the user is not active with this `user_role`"}},
			effects: []string{"Stores the key and its refresh token as SHA-256 digests. The key lives `expires_seconds`; the refresh token " +
				"`refresh_expires` seconds, usable after `refresh_nbf` seconds."},
		},
		"apikey-verify-nosession": {
			ok:       []string{"No-session API key verified successfully. Expires: %s."},
			failures: []docFailure{failKeyView, failKeyInvalid},
			effects:  []string{effectClaims, "Only `tkn`, `uid` and `rol` are matched; the key must be unexpired and past its `nbf`."},
		},
		"apikey-revoke-nosession": {
			ok:       []string{"API key revocation processed."},
			failures: []docFailure{failKeyDelete, failKeyNotRevoked},
			effects:  []string{effectClaims, "Deletes the no-session key and its refresh token."},
		},
		"apikey-revokeall-nosession": {
			returns: []docKey{{"revoked_keys", "how many keys were deleted"}},
			ok:      []string{"All API keys revocation processed."},
			failures: []docFailure{
				{reason: "originating user is not allowed to delete API keys", messages: []string{"All API keys revocation failed. You are not allowed to delete API keys."},
					when: "the policy denies `delete` on the key's owner's keys, or the requester or owner is not active"},
				{reason: "provided API key is invalid, revoke-all operation requires a valid key to start with",
					messages: []string{"All API keys revocation failed. The API key presented is invalid."}, when: "the presented key does not verify (as `apikey-verify-nosession`)"},
			},
			effects: []string{effectClaims, "Deletes every no-session key of the key's `uid` and `rol`; session-bound keys are untouched."},
		},
		"apikey-refresh-nosession": {
			returns: []docKey{{"apikey", "the new key's claims as a JSON string (`iss`, `ver`, `aud`, `sub` copied from the old key)"}, {"expires", "the new key's expiry"},
				{"refresh_token", "the new refresh token"}, {"refresh_token_expires", "its expiry"}},
			ok: []string{"API key generated successfully, expires: %s."},
			failures: []docFailure{
				{reason: "provided API key has no stored refresh token, probably invalid",
					messages: []string{"API key refresh failed. The API key presented does not have a valid refresh token. You may need to login again to generate a new API key."},
					when:     "no such key, its refresh token expired or is not valid yet, or a concurrent refresh consumed it"},
				{reason: "provided refresh token does not match stored refresh token",
					messages: []string{"API key refresh failed. The API key presented does not have a valid refresh token. You may need to login again to generate a new API key."},
					when:     "`refresh_token` is wrong"},
				{reason: "user from provided API key not allowed to revoke old key",
					messages: []string{"API key refresh failed. The API key presented does not have a valid refresh token.You may need to login again to generate a new API key."},
					when:     "`user_id`/`user_role` are not the key's `uid`/`rol` (quirk #27 fixed), or the policy denies `delete`"},
				{reason: "user from provided API key not allowed to issue new key",
					messages: []string{"API key refresh failed. The API key presented does not have a valid refresh token.You may need to login again to generate a new API key."},
					when:     "the policy denies `create`"},
			},
			effects: []string{effectClaims + " Refresh also needs `iss`, `ver`, `aud`, `sub`.",
				"Consumes the old key and its refresh token and stores the new pair in one transaction: of concurrent refreshes exactly one succeeds. " +
					"An expired key can be refreshed while its refresh token is valid."},
		},

		"user-check-access": {
			ok: []string{"Access request check successful. Access granted: True."},
			failures: []docFailure{
				{reason: "exception when checking the DB", messages: []string{"Could not validate access to the requested item."},
					when: "`user_role` is not a role of the policy, or `target_sharedwith` is not a comma-separated list of user ids (\"\" and `none` are empty)"},
				{reason: "user initiating request is not valid", messages: []string{"Access request check successful. Access granted: False."},
					when: "no active user `user_id` with exactly this `user_role`"},
				{reason: "users specified as owner or shared-with not found", messages: []string{"Access request check successful. Access granted: False."},
					when: "the owner or a shared-with user does not exist or is inactive"},
				{reason: "action not permitted", messages: []string{"Access request check successful. Access granted: False."}, when: "the access policy denies"},
			},
			effects: []string{"None. The access policy (compiled from the permissions model, or your `authnzrv.access`) decides."},
		},
		"user-check-limit": {
			ok: []string{"Limit check successful. Limit check passed: True."},
			failures: []docFailure{
				{reason: "exception when checking the DB", messages: []string{"Could not validate limit rule for the requested item."},
					when: "`user_role` is not a role of the policy, or `value_to_check` cannot be compared with the limit"},
				{reason: "user attempting access not found", messages: []string{"Limit check successful. Limit check passed: False."},
					when: "no active user `user_id` with exactly this `user_role`"},
				{reason: "user is over limit", messages: []string{"Limit check successful. Limit check passed: False."}, when: "the limit policy says the value is over the role's limit"},
			},
			effects: []string{"None. The limit policy decides."},
		},

		"internal-user-lock": {
			returns: []docKey{keyUserInfo},
			ok:      []string{"User lock toggle successful."},
			failures: []docFailure{
				{reason: "action must be either 'lock' or 'unlock'", messages: []string{"Unknown action requested for toggle_user_lock."}, when: "`action` is neither"},
				{reason: "can't edit anonymous/locked users", messages: []string{"Editing anonymous/locked user accounts not allowed."}, when: "`target_userid` is 2 or 3"},
				{reason: "exception encountered when trying lock toggle action", messages: []string{"User lock toggle failed."}, when: "no user `target_userid`"},
			},
			effects: []string{"As `user-lock`: `lock` makes the user inactive with role `locked` and **ends every session of the user**; `unlock` restores the previous role.",
				effectInternal},
		},
		"internal-user-delete": {
			returns: []docKey{{"user_id", "`target_userid`"}},
			ok:      []string{"User successfully deleted from DB."},
			failures: []docFailure{
				{reason: "can't delete the system anonymous/locked users", messages: []string{"Could not delete user from DB."}, when: "`target_userid` is 2 or 3 (quirk #23 fixed)"},
				{reason: "can't delete the last superuser", messages: []string{"Could not delete user from DB."}, when: "the target is the only superuser"},
				{reason: "user deletion refused by the policy", messages: []string{"Could not delete user from DB."}, when: "the admin policy refuses for another reason"},
			},
			effects: []string{"Deletes the user, every session of the user and all their API keys. Succeeds also when no such user exists.", effectInternal},
		},
		"internal-user-edit": {
			returns: []docKey{keyUserInfo},
			ok:      []string{"User-info update successful."},
			failures: []docFailure{
				{reason: "invalid request: missing 'update_dict' in request", messages: []string{"Invalid user-edit request: missing or invalid parameters."}, when: "`update_dict` is empty"},
				{reason: "invalid request: disallowed keys in update_dict: {%s}", messages: []string{"Invalid edit-user request: invalid update parameters."},
					when: "it has `user_id`, `system_id`, `password`, a `*_sent_datetime`, `last_login_*`, `failed_login_tries`, `created_on` or `last_updated` (%s lists them, quoted and sorted)"},
				{reason: "no such user", messages: []string{"User info update failed."}, when: "no user `target_userid`"},
				{reason: "DB error when updating user info", messages: []string{"User info update failed."},
					when: "a key other than `full_name`, `email`, `email_verified`, `is_active`, `user_role`, `extra_info`; an unknown role; a taken e-mail; a value of the wrong type; a merged `extra_info` over 65536 bytes"},
			},
			effects: []string{"Sets the columns as given (values are not normalised); `extra_info` is merged into the stored one, a `\"__delete__\"` value removing an existing key.",
				effectInternal},
		},
	}
}
