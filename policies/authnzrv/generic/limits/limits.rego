# METADATA
# title: Generic limit policy
# description: |
#   permissions.md §6, read from the JSON permissions model in
#   data.authnzrv.model. The oracle of the compiled package authnzrv.limits.
#
#   Input: role, limit_name, value (the value_to_check of user-check-limit).
package authnzrv.generic.limits

model := data.authnzrv.model

role_rule := model.role_policy[input.role]

rule := role_rule.limits[input.limit_name]

limit_type := model.limits[rule.type]

# Python int(): numbers truncate toward zero, booleans are 0/1, strings of
# digits (whitespace, sign and underscores allowed) parse.
int_pattern := `^\s*[+-]?[0-9]+(_[0-9]+)*\s*$`

to_int(v) := trunc(v) if is_number(v)

to_int(v) := 1 if v == true

to_int(v) := 0 if v == false

to_int(v) := to_number(trim_prefix(replace(trim_space(v), "_", ""), "+")) if {
	is_string(v)
	regex.match(int_pattern, v)
}

trunc(x) := floor(x) if x >= 0

trunc(x) := ceil(x) if x < 0

# Python float(): numbers, booleans, decimal strings (underscores between
# digits allowed). Infinities and NaN are left to the engine's casts.
float_pattern := `^\s*[+-]?([0-9](_?[0-9])*(\.([0-9](_?[0-9])*)?)?|\.[0-9](_?[0-9])*)([eE][+-]?[0-9](_?[0-9])*)?\s*$`

to_float(v) := v if is_number(v)

to_float(v) := 1 if v == true

to_float(v) := 0 if v == false

to_float(v) := to_number(trim_prefix(replace(trim_space(v), "_", ""), "+")) if {
	is_string(v)
	regex.match(float_pattern, v)
}

cast(v) := to_int(v) if limit_type.type == "int"

cast(v) := to_float(v) if limit_type.type == "float"

cast(v) := v if not limit_type.type in {"int", "float"}

passes if {
	limit_type.operator == "gt"
	cast(input.value) > cast(rule.limit)
}

passes if {
	limit_type.operator == "lt"
	cast(input.value) < cast(rule.limit)
}

no_limit_reason := sprintf("allow: role '%s' has no limit '%s'", [input.role, input.limit_name])

# METADATA
# title: decision
# description: '{"allowed": bool, "reason": words, "error": code when the model cannot answer}'
# entrypoint: true
decision := {"allowed": false, "reason": sprintf("deny: unknown role '%s'", [input.role]), "error": "unknown_role"} if {
	not role_rule
} else := {"allowed": true, "reason": no_limit_reason} if {
	not rule
} else := {"allowed": true, "reason": no_limit_reason} if {
	count(rule) == 0
} else := {
	"allowed": false,
	"reason": sprintf("deny: limit type '%v' of '%s' is not defined", [rule.type, input.limit_name]),
	"error": "undefined_limit_type",
} if {
	not limit_type
} else := {"allowed": true, "reason": sprintf(
	"allow: %v %s %v for role '%s'",
	[input.value, limit_type.operator, rule.limit, input.role],
)} if {
	passes
} else := {"allowed": false, "reason": sprintf(
	"deny: %v is not %s %v for role '%s' limit '%s'",
	[input.value, limit_type.operator, rule.limit, input.role, input.limit_name],
)}
