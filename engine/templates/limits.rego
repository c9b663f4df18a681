
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

cast(v) := to_int(v) if rule.kind == "int"

cast(v) := to_float(v) if rule.kind == "float"

# value is value_to_check cast to the limit's kind. The engine passes the
# casts pre-computed (input.cast, the same Python rules); for other callers
# they are computed here.
value := input.cast[rule.kind] if {
	input.cast
} else := cast(input.value)

passes if {
	rule.operator == "gt"
	value > rule.cmp
}

passes if {
	rule.operator == "lt"
	value < rule.cmp
}

# outcome is what the engine asks for: the verdict ("unknown_role",
# "no_limit", "passes", "fails") and the limit that decided; the engine
# words the reason as decision does below.
outcome := {"verdict": "unknown_role"} if {
	not input.role in roles
} else := {"verdict": "no_limit"} if {
	not rule
} else := {"verdict": "passes", "rule": rule} if {
	passes
} else := {"verdict": "fails", "rule": rule}

decision := {"allowed": false, "reason": sprintf("deny: unknown role '%s'", [input.role]), "error": "unknown_role"} if {
	not input.role in roles
} else := {"allowed": true, "reason": sprintf("allow: role '%s' has no limit '%s'", [input.role, input.limit_name])} if {
	not rule
} else := {"allowed": true, "reason": sprintf("allow: %v %s %v for role '%s'", [input.value, rule.operator, rule.limit, input.role])} if {
	passes
} else := {"allowed": false, "reason": sprintf("deny: %v is not %s %v for role '%s' limit '%s'", [input.value, rule.operator, rule.limit, input.role, input.limit_name])}
