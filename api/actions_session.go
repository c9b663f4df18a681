package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/authnzrv/authnzrv/identity"
)

// sessionNew is session-new (actions.md §1.1).
func (s *Server) sessionNew(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	fail := func(err error) (Result, error) {
		rc.log.Info("session-new failed", "error", err)
		r := failure("DB error when making new session", "Could not create a new session.")
		r["session_token"], r["expires"] = nil, nil
		return r, nil
	}
	ip, err := canonicalIP(a.str("ip_address"))
	if err != nil {
		return fail(err)
	}
	userID := int64(2)
	if uv := a["user_id"]; truthy(uv) {
		id, ok := toInt(uv)
		if !ok {
			return fail(fmt.Errorf("user_id is not an integer"))
		}
		if id != 0 {
			userID = id
		}
	}
	expires, err := parseExpires(a.str("expires"))
	if err != nil {
		return fail(err)
	}
	var extra identity.JSON
	if v := a["extra_info_json"]; v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return fail(err)
		}
		extra = b
	}
	token, err := s.deps.Store.CreateSession(ctx, identity.NewSessionParams{
		IPAddress: ip, UserAgent: a.str("user_agent"), UserID: userID, Expires: expires, ExtraInfo: extra,
	})
	if err != nil {
		return fail(err)
	}
	rc.log.Info("session created", "user", s.deps.PII.Hash(userID), "ip", s.deps.PII.Hash(ip), "expires", isoformat(expires))
	return Result{
		"success": true, "session_token": token, "expires": isoformat(expires),
		"messages": []string{"Generated session_token successfully. Session initiated."},
	}, nil
}

// sessionExists is session-exists (actions.md §1.2).
func (s *Server) sessionExists(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	token := a.str("session_token")
	si, err := s.deps.Store.LiveSession(ctx, token)
	if errors.Is(err, identity.ErrNotFound) {
		r := failure("session does not exist or expired", "Session look up failed.")
		r["session_info"] = nil
		return r, nil
	}
	if err != nil {
		rc.log.Error("session lookup", "error", err)
		r := failure("DB error when retrieving session info", "Session look up failed.")
		r["session_info"] = nil
		return r, nil
	}
	return Result{"success": true, "session_info": sessionInfo(token, si), "messages": []string{"Session look up successful."}}, nil
}

// sessionDelete is session-delete (actions.md §1.3).
func (s *Server) sessionDelete(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	n, err := s.deps.Store.DeleteSession(ctx, a.str("session_token"))
	if err != nil {
		rc.log.Error("session delete", "error", err)
		return failure("DB error when deleting session", "Session could not be deleted."), nil
	}
	ok := n == 1
	return Result{"success": ok, "messages": []string{fmt.Sprintf("Session delete processed, success: %s.", pyBool(ok))}}, nil
}

// sessionDeleteUserID is session-delete-userid (actions.md §1.4), with
// keep_current_session honoured (quirk #9).
func (s *Server) sessionDeleteUserID(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	uid, _ := a.int("user_id")
	keep := ""
	if a.bool("keep_current_session") {
		keep = a.str("session_token")
	}
	n, err := s.deps.Store.DeleteUserSessions(ctx, uid, keep)
	if err != nil {
		rc.log.Error("session delete-userid", "error", err)
		return failure("DB error when updating session info", "Sessions could not be deleted."), nil
	}
	ok := n > 0
	return Result{"success": ok, "messages": []string{fmt.Sprintf("Sessions delete processed. Success: %s.", pyBool(ok))}}, nil
}

// internalSessionEdit is internal-session-edit (actions.md §9.4).
func (s *Server) internalSessionEdit(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	upd, _ := a["update_dict"].(map[string]any)
	token := a.str("target_session_token")
	if len(upd) == 0 {
		r := failure("invalid request: missing 'update_dict' in request", "Invalid session edit request: missing or invalid parameters.")
		r["session_info"] = nil
		return r, nil
	}
	noSession := func() (Result, error) {
		r := failure("no such session", "Session extra_info update failed.")
		r["session_info"] = nil
		return r, nil
	}
	si, err := s.deps.Store.LiveSession(ctx, token)
	if err != nil {
		return noSession()
	}
	merged, err := identity.MarshalObject(mergeExtra(si.Session.ExtraInfoJSON, upd))
	if err != nil {
		return nil, err
	}
	if err := s.deps.Store.UpdateSessionExtra(ctx, token, merged); err != nil {
		return noSession()
	}
	si, err = s.deps.Store.LiveSession(ctx, token)
	if err != nil {
		return noSession()
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
