package authnzrv.generic.access_test

import data.authnzrv.generic.access
import data.authnzrv.testdata

req(uid, role, action, item, owner, vis, shared) := {
	"user_id": uid, "role": role, "action": action, "target_name": item,
	"target_owner": owner, "target_visibility": vis, "target_sharedwith": shared,
}

# The pinned cases of testdata/decisions/access-pinned.json (permissions.md
# §5.2 and shared-with edge cases), generated into data.authnzrv.testdata.
test_pinned_cases if {
	failures := [c |
		some c in testdata.access_pinned
		q := object.union(c.input, {"role": c.input.user_role})
		d := access.decision with input as q with data.authnzrv.model as testdata.default_model
		d.allowed != c.allowed
	]
	count(failures) == 0
}

reason(r) := x if {
	x := access.decision.reason with input as r with data.authnzrv.model as testdata.default_model
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
