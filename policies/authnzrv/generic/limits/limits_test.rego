package authnzrv.generic.limits_test

import data.authnzrv.generic.limits
import data.authnzrv.testdata.default_model

check(role, name, value) := d if {
	d := limits.decision with input as {"role": role, "limit_name": name, "value": value}
		with data.authnzrv.model as default_model
}

# permissions.md §6: the reference's pinned limit cases and Python int() casts.
test_default_model_limits if {
	check("superuser", "max_requests", 100).allowed
	not check("superuser", "max_requests", 100000000).allowed
	not check("superuser", "max_requests_per_minute", 10000000).allowed
	check("anonymous", "nonexistent_limit_name", 5).allowed
	not check("locked", "max_requests", 0).allowed
	not check("authenticated", "max_requests", 500000).allowed
	check("authenticated", "max_requests", 499999.9).allowed
	check("authenticated", "max_requests", "42").allowed
	check("authenticated", "max_requests", " +4_2 ").allowed
	check("authenticated", "max_requests", true).allowed
	check("authenticated", "max_requests", -3.7).allowed
	not check("authenticated", "max_requests", "4.5").allowed
	not check("authenticated", "max_requests", {"a": 1}).allowed
	not check("authenticated", "max_requests", [1]).allowed
}

test_errors if {
	check("wizard", "max_requests", 1).error == "unknown_role"
	d := limits.decision with input as {"role": "staff", "limit_name": "quota", "value": 1}
		with data.authnzrv.model as object.union(default_model, {"role_policy": {"staff": {"limits": {"quota": {"type": "huge", "limit": 3}}}}})
	d.error == "undefined_limit_type"
}

float_model := object.union(default_model, {
	"limits": {"fmax": {"type": "float", "operator": "lt"}, "fmin": {"type": "float", "operator": "gt"}, "odd": {"type": "int", "operator": "eq"}, "raw": {"type": "str", "operator": "gt"}},
	"role_policy": {"staff": {"limits": {
		"ratio": {"type": "fmax", "limit": 0.5},
		"floor": {"type": "fmin", "limit": 1.5},
		"weird": {"type": "odd", "limit": 1},
		"level": {"type": "raw", "limit": 3},
		"empty": {},
	}}},
})

fcheck(name, value) if {
	limits.decision.allowed with input as {"role": "staff", "limit_name": name, "value": value}
		with data.authnzrv.model as float_model
}

test_float_and_other_types if {
	fcheck("ratio", 0.25)
	fcheck("ratio", "2.5e-1")
	fcheck("ratio", false)
	not fcheck("ratio", 0.5)
	not fcheck("ratio", "abc")
	fcheck("floor", 2)
	fcheck("floor", "1.75")
	not fcheck("floor", true)
	not fcheck("weird", 1)
	fcheck("level", 4)
	fcheck("empty", 1000)
}
