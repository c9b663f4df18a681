# METADATA
# title: Limit decision procedure
# description: |
#   The part of package authnzrv.limits that is the same for every model
#   (permissions.md §6). `authnzrv policy import` appends it, without this
#   header, to the rules it generates from a model (rule, has_limit,
#   passes, known_role, roles); on its own it is a complete package that
#   opa check reads.
package authnzrv.limits

# The rules generated from the model (rule, has_limit, passes, known_role,
# roles), declared here without a value so that the procedure reads as a
# complete package; the generated definitions give them their values.
rule := {"type": "", "kind": "int", "operator": "lt", "limit": 0, "cmp": 0} if false

has_limit if false

passes if false

known_role if false

# ---- Limit procedure (permissions.md §6), the same for every model. ----

# Python int(): numbers truncate toward zero, booleans are 0/1, strings of
# digits (whitespace, sign and underscores allowed) parse.
to_int(v) := floor(v) if {
	is_number(v)
	v >= 0
}

to_int(v) := ceil(v) if {
	is_number(v)
	v < 0
}

to_int(v) := 1 if v == true

to_int(v) := 0 if v == false

to_int(v) := to_number(trim_prefix(replace(trim_space(v), "_", ""), "+")) if {
	is_string(v)
	regex.match(`^\s*[+-]?[0-9]+(_[0-9]+)*\s*$`, v)
}

# Python float(): numbers, booleans, decimal strings.
to_float(v) := v if is_number(v)

to_float(v) := 1 if v == true

to_float(v) := 0 if v == false

to_float(v) := to_number(trim_prefix(replace(trim_space(v), "_", ""), "+")) if {
	is_string(v)
	regex.match(`^\s*[+-]?([0-9](_?[0-9])*(\.([0-9](_?[0-9])*)?)?|\.[0-9](_?[0-9])*)([eE][+-]?[0-9](_?[0-9])*)?\s*$`, v)
}

# value_int and value_float are value_to_check cast as Python's int() and
# float() cast it. The engine passes the casts pre-computed (input.cast,
# the same rules); for other callers they are computed here.
value_int := input.cast.int if {
	input.cast
} else := to_int(input.value)

value_float := input.cast.float if {
	input.cast
} else := to_float(input.value)

default known_role := false

default has_limit := false

default passes := false

# outcome is what the engine asks for: "passes", "fails", "no_limit" (a
# known role without this limit passes) or "unknown_role". The engine
# words the reason as decision does below. passes implies has_limit, and
# has_limit a known role, so each test is reached only when the ones above
# it failed; every test is positive (cheaper for OPA than a negation).
# METADATA
# title: outcome
# description: '"passes", "fails", "no_limit" or "unknown_role": what the server asks'
# entrypoint: true
outcome := "passes" if {
	passes
} else := "fails" if {
	has_limit
} else := "no_limit" if {
	known_role
} else := "unknown_role"

decision := {"allowed": false, "reason": sprintf("deny: unknown role '%s'", [input.role]), "error": "unknown_role"} if {
	outcome == "unknown_role"
} else := {"allowed": true, "reason": sprintf(
	"allow: role '%s' has no limit '%s'",
	[input.role, input.limit_name],
)} if {
	outcome == "no_limit"
} else := {"allowed": true, "reason": sprintf(
	"allow: %v %s %v for role '%s' limit '%s'",
	[input.value, rule.operator, rule.limit, input.role, input.limit_name],
)} if {
	outcome == "passes"
} else := {"allowed": false, "reason": sprintf(
	"deny: %v is not %s %v for role '%s' limit '%s'",
	[input.value, rule.operator, rule.limit, input.role, input.limit_name],
)}
