package authnzrv.admin_test

import data.authnzrv.admin

roles := ["superuser", "staff", "authenticated", "anonymous", "locked"]

deny_of(q) := d if {
	d := admin.decision.deny with input as q with data.authnzrv.model.roles as roles
}

actor(id, role, session) := {"user_id": id, "role": role, "session": session}

target(id, role) := {"user_id": id, "role": role, "active": true, "verified": true}

edit(a, t, keys, new_role) := {"op": "user-edit", "actor": a, "target": t, "keys": keys, "new_role": new_role}

test_user_edit if {
	deny_of(edit(actor(4, "authenticated", true), target(2, "anonymous"), ["full_name"], "")) == "system_user"
	deny_of(edit(actor(1, "superuser", true), target(3, "locked"), ["full_name"], "")) == "system_user"
	deny_of(edit(actor(4, "authenticated", false), target(4, "authenticated"), ["full_name"], "")) == "no_session_self"
	deny_of(edit(actor(4, "staff", true), target(4, "staff"), ["email", "is_active"], "")) == "keys_self"
	deny_of(edit(actor(4, "staff", true), target(4, "staff"), ["email", "full_name"], "")) == ""
	deny_of(edit(actor(1, "superuser", false), target(4, "staff"), ["email"], "")) == "no_session_superuser"
	deny_of(edit(actor(1, "superuser", true), target(4, "staff"), ["password"], "")) == "keys_superuser"
	deny_of(edit(actor(1, "superuser", true), target(4, "staff"), ["user_role"], "wizard")) == "unknown_role"
	deny_of(edit(actor(1, "superuser", true), target(4, "staff"), ["user_role", "is_active"], "staff")) == ""
	deny_of(edit(actor(1, "superuser", true), target(1, "superuser"), ["full_name"], "")) == ""
	deny_of(edit(actor(5, "staff", true), target(4, "authenticated"), ["full_name"], "")) == "not_permitted"
	deny_of(edit(actor(4, "anonymous", true), target(4, "anonymous"), ["full_name"], "")) == "not_permitted"
}

lock(op, a, t, action) := {"op": op, "actor": a, "target": t, "action": action}

test_user_lock if {
	deny_of(lock("user-lock", actor(4, "staff", true), target(5, "staff"), "lock")) == "not_superuser"
	deny_of(lock("user-lock", actor(1, "superuser", true), target(1, "superuser"), "lock")) == "self"
	deny_of(lock("user-lock", actor(1, "superuser", true), target(4, "staff"), "freeze")) == "bad_action"
	deny_of(lock("user-lock", actor(1, "superuser", true), target(2, "anonymous"), "lock")) == "system_user"
	deny_of(lock("user-lock", actor(1, "superuser", false), target(4, "staff"), "unlock")) == "no_session"
	deny_of(lock("user-lock", actor(1, "superuser", true), target(4, "staff"), "unlock")) == ""
}

test_internal_and_cli_lock if {
	some op in ["internal-user-lock", "cli-lock"]
	deny_of(lock(op, {}, target(4, "staff"), "freeze")) == "bad_action"
	deny_of(lock(op, {}, target(3, "locked"), "lock")) == "system_user"
	deny_of(lock(op, {}, target(1, "superuser"), "lock")) == ""
}

delete(op, t, n) := {"op": op, "target": t, "superusers": n}

test_delete if {
	some op in ["internal-user-delete", "cli-delete"]
	deny_of(delete(op, target(2, "anonymous"), 2)) == "system_user"
	deny_of(delete(op, target(1, "superuser"), 1)) == "last_superuser"
	deny_of(delete(op, target(1, "superuser"), 2)) == ""
	deny_of(delete(op, target(4, "staff"), 1)) == ""
}

test_user_delete if {
	deny_of({"op": "user-delete", "target": target(1, "superuser")}) == "superuser"
	deny_of({"op": "user-delete", "target": target(4, "authenticated")}) == ""
}

test_lockout if {
	deny_of({"op": "lockout", "target": target(2, "anonymous")}) == "system_user"
	deny_of({"op": "lockout", "target": target(1, "superuser")}) == ""
}

user(active, verified, role) := {"user_id": 4, "role": role, "active": active, "verified": verified}

test_login if {
	deny_of({"op": "login", "target": user(false, true, "authenticated")}) == "not_active"
	deny_of({"op": "login", "target": user(true, false, "authenticated")}) == "not_verified"
	deny_of({"op": "login", "target": user(true, true, "locked")}) == "locked_role"
	deny_of({"op": "login", "target": user(true, true, "staff")}) == ""
}

test_passcheck if {
	deny_of({"op": "passcheck", "target": user(false, true, "staff")}) == "inactive"
	deny_of({"op": "passcheck", "target": user(true, true, "locked")}) == "inactive"
	deny_of({"op": "passcheck", "target": user(true, false, "staff")}) == ""
}

test_mails if {
	deny_of({"op": "sendemail-signup", "target": user(false, false, "locked")}) == ""
	deny_of({"op": "sendemail-signup", "target": user(true, true, "authenticated")}) == "already_active"
	deny_of({"op": "sendemail-signup", "target": user(false, true, "authenticated")}) == "already_active"
	deny_of({"op": "sendemail-forgotpass", "target": user(true, true, "authenticated")}) == ""
	deny_of({"op": "sendemail-forgotpass", "target": user(false, true, "authenticated")}) == "invalid_user"
	deny_of({"op": "sendemail-forgotpass", "target": user(true, true, "anonymous")}) == "invalid_user"
	deny_of({"op": "sendemail-forgotpass", "target": user(true, true, "locked")}) == "invalid_user"
}

test_cli_set_role if {
	deny_of({"op": "cli-set-role", "target": target(4, "staff"), "new_role": "superuser"}) == ""
	deny_of({"op": "cli-set-role", "target": target(4, "staff"), "new_role": "wizard"}) == "unknown_role"
}

test_decision_shape if {
	d := admin.decision with input as {"op": "user-delete", "target": target(1, "superuser")}
		with data.authnzrv.model.roles as roles
	d == {"allowed": false, "deny": "superuser", "reason": "superusers cannot delete themselves"}
	ok := admin.decision with input as {"op": "lockout", "target": target(5, "staff")}
		with data.authnzrv.model.roles as roles
	ok.allowed
	deny_of({"op": "format-disk"}) == "unknown_op"
}
