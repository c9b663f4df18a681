# METADATA
# title: Role assignment
# description: |
#   Which role a user gets when the server assigns one. The server asks
#   `assignment` and stores the role it names, or refuses with the reason.
#
#   Input:
#     op              "verify-email": a sign-up's e-mail was verified;
#                     "social-signup": a social login found no user and
#                     would create one
#     current_role    the user's role now (verify-email)
#     previous_roles  extra_info.previous_user_roles (oldest first)
#     provider        the provider's name in the providers file
#                     (social-signup)
#     email_verified  whether the provider vouches for the e-mail it gave;
#                     false when it gave none, as X does (social-signup)
#   Data: data.authnzrv.model.roles.
package authnzrv.roles

# A verified sign-up becomes "authenticated"; a user who had a role before
# being locked gets it back (the last of previous_user_roles that is not
# "locked"); a user who is not locked keeps their role.
verified_role := input.current_role if {
	input.current_role != "locked"
} else := last if {
	count(input.previous_roles) > 0
	last := input.previous_roles[count(input.previous_roles) - 1]
	is_string(last)
	last != "locked"
} else := "authenticated"

# A social login may create a user only with an e-mail the provider
# verified (any provider); the user is "authenticated". A provider that
# gives no e-mail (X) creates no users: its accounts log in after being
# linked from a logged-in session. The server never creates a user
# without a verified e-mail, whatever this says.
social_signup := {"allowed": true, "role": "authenticated", "reason": ""} if {
	input.email_verified == true
} else := {"allowed": false, "role": "", "reason": "the provider did not verify an e-mail address"}

# METADATA
# title: assignment
# description: '{"allowed": bool, "role": role to store, "reason": why not}'
# entrypoint: true
assignment := {"allowed": true, "role": verified_role, "reason": ""} if {
	input.op == "verify-email"
} else := social_signup if {
	input.op == "social-signup"
} else := {"allowed": false, "role": "", "reason": "unknown operation"}
