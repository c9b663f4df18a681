package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/identity"
)

// modelGate admits a policy set for the server (engine.Options.Admit), at
// start and at every reload (SIGHUP, a changed model or policy file): the
// model must define every role the server assigns (the system roles and
// those the role-assignment policy can name), and, once the database is
// known, every role its users hold. A refused set never serves: the start
// stops, a reload keeps the old set.
type modelGate struct {
	// store is the database whose users' roles are checked; nil until the
	// start has found the database to hold users.
	store atomic.Pointer[identity.Store]
	// live is set once the start has written what it writes: from then on
	// an admitted set's new roles are added to the roles table (before,
	// the start's bootstrap adds them).
	live atomic.Bool
}

// admit is the engine's Admit.
func (g *modelGate) admit(ctx context.Context, a engine.Admission) error {
	if missing := a.MissingRoles(); len(missing) > 0 {
		return fmt.Errorf("permissions model %s: no role %s: add it to \"roles\" (the server assigns it; without it the assignment fails)",
			a.ModelName, strings.Join(missing, ", no role "))
	}
	st := g.store.Load()
	if st == nil {
		return nil
	}
	held, err := st.CountUsersByRole(ctx)
	if err != nil {
		return fmt.Errorf("permissions model %s: %w", a.ModelName, err)
	}
	var dropped []string
	for role, n := range held {
		if !slices.Contains(a.Model.Roles, role) {
			dropped = append(dropped, fmt.Sprintf("%q (%s)", role, users(n)))
		}
	}
	if len(dropped) == 0 {
		if !g.live.Load() {
			return nil
		}
		// The users' roles reference the roles table: a role the model
		// gained must be there before anyone is given it.
		if _, err := st.EnsureRoles(ctx, a.Model.Roles); err != nil {
			return fmt.Errorf("permissions model %s: %w", a.ModelName, err)
		}
		return nil
	}
	sort.Strings(dropped)
	return fmt.Errorf("permissions model %s: users still hold roles it does not define: %s; "+
		"keep the roles, or give those users another role first (authnzrv user set-role)", a.ModelName, strings.Join(dropped, ", "))
}

// users words a count of users.
func users(n int) string {
	if n == 1 {
		return "1 user"
	}
	return fmt.Sprintf("%d users", n)
}
