package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/authnzrv/authnzrv/identity"
)

// sessionNewArgs are session-new's arguments.
type sessionNewArgs struct {
	IPAddress     string `arg:"ip_address" type:"str" max:"128"`
	UserAgent     string `arg:"user_agent" type:"str" max:"2048"`
	UserID        Raw    `arg:"user_id" type:"int,None"`
	Expires       string `arg:"expires" type:"str" max:"64"`
	ExtraInfoJSON Raw    `arg:"extra_info_json" type:"dict,None" json:"stored"`
}

// sessionNew is session-new (actions.md §1.1).
func (s *Server) sessionNew(ctx context.Context, rc *reqCtx, a *sessionNewArgs) (Result, error) {
	bad := func(err error) error {
		rc.log.Info("session-new refused", "error", err)
		return fail("DB error when making new session", "Could not create a new session.")
	}
	ip, err := canonicalIP(a.IPAddress)
	if err != nil {
		return nil, bad(err)
	}
	userID := int64(2)
	if truthy(a.UserID.V) {
		id, ok := a.UserID.Int()
		if !ok {
			return nil, bad(errors.New("user_id is not an integer"))
		}
		if id != 0 {
			userID = id
		}
	}
	expires, err := parseExpires(a.Expires)
	if err != nil {
		return nil, bad(err)
	}
	var extra identity.JSON
	if v := a.ExtraInfoJSON.V; v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, bad(err)
		}
		extra = b
	}
	token, err := s.deps.Store.CreateSession(ctx, identity.NewSessionParams{
		IPAddress: ip, UserAgent: a.UserAgent, UserID: userID, Expires: expires, ExtraInfo: extra,
	})
	if errors.Is(err, identity.ErrNoUser) {
		return nil, bad(err)
	}
	if err != nil {
		return nil, err
	}
	rc.log.Info("session created", "user", s.deps.PII.Hash(userID), "ip", s.deps.PII.Hash(ip), "expires", isoformat(expires))
	return Result{
		"success": true, "session_token": token, "expires": isoformat(expires),
		"messages": []string{"Generated session_token successfully. Session initiated."},
	}, nil
}

// sessionTokenArgs are the arguments of the types that take only a session token.
type sessionTokenArgs struct {
	SessionToken string `arg:"session_token" type:"str" max:"512"`
}

// sessionExists is session-exists (actions.md §1.2).
func (s *Server) sessionExists(ctx context.Context, rc *reqCtx, a *sessionTokenArgs) (Result, error) {
	si, err := s.deps.Store.LiveSession(ctx, a.SessionToken)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, fail("session does not exist or expired", "Session look up failed.")
	}
	if err != nil {
		return nil, err
	}
	// A deactivated user's sessions end (they are deleted with the
	// deactivation; one made afterwards does not count either). The
	// reference kept them (issue 13, finding 10).
	if !si.User.IsActive && si.User.UserID != 2 {
		return nil, fail("session does not exist or expired", "Session look up failed.")
	}
	return Result{"success": true, "session_info": sessionInfo(a.SessionToken, si), "messages": []string{"Session look up successful."}}, nil
}

// sessionDelete is session-delete (actions.md §1.3).
func (s *Server) sessionDelete(ctx context.Context, rc *reqCtx, a *sessionTokenArgs) (Result, error) {
	n, err := s.deps.Store.DeleteSession(ctx, a.SessionToken)
	if err != nil {
		return nil, err
	}
	ok := n == 1
	return Result{"success": ok, "messages": []string{fmt.Sprintf("Session delete processed, success: %s.", pyBool(ok))}}, nil
}

// sessionDeleteUserIDArgs are session-delete-userid's arguments.
type sessionDeleteUserIDArgs struct {
	SessionToken       string `arg:"session_token" type:"str" max:"512"`
	UserID             int64  `arg:"user_id" type:"int"`
	KeepCurrentSession bool   `arg:"keep_current_session" type:"bool"`
}

// sessionDeleteUserID is session-delete-userid (actions.md §1.4), with
// keep_current_session honoured (quirk #9).
func (s *Server) sessionDeleteUserID(ctx context.Context, rc *reqCtx, a *sessionDeleteUserIDArgs) (Result, error) {
	keep := ""
	if a.KeepCurrentSession {
		keep = a.SessionToken
	}
	n, err := s.deps.Store.DeleteUserSessions(ctx, a.UserID, keep)
	if err != nil {
		return nil, err
	}
	ok := n > 0
	return Result{"success": ok, "messages": []string{fmt.Sprintf("Sessions delete processed. Success: %s.", pyBool(ok))}}, nil
}

// internalSessionEditArgs are internal-session-edit's arguments.
type internalSessionEditArgs struct {
	TargetSessionToken string         `arg:"target_session_token" type:"str" max:"512"`
	UpdateDict         map[string]any `arg:"update_dict" type:"dict" json:"stored"`
}

// internalSessionEdit is internal-session-edit (actions.md §9.4).
func (s *Server) internalSessionEdit(ctx context.Context, rc *reqCtx, a *internalSessionEditArgs) (Result, error) {
	token := a.TargetSessionToken
	if len(a.UpdateDict) == 0 {
		return nil, fail("invalid request: missing 'update_dict' in request", "Invalid session edit request: missing or invalid parameters.")
	}
	noSession := fail("no such session", "Session extra_info update failed.")
	si, err := s.deps.Store.LiveSession(ctx, token)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, noSession
	}
	if err != nil {
		return nil, err
	}
	merged, err := identity.MarshalObject(mergeExtra(si.Session.ExtraInfoJSON, a.UpdateDict))
	if err != nil {
		return nil, err
	}
	if len(merged) > maxStoredJSON {
		return nil, fail("invalid request: extra_info_json would be too large", "Invalid session edit request: missing or invalid parameters.")
	}
	if err := s.deps.Store.UpdateSessionExtra(ctx, token, merged); errors.Is(err, identity.ErrNotFound) {
		return nil, noSession
	} else if err != nil {
		return nil, err
	}
	if si, err = s.deps.Store.LiveSession(ctx, token); err != nil {
		return nil, err
	}
	return Result{
		"success": true,
		"session_info": map[string]any{
			"user_id": si.Session.UserID, "session_token": token, "ip_address": si.Session.IPAddress,
			"user_agent": si.Session.UserAgent, "created": isoformat(si.Session.Created),
			"expires": isoformat(si.Session.Expires), "extra_info_json": jsonValue(si.Session.ExtraInfoJSON),
		},
		"messages": []string{"Session extra_info update successful."},
	}, nil
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}
