package engine

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// The roles the server assigns and the model must therefore define: the
// system roles of the three system users, and every role the
// role-assignment policy (policies/authnzrv/roles, asked by AssignRole) can
// name. A model without one of them starts, then fails at the first
// assignment (a foreign-key error on the user's role); the server refuses
// such a model at start and at reload instead (Options.Admit, MissingRoles).

// rolesPackage is the role-assignment policy's package path.
const rolesPackage = "data.authnzrv.roles"

// rolesEntrypoint is the rule of rolesPackage that AssignRole asks.
const rolesEntrypoint = "assignment"

// SystemRoles returns the roles of the system users (superuser, anonymous,
// locked), which every model must define.
func SystemRoles() []string { return []string{"superuser", "anonymous", "locked"} }

// AssignedRole is a role the role-assignment policy can name.
type AssignedRole struct {
	// Role is the role's name.
	Role string
	// Ops are the operations (input.op) for which the policy can name it,
	// sorted; empty when its rule does not test input.op.
	Ops []string
}

// String words where the role comes from, e.g. `"authenticated" (assigned
// by policy authnzrv.roles on verify-email)`.
func (a AssignedRole) String() string {
	s := fmt.Sprintf("%q (assigned by policy authnzrv.roles", a.Role)
	if len(a.Ops) > 0 {
		s += " on " + strings.Join(a.Ops, ", ")
	}
	return s + ")"
}

// assignableRoles finds, in the parsed (not yet compiled) modules, the
// role names the role-assignment policy can answer as a literal: it
// follows the "role" of every definition of the entry point (and its else
// branches) through the package's own rules and the variables bound in
// their bodies. A role taken from the input (the user's current or
// previous role) is one the data already holds, and is not listed; neither
// is one computed by a function call, which cannot be known without the
// input.
func assignableRoles(modules map[string]*ast.Module) []AssignedRole {
	f := roleFinder{rules: map[ast.Var][]*ast.Rule{}, found: map[string]map[string]bool{}}
	names := make([]string, 0, len(modules))
	for name := range modules {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m := modules[name]
		if m.Package == nil || m.Package.Path.String() != rolesPackage {
			continue
		}
		for _, r := range m.Rules {
			if v, ok := ruleName(r); ok {
				f.rules[v] = append(f.rules[v], r)
			}
		}
	}
	for _, def := range f.rules[ast.Var(rolesEntrypoint)] {
		for r := def; r != nil; r = r.Else {
			if r.Head.Value == nil {
				continue
			}
			role := r.Head.Value
			if obj, ok := role.Value.(ast.Object); ok {
				if role = obj.Get(ast.StringTerm("role")); role == nil {
					continue
				}
			}
			f.seen = map[ast.Var]bool{ast.Var(rolesEntrypoint): true}
			f.term(role, r.Body, opsOf(r.Body))
		}
	}
	out := make([]AssignedRole, 0, len(f.found))
	for role, ops := range f.found {
		a := AssignedRole{Role: role}
		for op := range ops {
			a.Ops = append(a.Ops, op)
		}
		sort.Strings(a.Ops)
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Role < out[j].Role })
	return out
}

// roleFinder follows role-valued terms through the roles package.
type roleFinder struct {
	rules map[ast.Var][]*ast.Rule
	seen  map[ast.Var]bool
	found map[string]map[string]bool
}

// ruleName is the first name of a rule's head (its name within the
// package).
func ruleName(r *ast.Rule) (ast.Var, bool) {
	ref := r.Head.Ref()
	if len(ref) == 0 {
		return "", false
	}
	v, ok := ref[0].Value.(ast.Var)
	return v, ok
}

// term records the literal roles t can stand for, in a rule whose body is
// body, reached under the operations ops.
func (f *roleFinder) term(t *ast.Term, body ast.Body, ops []string) {
	switch v := t.Value.(type) {
	case ast.String:
		if v == "" {
			return
		}
		if f.found[string(v)] == nil {
			f.found[string(v)] = map[string]bool{}
		}
		for _, op := range ops {
			f.found[string(v)][op] = true
		}
	case ast.Var:
		if _, ok := f.rules[v]; ok {
			f.rule(v, ops)
			return
		}
		for _, e := range body {
			if !e.IsAssignment() && !e.IsEquality() {
				continue
			}
			a, b := e.Operand(0), e.Operand(1)
			if a == nil || b == nil {
				continue
			}
			if a.Value.Compare(v) == 0 {
				f.term(b, body, ops)
			} else if b.Value.Compare(v) == 0 {
				f.term(a, body, ops)
			}
		}
	case ast.Ref:
		// data.authnzrv.roles.<rule> or a rule of the package by its name;
		// anything else (input, other data) is not a literal of the policy.
		prefix := ast.MustParseRef(rolesPackage)
		if v.HasPrefix(prefix) && len(v) > len(prefix) {
			if s, ok := v[len(prefix)].Value.(ast.String); ok {
				f.rule(ast.Var(s), ops)
			}
			return
		}
		if head, ok := v[0].Value.(ast.Var); ok {
			if _, isRule := f.rules[head]; isRule {
				f.rule(head, ops)
			}
		}
	}
}

// rule follows every definition of the package's rule name (and their else
// branches) once.
func (f *roleFinder) rule(name ast.Var, ops []string) {
	if f.seen[name] {
		return
	}
	f.seen[name] = true
	for _, def := range f.rules[name] {
		for r := def; r != nil; r = r.Else {
			if r.Head.Value != nil {
				f.term(r.Head.Value, r.Body, ops)
			}
		}
	}
}

// opsOf returns the operations a body requires: the strings input.op is
// compared with.
func opsOf(body ast.Body) []string {
	op := ast.MustParseRef("input.op")
	var out []string
	for _, e := range body {
		if !e.IsEquality() && !(e.IsCall() && e.Operator().Equal(ast.Equal.Ref())) {
			continue
		}
		a, b := e.Operand(0), e.Operand(1)
		if a == nil || b == nil {
			continue
		}
		for _, pair := range [][2]*ast.Term{{a, b}, {b, a}} {
			if r, ok := pair[0].Value.(ast.Ref); ok && r.Equal(op) {
				if s, ok := pair[1].Value.(ast.String); ok && !slices.Contains(out, string(s)) {
					out = append(out, string(s))
				}
			}
		}
	}
	return out
}

// MissingRoles returns, one line each, the roles the server assigns that
// the admitted model does not define: system roles first, then the
// role-assignment policy's.
func (a Admission) MissingRoles() []string {
	var out []string
	for _, r := range SystemRoles() {
		if !slices.Contains(a.Model.Roles, r) {
			out = append(out, fmt.Sprintf("%q (a system role)", r))
		}
	}
	for _, r := range a.Assigned {
		if !slices.Contains(a.Model.Roles, r.Role) && !slices.Contains(SystemRoles(), r.Role) {
			out = append(out, r.String())
		}
	}
	return out
}
