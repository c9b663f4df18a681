package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/identity"
)

// checkAccessArgs are user-check-access's arguments.
type checkAccessArgs struct {
	UserID           int64  `arg:"user_id" type:"int"`
	UserRole         string `arg:"user_role" type:"str" max:"100"`
	Action           string `arg:"action" type:"str" max:"256"`
	TargetName       string `arg:"target_name" type:"str" max:"256"`
	TargetOwner      int64  `arg:"target_owner" type:"int"`
	TargetVisibility string `arg:"target_visibility" type:"str" max:"256"`
	TargetSharedWith string `arg:"target_sharedwith" type:"str" max:"16384"`
}

// userCheckAccess is user-check-access (actions.md §8.1): the policy decides,
// then the requester, owner and shared-with users must exist and be active.
func (s *Server) userCheckAccess(ctx context.Context, rc *reqCtx, a *checkAccessArgs) (Result, error) {
	in := a.engineInput()
	d, shared, err := s.decideAccess(ctx, in)
	if err != nil && !errors.Is(err, engine.ErrUnknownRole) && !errors.Is(err, engine.ErrMalformedList) {
		return nil, err
	}
	if err != nil {
		rc.log.Info("access check refused", "error", err)
		return nil, fail("exception when checking the DB", "Could not validate access to the requested item.")
	}
	notValid := func(reason string) error {
		return fail(reason, "Access request check successful. Access granted: False.")
	}
	ok, err := s.activeUserWithRole(ctx, a.UserID, in.Role)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notValid("user initiating request is not valid")
	}
	ids := append([]int64{a.UserID, a.TargetOwner}, shared...)
	all, err := s.deps.Store.AllActive(ctx, ids)
	if err != nil {
		return nil, err
	}
	if !all {
		return nil, notValid("users specified as owner or shared-with not found")
	}
	msg := fmt.Sprintf("Access request check successful. Access granted: %s.", pyBool(d.Allowed))
	if !d.Allowed {
		return nil, fail("action not permitted", msg)
	}
	return Result{"success": true, "messages": []string{msg}}, nil
}

// engineInput is the policy engine's input for these arguments.
func (a *checkAccessArgs) engineInput() engine.AccessInput {
	return engine.AccessInput{
		UserID: a.UserID, Role: a.UserRole, Action: a.Action, TargetName: a.TargetName,
		TargetOwner: a.TargetOwner, TargetVisibility: a.TargetVisibility, TargetSharedWith: a.TargetSharedWith,
	}
}

// decideAccess asks the policy and parses the shared-with list (a malformed
// list is an error for any visibility, as in the reference).
func (s *Server) decideAccess(ctx context.Context, in engine.AccessInput) (engine.Decision, []int64, error) {
	if s.deps.Engine == nil {
		return engine.Decision{}, nil, errors.New("no policy engine")
	}
	d, err := s.deps.Engine.Access(ctx, in)
	if err != nil {
		return d, nil, err
	}
	ids, _, err := engine.ParseSharedWith(in.TargetSharedWith)
	if err != nil {
		return d, nil, fmt.Errorf("%w: %w", engine.ErrMalformedList, err)
	}
	return d, ids, nil
}

// activeUserWithRole reports whether the user exists, is active and has
// exactly this role.
func (s *Server) activeUserWithRole(ctx context.Context, id int64, role string) (bool, error) {
	u, err := s.deps.Store.UserByID(ctx, id)
	if errors.Is(err, identity.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return u.IsActive && u.UserRole == role, nil
}

// checkLimitArgs are user-check-limit's arguments.
type checkLimitArgs struct {
	UserID       int64  `arg:"user_id" type:"int"`
	UserRole     string `arg:"user_role" type:"str" max:"100"`
	LimitName    string `arg:"limit_name" type:"str" max:"256"`
	ValueToCheck Raw    `arg:"value_to_check" type:"Any" max:"256"`
}

// engineInput is the policy engine's input for these arguments.
func (a *checkLimitArgs) engineInput() (engine.LimitInput, error) {
	raw, err := json.Marshal(a.ValueToCheck.V)
	if err != nil {
		return engine.LimitInput{}, fmt.Errorf("value_to_check: %w", err)
	}
	return engine.LimitInput{Role: a.UserRole, LimitName: a.LimitName, Value: raw}, nil
}

// userCheckLimit is user-check-limit (actions.md §8.2).
func (s *Server) userCheckLimit(ctx context.Context, rc *reqCtx, a *checkLimitArgs) (Result, error) {
	in, err := a.engineInput()
	if err != nil {
		return nil, err
	}
	if s.deps.Engine == nil {
		return nil, errors.New("no policy engine")
	}
	d, err := s.deps.Engine.Limit(ctx, in)
	if errors.Is(err, engine.ErrUnknownRole) || errors.Is(err, engine.ErrBadValue) {
		rc.log.Info("limit check refused", "error", err)
		return nil, fail("exception when checking the DB", "Could not validate limit rule for the requested item.")
	}
	if err != nil {
		return nil, err
	}
	ok, err := s.activeUserWithRole(ctx, a.UserID, in.Role)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fail("user attempting access not found", "Limit check successful. Limit check passed: False.")
	}
	msg := fmt.Sprintf("Limit check successful. Limit check passed: %s.", pyBool(d.Allowed))
	if !d.Allowed {
		return nil, fail("user is over limit", msg)
	}
	return Result{"success": true, "messages": []string{msg}}, nil
}
