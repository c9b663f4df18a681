package frontend

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"time"
)

// AnonymousUserID is the user id of the system's anonymous user: sessions
// created without a user belong to it.
const AnonymousUserID = 2

// AnonymousRole is the anonymous user's role.
const AnonymousRole = "anonymous"

// Session is the end user's session as authnzrv's session-exists reports
// it. Token is the session's secret: never log or show it (Session's
// LogValue leaves it out).
type Session struct {
	// Token is the session token (the cookie's value).
	Token string
	// UserID is the session's user (AnonymousUserID when nobody is logged
	// in).
	UserID int64
	// Role is the user's role.
	Role string
	// Email is the user's e-mail address ("" for the anonymous user).
	Email string
	// FullName is the user's full name ("" when unknown).
	FullName string
	// Expires is when the session ends (UTC).
	Expires time.Time
}

// Anonymous reports whether nobody is logged in on this session.
func (s Session) Anonymous() bool {
	return s.UserID == AnonymousUserID || s.Role == AnonymousRole || s.UserID <= 0
}

// LogValue implements slog.LogValuer without the token or e-mail.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("user_id", s.UserID), slog.String("role", s.Role))
}

// APIKey is the principal of a request authenticated with a bearer API key.
// Claims hold the key's secret token ("tkn"): never log or show them
// (APIKey's LogValue leaves them out).
type APIKey struct {
	// UserID is the key's user ("uid").
	UserID int64
	// Role is the key's role ("rol").
	Role string
	// Claims are all of the key's claims (iss, ver, uid, rol, aud, sub,
	// ipa, tkn, iat, nbf, exp, ...), as decoded from the bearer value
	// (numbers as json.Number).
	Claims map[string]any
}

// LogValue implements slog.LogValuer without the claims.
func (k APIKey) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("user_id", k.UserID), slog.String("role", k.Role))
}

type (
	sessionKey  struct{}
	apiKeyKey   struct{}
	clientIPKey struct{}
)

// SessionFrom returns the session the middleware put into ctx; ok is false
// for requests that did not pass through it and for bearer requests.
func SessionFrom(ctx context.Context) (s Session, ok bool) {
	s, ok = ctx.Value(sessionKey{}).(Session)
	return s, ok
}

// APIKeyFrom returns the API key principal of a bearer request.
func APIKeyFrom(ctx context.Context) (k APIKey, ok bool) {
	k, ok = ctx.Value(apiKeyKey{}).(APIKey)
	return k, ok
}

// clientIPFrom is the end user's address the middleware found ("" outside
// it).
func clientIPFrom(ctx context.Context) string {
	s, _ := ctx.Value(clientIPKey{}).(string)
	return s
}

// expiresLayout is the protocol's session expiry format (session-new).
const expiresLayout = "2006-01-02T15:04:05.000000"

// parseISO reads a Python isoformat naive-UTC time (the fraction is
// optional).
func parseISO(s string) (time.Time, error) {
	t, err := time.Parse("2006-01-02T15:04:05", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("frontend: bad time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// sessionInfo is the part of session-exists' session_info the middleware
// reads.
type sessionInfo struct {
	UserID   json.Number `json:"user_id"`
	Role     string      `json:"user_role"`
	Email    *string     `json:"email"`
	FullName *string     `json:"full_name"`
	Expires  string      `json:"expires"`
	IsActive bool        `json:"is_active"`
	Token    string      `json:"session_token"`
}

// decodeSessionInfo reads a session-exists reply's session_info.
func decodeSessionInfo(v any) (sessionInfo, Session, error) {
	var si sessionInfo
	raw, err := json.Marshal(v)
	if err != nil {
		return si, Session{}, fmt.Errorf("frontend: session_info: %w", err)
	}
	if err := json.Unmarshal(raw, &si); err != nil {
		return si, Session{}, fmt.Errorf("frontend: session_info: %w", err)
	}
	uid, err := si.UserID.Int64()
	if err != nil {
		return si, Session{}, fmt.Errorf("frontend: session_info.user_id: %w", err)
	}
	exp, err := parseISO(si.Expires)
	if err != nil {
		return si, Session{}, err
	}
	s := Session{Token: si.Token, UserID: uid, Role: si.Role, Expires: exp}
	if si.Email != nil {
		s.Email = *si.Email
	}
	if si.FullName != nil {
		s.FullName = *si.FullName
	}
	return si, s, nil
}

// intKey reads an integer key of an action response (ok false when absent,
// null or not an integer).
func intKey(resp map[string]any, k string) (int64, bool) {
	switch v := resp[k].(type) {
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			return 0, false
		}
		return int64(v), true
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	}
	return 0, false
}

// strKey reads a string key of an action response.
func strKey(resp map[string]any, k string) string {
	s, _ := resp[k].(string)
	return s
}

// withAPIKey returns ctx carrying the API key principal.
func withAPIKey(ctx context.Context, k APIKey) context.Context {
	return context.WithValue(ctx, apiKeyKey{}, k)
}
