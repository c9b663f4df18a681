# METADATA
# title: Administrative decisions
# description: |
#   Who may edit, lock, unlock, delete or re-role whom; which users the
#   failed-login lock-out may lock; which users may log in or be sent the
#   e-mails of the sign-up and forgot-password flows. The server asks
#   `decision` before it acts and answers the request type's documented
#   failure for the deny code.
#
#   Input:
#     op          the operation: user-edit, user-lock, internal-user-lock,
#                 user-delete, internal-user-delete, lockout, login,
#                 passcheck, sendemail-signup, sendemail-forgotpass,
#                 cli-lock, cli-set-role, cli-delete
#     actor       {user_id, role, session}: who asks; session is true when
#                 the presented session is a live session of this active
#                 user with this role
#     target      {user_id, role, active, verified}: the user acted on
#     keys        the update_dict keys of an edit
#     new_role    the role an edit or cli-set-role sets ("" when not a string)
#     action      "lock" or "unlock" (the lock operations)
#     superusers  how many superusers exist (deletions)
#   Data: data.authnzrv.model.roles, the roles of the permissions model.
# related_resources:
#   - description: the reference's rules
#     ref: https://github.com/waqasbhatti/authnzerver
package authnzrv.admin

# The system users: 2 is the anonymous user, 3 the locked "dummy" user
# whose hash the failure paths verify against. Nobody edits, locks or
# deletes them.
system_users := {2, 3}

known_roles := {r | some r in data.authnzrv.model.roles}

# What a user may change about themselves, and what a superuser may change
# about anyone.
self_editable := {"full_name", "email"}

superuser_editable := {"full_name", "email", "is_active", "user_role", "email_verified"}

lock_actions := {"lock", "unlock"}

# METADATA
# title: decision
# description: |
#   The answer: {"allowed": bool, "deny": code, "reason": words}. The deny
#   code names the rule that refused; "" when allowed.
# entrypoint: true
decision := {"allowed": true, "deny": "", "reason": "allowed"} if {
	not deny
} else := {"allowed": false, "deny": deny, "reason": reasons[deny]}

reasons := {
	"already_active": "the user is already active and verified",
	"bad_action": "the action is neither lock nor unlock",
	"inactive": "the user is not active",
	"invalid_user": "the user cannot be sent this mail",
	"keys_self": "a user may change only their own full name and e-mail",
	"keys_superuser": "a superuser may change only full name, e-mail, active, role and e-mail verification",
	"last_superuser": "the last superuser cannot be removed",
	"locked_role": "the user's role is locked",
	"no_session": "no live session of the acting superuser",
	"no_session_self": "no live session of the user editing themselves",
	"no_session_superuser": "no live session of the acting superuser",
	"not_active": "the user is not active",
	"not_permitted": "only a user editing themselves or a superuser may edit users",
	"not_superuser": "only a superuser may lock and unlock users",
	"not_verified": "the user's e-mail is not verified",
	"self": "nobody locks or unlocks themselves",
	"superuser": "superusers cannot delete themselves",
	"system_user": "the system users 2 and 3 cannot be changed",
	"unknown_op": "unknown operation",
	"unknown_role": "the role is not a role of the permissions model",
}

target_is_system if input.target.user_id in system_users

self_edit if {
	input.target.user_id == input.actor.user_id
	input.actor.role in {"authenticated", "staff"}
}

superuser_edit if {
	not self_edit
	input.actor.role == "superuser"
}

# user-edit (actions.md §5.4), checked in the reference's order.
deny := "system_user" if {
	input.op == "user-edit"
	target_is_system
} else := "no_session_self" if {
	input.op == "user-edit"
	self_edit
	not input.actor.session
} else := "keys_self" if {
	input.op == "user-edit"
	self_edit
	some k in input.keys
	not k in self_editable
} else := "no_session_superuser" if {
	input.op == "user-edit"
	superuser_edit
	not input.actor.session
} else := "keys_superuser" if {
	input.op == "user-edit"
	superuser_edit
	some k in input.keys
	not k in superuser_editable
} else := "unknown_role" if {
	input.op == "user-edit"
	superuser_edit
	"user_role" in input.keys
	not input.new_role in known_roles
} else := "not_permitted" if {
	input.op == "user-edit"
	not self_edit
	not superuser_edit
}

# user-lock (actions.md §5.5).
deny := "not_superuser" if {
	input.op == "user-lock"
	input.actor.role != "superuser"
} else := "self" if {
	input.op == "user-lock"
	input.target.user_id == input.actor.user_id
} else := "bad_action" if {
	input.op == "user-lock"
	not input.action in lock_actions
} else := "system_user" if {
	input.op == "user-lock"
	target_is_system
} else := "no_session" if {
	input.op == "user-lock"
	not input.actor.session
}

# internal-user-lock (§9.1) and the CLI's lock and unlock.
deny := "bad_action" if {
	input.op in {"internal-user-lock", "cli-lock"}
	not input.action in lock_actions
} else := "system_user" if {
	input.op in {"internal-user-lock", "cli-lock"}
	target_is_system
}

# internal-user-delete (§9.2, quirk #23) and the CLI's delete.
deny := "system_user" if {
	input.op in {"internal-user-delete", "cli-delete"}
	target_is_system
} else := "last_superuser" if {
	input.op in {"internal-user-delete", "cli-delete"}
	input.target.role == "superuser"
	input.superusers <= 1
}

# user-delete (§3.2): self-service deletion, asked after the password matched.
deny := "superuser" if {
	input.op == "user-delete"
	input.target.role == "superuser"
}

# The failed-login lock-out never locks the system users.
deny := "system_user" if {
	input.op == "lockout"
	target_is_system
}

# user-login (§2.1): only active, verified users have their password
# checked; a matching password of a user whose role is locked is refused.
deny := "not_active" if {
	input.op == "login"
	not input.target.active
} else := "not_verified" if {
	input.op == "login"
	not input.target.verified
} else := "locked_role" if {
	input.op == "login"
	input.target.role == "locked"
}

# user-passcheck and user-passcheck-nosession (§2.3, §2.4), asked after
# the password matched.
deny := "inactive" if {
	input.op == "passcheck"
	not input.target.active
} else := "inactive" if {
	input.op == "passcheck"
	input.target.role == "locked"
}

# user-sendemail-signup (§6.1): only to a sign-up still waiting for its
# verification.
deny := "already_active" if {
	input.op == "sendemail-signup"
	input.target.active
} else := "already_active" if {
	input.op == "sendemail-signup"
	input.target.role != "locked"
}

# user-sendemail-forgotpass (§6.2): only to active users who can log in.
deny := "invalid_user" if {
	input.op == "sendemail-forgotpass"
	not input.target.active
} else := "invalid_user" if {
	input.op == "sendemail-forgotpass"
	input.target.role in {"locked", "anonymous"}
}

# The CLI's set-role: the role must be a role of the model.
deny := "unknown_role" if {
	input.op == "cli-set-role"
	not input.new_role in known_roles
}

ops := {
	"user-edit", "user-lock", "internal-user-lock", "user-delete", "internal-user-delete",
	"lockout", "login", "passcheck", "sendemail-signup", "sendemail-forgotpass",
	"cli-lock", "cli-set-role", "cli-delete",
}

deny := "unknown_op" if not input.op in ops
