# METADATA
# title: Access decision procedure
# description: |
#   The part of package authnzrv.access that is the same for every model
#   (permissions.md §3). `authnzrv policy import` appends it, without this
#   header, to the rules it generates from a model (grant, allowed,
#   known_role); on its own it is a complete package that opa check reads.
package authnzrv.access

# The rules generated from the model (grant, allowed, known_role),
# declared here without a value so that the procedure reads as a complete
# package; the generated definitions give them their values.
grant if false

known_role if false

# ---- Decision procedure (permissions.md §3), the same for every model. ----

# The shared-with list. The engine passes it pre-parsed (engine.ParseSharedWith,
# the same rules as below) as input.shared: {"malformed": bool, "ids": set of
# user ids}. For other callers (opa eval, opa test) target_sharedwith is
# parsed here, as parsed_shared.

# A shared item's list names the requester, or user 2 (shared with
# anonymous means shared with everyone).
shared_with_requester if {
	input.shared.malformed == false
	input.shared.ids[input.user_id]
}

shared_with_requester if {
	input.shared.malformed == false
	input.shared.ids[2]
}

shared_with_requester if {
	not input.shared
	parsed_shared.malformed == false
	parsed_shared.ids[input.user_id]
}

shared_with_requester if {
	not input.shared
	parsed_shared.malformed == false
	parsed_shared.ids[2]
}

# The owner of a shared item sees it unless its list is malformed.
shared_list_ok if input.shared.malformed == false

shared_list_ok if {
	not input.shared
	parsed_shared.malformed == false
}

parsed_shared := {"malformed": false, "ids": set()} if {
	not is_string(input.target_sharedwith)
} else := {"malformed": false, "ids": set()} if {
	lower(trim_space(input.target_sharedwith)) in {"", "none"}
} else := {"malformed": true, "ids": set()} if {
	some piece in split(input.target_sharedwith, ",")
	not regex.match(`^\s*[+-]?[0-9]+(_[0-9]+)*\s*$`, piece)
} else := {"malformed": false, "ids": {to_number(trim_prefix(replace(trim_space(piece), "_", ""), "+")) |
	some piece in split(input.target_sharedwith, ",")
}}

# The decision names the rule that decided: "granted", or for a denial the
# visibility gate (the model grants the action but the requester may not
# see the item), an unknown role, or no grant for this role, item,
# visibility, action and ownership. (The generic policy in
# policies/access.rego explains a missing grant in more detail.)
default allowed := false

default grant := false

default known_role := false

# verdict is the decision in one word, what the engine asks for: "granted"
# or the reason of the denial (as deny_reason below, written out again:
# one rule fewer to evaluate). The engine adds the request's details.
# allowed implies grant, and grant a known role, so each test is reached
# only when the ones above it failed; every test is positive (cheaper for
# OPA than a negation).
# METADATA
# title: verdict
# description: '"granted", or the reason of the denial: what the server asks'
# entrypoint: true
verdict := "granted" if {
	allowed
} else := "visibility gate closed" if {
	grant
} else := "not granted" if {
	known_role
} else := "unknown role"

decision := {"allowed": verdict == "granted", "reason": verdict}

# deny_reason explains why a request would be denied, whatever allowed
# says: the model grants the action but the visibility gate is closed, or
# the role is known but has no grant for this item, visibility, action and
# ownership, or the role is unknown.
deny_reason := "visibility gate closed" if {
	grant
} else := "not granted" if {
	known_role
} else := "unknown role"
