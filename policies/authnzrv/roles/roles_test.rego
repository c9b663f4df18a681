package authnzrv.roles_test

import data.authnzrv.roles

verify(current, previous) := a if {
	a := roles.assignment with input as {"op": "verify-email", "current_role": current, "previous_roles": previous}
}

test_verify_email if {
	verify("locked", []).role == "authenticated"
	verify("locked", ["locked", "staff"]).role == "staff"
	verify("locked", ["staff", "locked"]).role == "authenticated"
	verify("locked", ["locked", 5]).role == "authenticated"
	verify("staff", ["locked"]).role == "staff"
	verify("superuser", []).allowed
}

test_unknown_op if {
	a := roles.assignment with input as {"op": "promote"}
	not a.allowed
	a.reason == "unknown operation"
}
