
# ---- Decision procedure (permissions.md §3), the same for every model. ----

owned if input.user_id == input.target_owner

item_ok if {
	input.target_name in items
	not invalid_role
	valid_visibility
}

perms := owned_actions if {
	owned
	can_own
} else := other_actions if {
	not owned
} else := set()

# The visibility and sharing gate; superuser and staff bypass it by name.
default gate := false

gate if input.role in {"superuser", "staff"}

gate if input.target_visibility in {"public", "unlisted"}

gate if {
	input.target_visibility == "private"
	owned
}

gate if {
	input.target_visibility == "shared"
	owned
	not malformed_list
}

gate if {
	input.target_visibility == "shared"
	input.user_id in shared_ids
}

# Shared with user 2 (anonymous) means shared with everyone.
gate if {
	input.target_visibility == "shared"
	2 in shared_ids
}

no_list if not is_string(input.target_sharedwith)

no_list if lower(trim_space(input.target_sharedwith)) in {"", "none"}

malformed_list if {
	not no_list
	some piece in split(input.target_sharedwith, ",")
	not regex.match(`^\s*[+-]?[0-9]+(_[0-9]+)*\s*$`, piece)
}

shared_ids := {to_number(trim_prefix(replace(trim_space(piece), "_", ""), "+")) |
	some piece in split(input.target_sharedwith, ",")
} if {
	not no_list
	not malformed_list
}

allowed if {
	item_ok
	input.action in perms
	gate
}

ownership := "own" if owned

else := "other"

decision := {
	"allowed": true,
	"reason": sprintf("allow: role '%s' may '%s' %s '%s' (%s)", [input.role, input.action, ownership, input.target_name, input.target_visibility]),
} if {
	allowed
} else := {"allowed": false, "reason": deny_reason}

deny_reason := sprintf("deny: unknown role '%s'", [input.role]) if {
	not input.role in roles
} else := sprintf("deny: unknown item '%s'", [input.target_name]) if {
	not input.target_name in items
} else := sprintf("deny: role '%s' is invalid for '%s'", [input.role, input.target_name]) if {
	invalid_role
} else := sprintf("deny: visibility '%s' is not valid for '%s'", [input.target_visibility, input.target_name]) if {
	not valid_visibility
} else := sprintf("deny: role '%s' cannot own '%s'", [input.role, input.target_name]) if {
	owned
	not can_own
} else := sprintf("deny: '%s' is not granted to role '%s' on %s '%s' (%s)", [input.action, input.role, ownership, input.target_name, input.target_visibility]) if {
	not input.action in perms
} else := sprintf("deny: '%s' visibility gate closed for user %v", [input.target_visibility, input.user_id])
