package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/identity"
)

// errBadClaims marks an apikey_dict that lacks a claim the request needs:
// the reference fails with HTTP 400 there (actions.md §7, checklist 178).
var errBadClaims = errors.New("apikey_dict lacks a required claim")

// claim is one entry of an API key's claims, in the reference's order.
type claim struct {
	key   string
	value any
}

// pyJSON renders claims like Python's json.dumps with default settings:
// ", " and ": " separators, non-ASCII escaped as \uXXXX.
func pyJSON(claims []claim) (string, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, c := range claims {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pyString(c.key))
		b.WriteString(": ")
		switch v := c.value.(type) {
		case string:
			b.WriteString(pyString(v))
		case json.Number:
			b.WriteString(v.String())
		case int64:
			b.WriteString(strconv.FormatInt(v, 10))
		default:
			return "", fmt.Errorf("claim %s: unsupported type %T", c.key, v)
		}
	}
	b.WriteByte('}')
	return b.String(), nil
}

// pyString quotes s as Python's json.dumps(ensure_ascii=True) does.
func pyString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || (r >= 0x80 && r < 0x10000):
				fmt.Fprintf(&b, `\u%04x`, r)
			case r >= 0x10000:
				r -= 0x10000
				fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// seconds reads a float-or-int argument as a duration in seconds.
