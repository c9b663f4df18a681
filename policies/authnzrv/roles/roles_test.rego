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

social(provider, verified) := a if {
	a := roles.assignment with input as {"op": "social-signup", "provider": provider, "email_verified": verified}
}

test_social_signup if {
	social("google", true) == {"allowed": true, "role": "authenticated", "reason": ""}
	social("github", true).role == "authenticated"
	not social("google", false).allowed
	social("google", false).reason == "the provider did not verify an e-mail address"

	# X gives no e-mail: never verified, never a new user.
	not social("x", false).allowed

	# Only a JSON true counts.
	not social("google", "true").allowed
	a := roles.assignment with input as {"op": "social-signup", "provider": "google"}
	not a.allowed
}
