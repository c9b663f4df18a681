package engine

import (
	"reflect"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// TestAssignableRolesReading: the static reading of the role-assignment
// policy follows the entry point's "role" through the package's rules,
// else branches and body variables, attributes each literal to the
// input.op its definition tests, and leaves out roles taken from the input
// and other packages' literals.
func TestAssignableRolesReading(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		modules map[string]string
		want    []AssignedRole
	}{
		{"literal in the entry point", map[string]string{"a.rego": `package authnzrv.roles
assignment := {"allowed": true, "role": "member", "reason": ""} if input.op == "verify-email"`},
			[]AssignedRole{{Role: "member", Ops: []string{"verify-email"}}}},
		{"through a rule and its else branches", map[string]string{"a.rego": `package authnzrv.roles
r := input.current_role if { input.current_role != "locked" } else := "trial" if { input.x } else := "member"
assignment := {"allowed": true, "role": r} if { "verify-email" == input.op }`},
			[]AssignedRole{{Role: "member", Ops: []string{"verify-email"}}, {Role: "trial", Ops: []string{"verify-email"}}}},
		{"through a body variable and a data reference", map[string]string{"a.rego": `package authnzrv.roles
pick := "gold"
assignment := {"allowed": true, "role": x} if {
	input.op == "upgrade"
	x := data.authnzrv.roles.pick
}`},
			[]AssignedRole{{Role: "gold", Ops: []string{"upgrade"}}}},
		{"roles from the input and the model are not literals", map[string]string{"a.rego": `package authnzrv.roles
assignment := {"allowed": true, "role": input.previous_roles[0]} if {
	input.op == "a"
} else := {"allowed": true, "role": data.authnzrv.model.roles[0]} if {
	input.op == "b"
} else := {"allowed": false, "role": "", "reason": "no"}`}, []AssignedRole{}},
		{"rules spread over two files, other packages ignored", map[string]string{
			"a.rego": `package authnzrv.roles
assignment := {"allowed": true, "role": extra_role} if input.op == "b"`,
			"b.rego": `package authnzrv.roles
extra_role := "partner"`,
			"c.rego": `package authnzrv.other
assignment := {"allowed": true, "role": "elsewhere"}`},
			[]AssignedRole{{Role: "partner", Ops: []string{"b"}}}},
		{"a recursive chain ends", map[string]string{"a.rego": `package authnzrv.roles
a := b if input.x else := "one"
b := a if input.y else := "two"
assignment := {"allowed": true, "role": a}`},
			[]AssignedRole{{Role: "one"}, {Role: "two"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mods := map[string]*ast.Module{}
			for name, src := range tc.modules {
				m, err := ast.ParseModuleWithOpts(name, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
				if err != nil {
					t.Fatal(err)
				}
				mods[name] = m
			}
			got := assignableRoles(mods)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
