package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// AdminInput is an administrative question for the admin policy
// (policies/authnzrv/admin): may this actor do op to this target?
type AdminInput struct {
	// Op is the operation, e.g. "user-edit", "user-lock", "lockout".
	Op string
	// Actor is who asks (user-edit, user-lock).
	Actor AdminUser
	// Target is the user acted on.
	Target AdminUser
	// Keys are the update_dict keys of an edit.
	Keys []string
	// NewRole is the role an edit or a role change sets.
	NewRole string
	// Action is "lock" or "unlock".
	Action string
	// Superusers is how many superusers exist (deletions).
	Superusers int
}

// AdminUser is a user as the admin policy sees it.
type AdminUser struct {
	UserID int64
	Role   string
	// Session is true when the presented session is a live session of
	// this active user with this role (actors).
	Session  bool
	Active   bool
	Verified bool
}

func (u AdminUser) term() *ast.Term {
	return ast.ObjectTerm(
		[2]*ast.Term{ast.InternedTerm("user_id"), ast.InternedTerm(u.UserID)},
		[2]*ast.Term{ast.InternedTerm("role"), ast.StringTerm(u.Role)},
		[2]*ast.Term{ast.InternedTerm("session"), ast.InternedTerm(u.Session)},
		[2]*ast.Term{ast.InternedTerm("active"), ast.InternedTerm(u.Active)},
		[2]*ast.Term{ast.InternedTerm("verified"), ast.InternedTerm(u.Verified)},
	)
}

// Admin decides an administrative question. The decision's Rule is the
// policy's deny code ("" when allowed), the reason its words.
func (e *Engine) Admin(ctx context.Context, in AdminInput) (d Decision, err error) {
	start := time.Now()
	defer func() {
		e.observe(ctx, observation{kind: "admin", start: start, allowed: d.Allowed, rule: d.Rule, reason: d.Reason,
			err: err, subject: in.Actor.UserID, input: func() string { return fmt.Sprint(in) }})
	}()
	keys := make([]*ast.Term, len(in.Keys))
	for i, k := range in.Keys {
		keys[i] = ast.StringTerm(k)
	}
	obj := ast.NewObject(
		[2]*ast.Term{ast.InternedTerm("op"), ast.StringTerm(in.Op)},
		[2]*ast.Term{ast.InternedTerm("actor"), in.Actor.term()},
		[2]*ast.Term{ast.InternedTerm("target"), in.Target.term()},
		[2]*ast.Term{ast.InternedTerm("keys"), ast.ArrayTerm(keys...)},
		[2]*ast.Term{ast.InternedTerm("new_role"), ast.StringTerm(in.NewRole)},
		[2]*ast.Term{ast.InternedTerm("action"), ast.StringTerm(in.Action)},
		[2]*ast.Term{ast.InternedTerm("superusers"), ast.InternedTerm(in.Superusers)},
	)
	v, err := eval(ctx, e.cur.Load().admin, obj)
	if err != nil {
		return Decision{}, err
	}
	allowed, ok := v["allowed"].(bool)
	deny, _ := v["deny"].(string)
	reason, _ := v["reason"].(string)
	if !ok || (!allowed && deny == "") {
		return Decision{}, errors.New("engine: the admin decision has no allowed flag or deny code")
	}
	return Decision{Allowed: allowed, Rule: deny, Reason: reason}, nil
}

// Occasions of a role assignment (RoleInput.Op).
const (
	// OpVerifyEmail: a sign-up's e-mail was verified.
	OpVerifyEmail = "verify-email"
	// OpSocialSignup: a social login found no user and would create one;
	// a refusal means no user is created.
	OpSocialSignup = "social-signup"
)

// RoleInput asks the role-assignment policy (policies/authnzrv/roles)
// which role the server should give a user.
type RoleInput struct {
	// Op is the occasion: "verify-email" (a sign-up's e-mail was
	// verified) or "social-signup" (a social login would create a user).
	Op string `json:"op"`
	// CurrentRole is the user's role now.
	CurrentRole string `json:"current_role"`
	// PreviousRoles is extra_info.previous_user_roles.
	PreviousRoles []any `json:"previous_roles"`
	// Provider is the social login provider's configured name
	// ("social-signup").
	Provider string `json:"provider"`
	// EmailVerified is whether the provider vouches for the e-mail it gave
	// ("social-signup"; false when it gave none).
	EmailVerified bool `json:"email_verified"`
}

// AssignRole decides a role assignment: the role to store, or a refusal
// whose Reason says why.
func (e *Engine) AssignRole(ctx context.Context, in RoleInput) (role string, d Decision, err error) {
	start := time.Now()
	defer func() {
		e.observe(ctx, observation{kind: "roles", start: start, allowed: d.Allowed, rule: role, reason: d.Reason,
			err: err, input: func() string { return fmt.Sprint(in) }})
	}()
	if in.PreviousRoles == nil {
		in.PreviousRoles = []any{}
	}
	input, err := ast.InterfaceToValue(in)
	if err != nil {
		return "", Decision{}, fmt.Errorf("engine: role input: %w", err)
	}
	v, err := eval(ctx, e.cur.Load().roles, input)
	if err != nil {
		return "", Decision{}, err
	}
	allowed, ok := v["allowed"].(bool)
	role, _ = v["role"].(string)
	reason, _ := v["reason"].(string)
	if !ok || (allowed && role == "") {
		return "", Decision{}, errors.New("engine: the role assignment names no role")
	}
	return role, Decision{Allowed: allowed, Rule: role, Reason: reason}, nil
}