func (a args) seconds(k string) time.Duration {
	n, ok := a[k].(json.Number)
	if !ok {
		if b, isBool := a[k].(bool); isBool && b {
			return time.Second
		}
		return 0
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e12 {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

// keyClaims are the claims of a presented key the handlers read.
type keyClaims struct {
	uid int64
	tkn string
	rol string
	raw map[string]any
}

// readClaims checks that apikey_dict holds the listed claims (beyond uid,
// tkn and rol, which every operation needs) with usable types.
func readClaims(a args, need ...string) (keyClaims, error) {
	d, _ := a["apikey_dict"].(map[string]any)
	for _, k := range append([]string{"uid", "tkn", "rol"}, need...) {
		if _, ok := d[k]; !ok {
			return keyClaims{}, fmt.Errorf("%w: %q", errBadClaims, k)
		}
	}
	uid, ok := toInt(d["uid"])
	tkn, okT := d["tkn"].(string)
	rol, okR := d["rol"].(string)
	if !ok || !okT || !okR {
		return keyClaims{}, fmt.Errorf("%w: uid, tkn or rol has the wrong type", errBadClaims)
	}
	return keyClaims{uid: uid, tkn: tkn, rol: rol, raw: d}, nil
}

// permitted is the user-check-access procedure for an action on an API key
// owned by owner: the policy must allow it, the requester must be active with
// this role, and the owner must be active.
func (s *Server) permitted(ctx context.Context, rc *reqCtx, requester int64, role, action string, owner int64) (bool, error) {
	d, _, err := s.decideAccess(ctx, engine.AccessInput{
		UserID: requester, Role: role, Action: action, TargetName: "apikey",
		TargetOwner: owner, TargetVisibility: "private",
	})
	if err != nil {
		rc.log.Info("API key permission check failed", "error", err, "role", role)
		return false, nil
	}
	rc.log.Info("API key permission", "action", action, "role", role, "allowed", d.Allowed, "reason", d.Reason)
	if !d.Allowed {
		return false, nil
	}
	ok, err := s.activeUserWithRole(ctx, requester, role)
	if err != nil || !ok {
		return false, err
	}
	if owner == requester {
		return true, nil // just checked: active
	}
	return s.deps.Store.AllActive(ctx, []int64{owner})
}

// apikeyNew is apikey-new (actions.md §7.1): a key bound to a live session.
func (s *Server) apikeyNew(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	uid, _ := a.int("user_id")
	role := a.str("user_role")
	ok, err := s.permitted(ctx, rc, uid, role, "create", uid)
	if err != nil {
		return nil, err
	}
	if !ok {
		return failure("user not allowed to issue API key", "API key issuance failed. You are not allowed to issue an API key."), nil
	}
	invalid := func(msg string) (Result, error) {
		r := failure("invalid session for user requesting API key issuance", msg)
		r["apikey"], r["expires"] = nil, nil
		return r, nil
	}
	token := a.str("session_token")
	si, err := s.deps.Store.LiveSession(ctx, token)
	if errors.Is(err, identity.ErrNotFound) {
		return invalid("Invalid session token for API key issuance request.")
	}
	if err != nil {
		return nil, err
	}
	ip, ipErr := canonicalIP(a.str("ip_address"))
	if ipErr != nil || si.Session.UserID != uid || si.Session.IPAddress != ip ||
		si.Session.UserAgent != a.str("user_agent") || si.User.UserRole != role {
		return invalid("DB session user_id, ip_address, user_agent, user_role does not match provided session info.")
	}
	days, _ := a.int("expires_days")
	tkn, err := identity.NewToken()
	if err != nil {
		return nil, err
	}
	issued := time.Now().UTC().Truncate(time.Microsecond)
	expires := issued.AddDate(0, 0, int(days))
	nbf := issued.Add(a.seconds("not_valid_before")).Truncate(time.Microsecond)
	key, err := pyJSON([]claim{
		{"iss", a.str("issuer")}, {"ver", a["apiversion"]}, {"uid", uid}, {"rol", role},
		{"usa", a.str("user_agent")}, {"aud", a.str("audience")}, {"sub", a.str("subject")},
		{"ipa", a.str("ip_address")}, {"tkn", tkn}, {"iat", isoformat(issued)},
		{"nbf", isoformat(nbf)}, {"exp", isoformat(expires)},
	})
	if err != nil {
		return nil, err
	}
	if err := s.deps.Store.NewAPIKey(ctx, tkn, token, uid, role, issued, expires, nbf); err != nil {
		return nil, err
	}
	rc.log.Info("API key issued", "user_id", s.deps.PII.Hash(strconv.FormatInt(uid, 10)))
	exp := isoformat(expires)
	return Result{"success": true, "apikey": key, "expires": exp,
		"messages": []string{fmt.Sprintf("API key generated successfully, expires: %s.", exp)}}, nil
}

// apikeyVerify is apikey-verify and apikey-verify-nosession (§7.2, §7.5).
func (s *Server) apikeyVerify(noSession bool) handler {
	return func(ctx context.Context, rc *reqCtx, a args) (Result, error) {
		ok, msg, err := s.verifyKey(ctx, rc, a, noSession)
		if err != nil {
			return nil, err
		}
		if !ok {
			return failure(msg.reason, msg.text), nil
		}
		return Result{"success": true, "messages": []string{msg.text}}, nil
	}
}

type verdict struct{ reason, text string }

// verifyKey runs the verification procedure and returns the reply texts.
func (s *Server) verifyKey(ctx context.Context, rc *reqCtx, a args, noSession bool) (bool, verdict, error) {
	c, err := readClaims(a, "aud", "sub", "ver", "exp")
	if err != nil {
		return false, verdict{}, err
	}
	uid, _ := a.int("user_id")
	ok, err := s.permitted(ctx, rc, uid, a.str("user_role"), "view", c.uid)
	if err != nil {
		return false, verdict{}, err
	}
	if !ok {
		return false, verdict{"originating user is not allowed to operate on this API key", "API key verification failed. You are not allowed to operate on this API key."}, nil
	}
	var expires time.Time
	if noSession {
		k, err := s.deps.Store.VerifyNoSessionKey(ctx, c.tkn, c.uid, c.rol)
		if err == nil {
			expires = k.Expires
		} else if !errors.Is(err, identity.ErrNotFound) {
			return false, verdict{}, err
		}
	} else {
		k, err := s.deps.Store.VerifyAPIKey(ctx, c.tkn, c.uid, c.rol)
		if err == nil {
			expires = k.Expires
		} else if !errors.Is(err, identity.ErrNotFound) {
			return false, verdict{}, err
		}
	}
	if expires.IsZero() {
		return false, verdict{"key validation failed, provided key does not match stored key or has expired", "API key could not be verified."}, nil
	}
	text := "API key verified successfully. Expires: %s."
	if noSession {
		text = "No-session API key verified successfully. Expires: %s."
	}
	return true, verdict{text: fmt.Sprintf(text, isoformat(expires))}, nil
}

// apikeyRevoke is apikey-revoke and apikey-revoke-nosession (§7.3, §7.6).
func (s *Server) apikeyRevoke(noSession bool) handler {
	return func(ctx context.Context, rc *reqCtx, a args) (Result, error) {
		c, err := readClaims(a)
		if err != nil {
			return nil, err
		}
		uid, _ := a.int("user_id")
		ok, err := s.permitted(ctx, rc, uid, a.str("user_role"), "delete", c.uid)
		if err != nil {
			return nil, err
		}
		if !ok {
			return failure("originating user is not allowed to operate on this API key", "API key revocation failed. You are not allowed to operate on this API key."), nil
		}
		var n int64
		if noSession {
			n, err = s.deps.Store.RevokeNoSessionKey(ctx, c.tkn, c.uid, c.rol)
		} else {
			n, err = s.deps.Store.RevokeAPIKey(ctx, c.tkn, c.uid, c.rol)
		}
		if err != nil {
			return nil, err
		}
		return Result{"success": n == 1, "messages": []string{"API key revocation processed."}}, nil
	}
}

// apikeyRevokeAll is apikey-revokeall-nosession (§7.7).
func (s *Server) apikeyRevokeAll(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	c, err := readClaims(a)
	if err != nil {
		return nil, err
	}
	uid, _ := a.int("user_id")
	ok, err := s.permitted(ctx, rc, uid, a.str("user_role"), "delete", c.uid)
	if err != nil {
		return nil, err
	}
	if !ok {
		return failure("originating user is not allowed to delete API keys", "All API keys revocation failed. You are not allowed to delete API keys."), nil
	}
	valid, _, err := s.verifyKey(ctx, rc, a, true)
	if err != nil {
		return nil, err
	}
	if !valid {
		return failure("provided API key is invalid, revoke-all operation requires a valid key to start with", "All API keys revocation failed. The API key presented is invalid."), nil
	}
	n, err := s.deps.Store.RevokeAllNoSessionKeys(ctx, c.uid, c.rol)
	if err != nil {
		return nil, err
	}
	return Result{"success": true, "revoked_keys": n, "messages": []string{"All API keys revocation processed."}}, nil
}

// noSessionKey is a freshly minted no-session key.
type noSessionKey struct {
	params identity.NoSessionKeyParams
	result Result
}

// mintNoSessionKey builds a no-session key and its reply (§7.4).
func mintNoSessionKey(a args, iss, aud, sub string, ver any, uid int64, role string) (*noSessionKey, error) {
	tkn, err := identity.NewToken()
	if err != nil {
		return nil, err
	}
	refresh, err := identity.NewToken()
	if err != nil {
		return nil, err
	}
	secs, _ := a.int("expires_seconds")
	refreshSecs, _ := a.int("refresh_expires")
	issued := time.Now().UTC().Truncate(time.Microsecond)
	p := identity.NoSessionKeyParams{
		Token: tkn, RefreshToken: refresh, UserID: uid, UserRole: role,
		Issued: issued, Expires: issued.Add(time.Duration(secs) * time.Second),
		NotValidBefore:      issued.Add(a.seconds("not_valid_before")).Truncate(time.Microsecond),
		RefreshExpires:      issued.Add(time.Duration(refreshSecs) * time.Second),
		RefreshNotValidTill: issued.Add(a.seconds("refresh_nbf")).Truncate(time.Microsecond),
	}
	key, err := pyJSON([]claim{
		{"iss", iss}, {"ver", ver}, {"uid", uid}, {"rol", role}, {"aud", aud}, {"sub", sub},
		{"ipa", a.str("ip_address")}, {"tkn", tkn}, {"iat", isoformat(issued)},
		{"nbf", isoformat(p.NotValidBefore)}, {"exp", isoformat(p.Expires)},
	})
	if err != nil {
		return nil, err
	}
	exp := isoformat(p.Expires)
	return &noSessionKey{params: p, result: Result{
		"success": true, "apikey": key, "expires": exp, "refresh_token": refresh,
		"refresh_token_expires": isoformat(p.RefreshExpires),
		"messages":              []string{fmt.Sprintf("API key generated successfully, expires: %s.", exp)},
	}}, nil
}

// apikeyNewNoSession is apikey-new-nosession (§7.4).
func (s *Server) apikeyNewNoSession(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	uid, _ := a.int("user_id")
	role := a.str("user_role")
	ok, err := s.permitted(ctx, rc, uid, role, "create", uid)
	if err != nil {
		return nil, err
	}
	if !ok {
		return failure("originating user is not allowed to issue an API key", "API key issuance failed. You are not allowed to issue an API key."), nil
	}
	k, err := mintNoSessionKey(a, a.str("issuer"), a.str("audience"), a.str("subject"), a["apiversion"], uid, role)
	if err != nil {
		return nil, err
	}
	if err := s.deps.Store.NewNoSessionKey(ctx, k.params); err != nil {
		return nil, err
	}
	rc.log.Info("no-session API key issued", "user_id", s.deps.PII.Hash(strconv.FormatInt(uid, 10)))
	return k.result, nil
}

// apikeyRefresh is apikey-refresh-nosession (§7.8) with quirk #27 fixed:
// the requester must be the key's owner, and consuming the old key and
// storing the new one is one transaction, so of concurrent refreshes of one
// key exactly one succeeds.
func (s *Server) apikeyRefresh(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	c, err := readClaims(a, "iss", "ver", "aud", "sub")
	if err != nil {
		return nil, err
	}
	const noRefresh = "API key refresh failed. The API key presented does not have a valid refresh token. You may need to login again to generate a new API key."
	const noRefreshSic = "API key refresh failed. The API key presented does not have a valid refresh token.You may need to login again to generate a new API key."
	old, err := s.deps.Store.RefreshableKey(ctx, c.tkn, c.uid, c.rol)
	if errors.Is(err, identity.ErrNotFound) {
		return failure("provided API key has no stored refresh token, probably invalid", noRefresh), nil
	}
	if err != nil {
		return nil, err
	}
	if !identity.RefreshMatches(old, a.str("refresh_token")) {
		return failure("provided refresh token does not match stored refresh token", noRefresh), nil
	}
	uid, _ := a.int("user_id")
	role := a.str("user_role")
	if uid != c.uid || role != c.rol {
		return failure("user from provided API key not allowed to revoke old key", noRefreshSic), nil
	}
	if ok, err := s.permitted(ctx, rc, uid, role, "delete", c.uid); err != nil {
		return nil, err
	} else if !ok {
		return failure("user from provided API key not allowed to revoke old key", noRefreshSic), nil
	}
	if ok, err := s.permitted(ctx, rc, uid, role, "create", uid); err != nil {
		return nil, err
	} else if !ok {
		return failure("user from provided API key not allowed to issue new key", noRefreshSic), nil
	}
	iss, _ := c.raw["iss"].(string)
	aud, _ := c.raw["aud"].(string)
	sub, _ := c.raw["sub"].(string)
	ver := c.raw["ver"]
	if _, isStr := ver.(string); !isStr {
		if _, isNum := ver.(json.Number); !isNum {
			return nil, fmt.Errorf("%w: ver must be a string or a number", errBadClaims)
		}
	}
	k, err := mintNoSessionKey(a, iss, aud, sub, ver, uid, role)
	if err != nil {
		return nil, err
	}
	if err := s.deps.Store.ReplaceNoSessionKey(ctx, old, k.params); errors.Is(err, identity.ErrRefreshRace) {
		return failure("provided API key has no stored refresh token, probably invalid", noRefresh), nil
	} else if err != nil {
		return nil, err
	}
	rc.log.Info("no-session API key refreshed", "user_id", s.deps.PII.Hash(strconv.FormatInt(uid, 10)))
	return k.result, nil
}
