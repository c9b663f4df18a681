# METADATA
# title: Role assignment
# description: |
#   Which role a user gets when the server assigns one. The server asks
#   `assignment` and stores the role it names, or refuses with the reason.
#
#   Input:
#     op              "verify-email": a sign-up's e-mail was verified
#     current_role    the user's role now
#     previous_roles  extra_info.previous_user_roles (oldest first)
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

# METADATA
# title: assignment
# description: '{"allowed": bool, "role": role to store, "reason": why not}'
# entrypoint: true
assignment := {"allowed": true, "role": verified_role, "reason": ""} if {
	input.op == "verify-email"
} else := {"allowed": false, "role": "", "reason": "unknown operation"}
