package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/identity"
)

// userCheckAccess is user-check-access (actions.md §8.1): the policy decides,
// then the requester, owner and shared-with users must exist and be active.
func (s *Server) userCheckAccess(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	uid, _ := a.int("user_id")
	owner, _ := a.int("target_owner")
	in := engine.AccessInput{
		UserID: uid, Role: a.str("user_role"), Action: a.str("action"), TargetName: a.str("target_name"),
		TargetOwner: owner, TargetVisibility: a.str("target_visibility"), TargetSharedWith: a.str("target_sharedwith"),
	}
	d, shared, err := s.decideAccess(ctx, in)
	if err != nil {
		rc.log.Info("access check failed", "error", err, "role", in.Role)
		return failure("exception when checking the DB", "Could not validate access to the requested item."), nil
	}
	rc.log.Info("access decision", "role", in.Role, "action", in.Action, "item", in.TargetName,
		"visibility", in.TargetVisibility, "allowed", d.Allowed, "reason", d.Reason)
	notValid := func(reason string) (Result, error) {
		return failure(reason, "Access request check successful. Access granted: False."), nil
	}
	ok, err := s.activeUserWithRole(ctx, uid, in.Role)
	if err != nil {
		return failure("exception when checking the DB", "Access request check failed."), nil
	}
	if !ok {
		return notValid("user initiating request is not valid")
	}
	ids := append([]int64{uid, owner}, shared...)
	all, err := s.deps.Store.AllActive(ctx, ids)
	if err != nil {
		rc.log.Error("access check lookup", "error", err)
		return failure("exception when checking the DB", "Access request check failed."), nil
	}
	if !all {
		return notValid("users specified as owner or shared-with not found")
	}
	msg := fmt.Sprintf("Access request check successful. Access granted: %s.", pyBool(d.Allowed))
	if !d.Allowed {
		return failure("action not permitted", msg), nil
	}
	return Result{"success": true, "messages": []string{msg}}, nil
}

// decideAccess asks the policy and parses the shared-with list (a malformed
// list is an error for any visibility, as in the reference).
func (s *Server) decideAccess(ctx context.Context, in engine.AccessInput) (engine.Decision, []int64, error) {
	if s.deps.Engine == nil {
		return engine.Decision{}, nil, errors.New("no policy engine")
	}
	start := time.Now()
	ctx, span := s.opts.Tracer.Start(ctx, "policy access")
	d, err := s.deps.Engine.Access(ctx, in)
	span.SetAttributes(attribute.Bool("authnzrv.allowed", d.Allowed), attribute.String("authnzrv.reason", d.Reason))
	span.End()
	s.opts.Metrics.decision("access", d.Allowed, err, time.Since(start))
	if err != nil {
		return d, nil, err
	}
	ids, _, err := engine.ParseSharedWith(in.TargetSharedWith)
	if err != nil {
		return d, nil, err
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

// userCheckLimit is user-check-limit (actions.md §8.2).
func (s *Server) userCheckLimit(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	uid, _ := a.int("user_id")
	raw, err := json.Marshal(a["value_to_check"])
	if err != nil {
		return nil, err
	}
	in := engine.LimitInput{Role: a.str("user_role"), LimitName: a.str("limit_name"), Value: raw}
	if s.deps.Engine == nil {
		return failure("exception when checking the DB", "Could not validate limit rule for the requested item."), nil
	}
	start := time.Now()
	ctx, span := s.opts.Tracer.Start(ctx, "policy limit")
	d, err := s.deps.Engine.Limit(ctx, in)
	span.SetAttributes(attribute.Bool("authnzrv.allowed", d.Allowed), attribute.String("authnzrv.reason", d.Reason))
	span.End()
	s.opts.Metrics.decision("limit", d.Allowed, err, time.Since(start))
	if err != nil {
		rc.log.Info("limit check failed", "error", err, "role", in.Role)
		return failure("exception when checking the DB", "Could not validate limit rule for the requested item."), nil
	}
	rc.log.Info("limit decision", "role", in.Role, "limit", in.LimitName, "passed", d.Allowed, "reason", d.Reason)
	ok, err := s.activeUserWithRole(ctx, uid, in.Role)
	if err != nil {
		return failure("exception when checking the DB", "Limit check failed."), nil
	}
	if !ok {
		return failure("user attempting access not found", "Limit check successful. Limit check passed: False."), nil
	}
	msg := fmt.Sprintf("Limit check successful. Limit check passed: %s.", pyBool(d.Allowed))
	if !d.Allowed {
		return failure("user is over limit", msg), nil
	}
	return Result{"success": true, "messages": []string{msg}}, nil
}
