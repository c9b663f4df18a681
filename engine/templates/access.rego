
# ---- Decision procedure (permissions.md §3), the same for every model. ----

owned if input.user_id == input.target_owner

# A shared item's list names the requester, or user 2 (shared with
# anonymous means shared with everyone).
shared_with_requester if {
	not shared.malformed
	input.user_id in shared.ids
}

shared_with_requester if {
	not shared.malformed
	2 in shared.ids
}

# shared is the shared-with list: {"malformed": bool, "ids": [...]}. The
# engine passes it pre-parsed (engine.ParseSharedWith, the same rules) as
# input.shared; for other callers it is parsed here.
shared := input.shared if {
	input.shared
} else := {"malformed": false, "ids": []} if {
	not is_string(input.target_sharedwith)
} else := {"malformed": false, "ids": []} if {
	lower(trim_space(input.target_sharedwith)) in {"", "none"}
} else := {"malformed": true, "ids": []} if {
	some piece in split(input.target_sharedwith, ",")
	not regex.match(`^\s*[+-]?[0-9]+(_[0-9]+)*\s*$`, piece)
} else := {"malformed": false, "ids": [to_number(trim_prefix(replace(trim_space(piece), "_", ""), "+")) |
	some piece in split(input.target_sharedwith, ",")
]}

# The decision names the rule that decided: "granted", or for a denial an
# unknown role, the visibility gate, or no grant for this role, item,
# visibility, action and ownership. (The generic policy in
# policies/access.rego explains a missing grant in more detail.)
default allowed := false

default grant := false

decision := {"allowed": true, "reason": "granted"} if {
	allowed
} else := {"allowed": false, "reason": deny_reason}

# verdict is the decision in one word, what the engine asks for: "granted"
# or the reason of the denial. The engine adds the request's details.
verdict := "granted" if {
	allowed
} else := deny_reason

deny_reason := "unknown role" if {
	not roles[input.role]
} else := "visibility gate closed" if {
	grant
} else := "not granted"
