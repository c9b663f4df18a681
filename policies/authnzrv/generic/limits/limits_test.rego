package authnzrv.generic.limits_test

import data.authnzrv.generic.limits
import data.authnzrv.testdata

check(role, name, value) := d if {
	d := limits.decision with input as {"role": role, "limit_name": name, "value": value}
		with data.authnzrv.model as testdata.default_model
}

# The pinned cases of testdata/decisions/limits-pinned.json (permissions.md
# §6 and Python int() casts), generated into data.authnzrv.testdata.
test_pinned_cases if {
	failures := [c |
		some c in testdata.limits_pinned
		q := {"role": c.input.user_role, "limit_name": c.input.limit_name, "value": c.input.value_to_check}
		d := limits.decision with input as q with data.authnzrv.model as testdata.default_model
		d.allowed != c.allowed
	]
	count(failures) == 0
}

test_errors if {
	check("wizard", "max_requests", 1).error == "unknown_role"
	d := limits.decision with input as {"role": "staff", "limit_name": "quota", "value": 1}
		with data.authnzrv.model as object.union(
			testdata.default_model,
			{"role_policy": {"staff": {"limits": {"quota": {"type": "huge", "limit": 3}}}}},
		)
	d.error == "undefined_limit_type"
}

float_model := object.union(testdata.default_model, {
	"limits": {
		"fmax": {"type": "float", "operator": "lt"}, "fmin": {"type": "float", "operator": "gt"},
		"odd": {"type": "int", "operator": "eq"}, "raw": {"type": "str", "operator": "gt"},
	},
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
