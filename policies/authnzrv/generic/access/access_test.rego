package authnzrv.generic.access_test

import data.authnzrv.generic.access
import data.authnzrv.testdata.default_model

req(uid, role, action, item, owner, vis, shared) := {
	"user_id": uid, "role": role, "action": action, "target_name": item,
	"target_owner": owner, "target_visibility": vis, "target_sharedwith": shared,
}

# permissions.md §5.2: the reference's pinned access cases.
pinned := [
	[req(2, "anonymous", "view", "collection", 1, "public", ""), true],
	[req(2, "anonymous", "create", "collection", 1, "public", ""), false],
	[req(2, "anonymous", "list", "collection", 2, "private", ""), false],
	[req(2, "anonymous", "create", "dataset", 2, "private", ""), true],
	[req(2, "anonymous", "edit", "dataset", 2, "private", ""), false],
	[req(2, "anonymous", "view", "collection", 1, "shared", "2,5,6"), false],
	[req(2, "authenticated", "view", "dataset", 1, "shared", "2,5,6"), true],
	[req(2, "authenticated", "edit", "dataset", 1, "shared", "2,5,6"), true],
	[req(2, "authenticated", "view", "dataset", 1, "shared", "5,6"), false],
	[req(2, "authenticated", "view", "dataset", 1, "unlisted", ""), true],
	[req(2, "authenticated", "list", "dataset", 1, "unlisted", ""), false],
	[req(2, "authenticated", "view", "object", 2, "public", ""), false],
	[req(2, "staff", "delete", "collection", 1, "public", ""), true],
	[req(2, "staff", "view", "collection", 1, "private", ""), false],
	[req(2, "staff", "list", "collection", 1, "private", ""), true],
	[req(2, "staff", "view", "collection", 1, "shared", "5,6"), true],
	[req(2, "superuser", "change_owner", "collection", 1, "private", ""), true],
	[req(2, "superuser", "view", "user", 2, "private", ""), false],
	[req(2, "superuser", "view", "user", 1, "private", ""), true],
	[req(2, "superuser", "view", "user", 1, "public", ""), false],
	[req(2, "locked", "view", "collection", 1, "public", ""), false],
	# permissions.md §7 edge cases.
	[req(1, "superuser", "view", "dataset", 4, "secret", ""), false],
	[req(5, "authenticated", "view", "dataset", 4, "shared", "5,x"), false],
	[req(4, "authenticated", "view", "dataset", 4, "shared", "5,x"), false],
	[req(5, "authenticated", "view", "dataset", 4, "shared", " 5 , 6 "), true],
	[req(5, "authenticated", "view", "dataset", 4, "shared", "+5,1_0"), true],
	[req(10, "authenticated", "view", "dataset", 4, "shared", "+5,1_0"), true],
	[req(5, "authenticated", "view", "dataset", 4, "shared", "NONE"), false],
	[req(4, "authenticated", "view", "dataset", 4, "shared", "None"), true],
	[req(4, "authenticated", "view", "dataset", 4, "shared", null), true],
	[req(4, "authenticated", "view", "object", 4, "public", ""), false],
	[req(4, "authenticated", "view", "widget", 1, "public", ""), false],
	[req(4, "authenticated", "fly", "dataset", 1, "public", ""), false],
	[req(4, "authenticated", "view", "dataset", 4, "private", ""), true],
	[req(5, "authenticated", "view", "dataset", 4, "private", ""), false],
]

test_pinned_cases if {
	failures := [c |
		some c in pinned
		d := access.decision with input as c[0] with data.authnzrv.model as default_model
		d.allowed != c[1]
	]
	count(failures) == 0
}

reason(r) := x if {
	x := access.decision.reason with input as r with data.authnzrv.model as default_model
}

test_reasons if {
	reason(req(1, "wizard", "view", "dataset", 1, "public", "")) == "unknown role"
	reason(req(1, "staff", "view", "widget", 1, "public", "")) == "unknown item"
	reason(req(4, "locked", "view", "dataset", 1, "public", "")) == "role invalid for item"
	reason(req(1, "superuser", "view", "dataset", 4, "secret", "")) == "visibility not valid for item"
	reason(req(4, "authenticated", "view", "object", 4, "public", "")) == "role cannot own item"
	reason(req(4, "authenticated", "delete", "dataset", 1, "public", "")) == "action not granted"
	reason(req(5, "authenticated", "view", "dataset", 4, "shared", "6")) == "visibility gate closed"
	reason(req(4, "authenticated", "edit", "dataset", 4, "private", "")) == "granted"
}
