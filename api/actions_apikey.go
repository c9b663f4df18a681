package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// seconds turns a bounded number of seconds into a duration.
func seconds(x float64) time.Duration { return time.Duration(x * float64(time.Second)) }

// keyClaims are the claims of a presented key the handlers read.
type keyClaims struct {
	uid int64
	tkn string
	rol string
	raw map[string]any
}

// readClaims checks that apikey_dict holds the listed claims (beyond uid,
// tkn and rol, which every operation needs) with usable types; the
// reference answers HTTP 400 otherwise (actions.md §7, checklist 178).
func readClaims(d map[string]any, need ...string) (keyClaims, error) {
	for _, k := range append([]string{"uid", "tkn", "rol"}, need...) {
		if _, ok := d[k]; !ok {
			return keyClaims{}, badRequest(fmt.Errorf("%w: %q", errBadClaims, k))
		}
	}
	uid, ok := strictInt(d["uid"])
	tkn, okT := d["tkn"].(string)
	rol, okR := d["rol"].(string)
	if !ok || !okT || !okR || len(tkn) > 512 || len(rol) > 100 {
		return keyClaims{}, badRequest(fmt.Errorf("%w: uid, tkn or rol has the wrong type", errBadClaims))
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
	if errors.Is(err, engine.ErrUnknownRole) {
		rc.log.Info("API key permission refused", "error", err)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	rc.log.Debug("API key permission", "action", action, "allowed", d.Allowed, "reason", d.Reason)
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

// apikeyNewArgs are apikey-new's arguments.
type apikeyNewArgs struct {
	Issuer         string  `arg:"issuer" type:"str" max:"512"`
	Audience       string  `arg:"audience" type:"str" max:"512"`
	Subject        string  `arg:"subject" type:"str" max:"512"`
	APIVersion     Raw     `arg:"apiversion" type:"str,int" max:"64"`
	ExpiresDays    int64   `arg:"expires_days" type:"int" min:"1" max:"3660"`
	NotValidBefore float64 `arg:"not_valid_before" type:"float,int" min:"0" max:"31622400"`
	UserID         int64   `arg:"user_id" type:"int"`
	UserRole       string  `arg:"user_role" type:"str" max:"100"`
	IPAddress      string  `arg:"ip_address" type:"str" max:"128"`
	UserAgent      string  `arg:"user_agent" type:"str" max:"2048"`
	SessionToken   string  `arg:"session_token" type:"str" max:"512"`
}

// apikeyNew is apikey-new (actions.md §7.1): a key bound to a live session.
func (s *Server) apikeyNew(ctx context.Context, rc *reqCtx, a *apikeyNewArgs) (Result, error) {
	uid, role := a.UserID, a.UserRole
	ok, err := s.permitted(ctx, rc, uid, role, "create", uid)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fail("user not allowed to issue API key", "API key issuance failed. You are not allowed to issue an API key.")
	}
	invalid := func(msg string) error {
		return fail("invalid session for user requesting API key issuance", msg).with("apikey", nil, "expires", nil)
	}
	si, err := s.deps.Store.LiveSession(ctx, a.SessionToken)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, invalid("Invalid session token for API key issuance request.")
	}
	if err != nil {
		return nil, err
	}
	ip, ipErr := canonicalIP(a.IPAddress)
	if ipErr != nil || si.Session.UserID != uid || si.Session.IPAddress != ip ||
		si.Session.UserAgent != a.UserAgent || si.User.UserRole != role {
		return nil, invalid("DB session user_id, ip_address, user_agent, user_role does not match provided session info.")
	}
	tkn, err := identity.NewToken()
	if err != nil {
		return nil, err
	}
	issued := s.now().UTC().Truncate(time.Microsecond)
	expires := issued.AddDate(0, 0, int(a.ExpiresDays))
	nbf := issued.Add(seconds(a.NotValidBefore)).Truncate(time.Microsecond)
	key, err := pyJSON([]claim{
		{"iss", a.Issuer}, {"ver", a.APIVersion.V}, {"uid", uid}, {"rol", role},
		{"usa", a.UserAgent}, {"aud", a.Audience}, {"sub", a.Subject},
		{"ipa", a.IPAddress}, {"tkn", tkn}, {"iat", isoformat(issued)},
		{"nbf", isoformat(nbf)}, {"exp", isoformat(expires)},
	})
	if err != nil {
		return nil, err
	}
	if err := s.deps.Store.NewAPIKey(ctx, tkn, a.SessionToken, uid, role, issued, expires, nbf); errors.Is(err, identity.ErrNotFound) {
		return nil, invalid("Invalid session token for API key issuance request.")
	} else if err != nil {
		return nil, err
	}
	rc.log.Info("API key issued", "user_id", s.deps.PII.Hash(strconv.FormatInt(uid, 10)))
	exp := isoformat(expires)
	return Result{"success": true, "apikey": key, "expires": exp,
		"messages": []string{fmt.Sprintf("API key generated successfully, expires: %s.", exp)}}, nil
}

// apikeyArgs are the arguments of the operations on a presented key.
type apikeyArgs struct {
	APIKeyDict map[string]any `arg:"apikey_dict" type:"dict"`
	UserID     int64          `arg:"user_id" type:"int"`
	UserRole   string         `arg:"user_role" type:"str" max:"100"`
}

// apikeyVerify is apikey-verify (§7.2).
func (s *Server) apikeyVerify(ctx context.Context, rc *reqCtx, a *apikeyArgs) (Result, error) {
	return s.verifyKeyReply(ctx, rc, a, false)
}

// apikeyVerifyNoSession is apikey-verify-nosession (§7.5).
func (s *Server) apikeyVerifyNoSession(ctx context.Context, rc *reqCtx, a *apikeyArgs) (Result, error) {
	return s.verifyKeyReply(ctx, rc, a, true)
}

func (s *Server) verifyKeyReply(ctx context.Context, rc *reqCtx, a *apikeyArgs, noSession bool) (Result, error) {
	text, err := s.verifyKey(ctx, rc, a, noSession)
	if err != nil {
		return nil, err
	}
	return Result{"success": true, "messages": []string{text}}, nil
}

// verifyKey runs the verification procedure and returns the success text;
// refusals are *Failure errors.
func (s *Server) verifyKey(ctx context.Context, rc *reqCtx, a *apikeyArgs, noSession bool) (string, error) {
	c, err := readClaims(a.APIKeyDict, "aud", "sub", "ver", "exp")
	if err != nil {
		return "", err
	}
	ok, err := s.permitted(ctx, rc, a.UserID, a.UserRole, "view", c.uid)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fail("originating user is not allowed to operate on this API key", "API key verification failed. You are not allowed to operate on this API key.")
	}
	var expires time.Time
	if noSession {
		k, err := s.deps.Store.VerifyNoSessionKey(ctx, c.tkn, c.uid, c.rol)
		if err == nil {
			expires = k.Expires
		} else if !errors.Is(err, identity.ErrNotFound) {
			return "", err
		}
	} else {
		k, err := s.deps.Store.VerifyAPIKey(ctx, c.tkn, c.uid, c.rol)
		if err == nil {
			expires = k.Expires
		} else if !errors.Is(err, identity.ErrNotFound) {
			return "", err
		}
	}
	if expires.IsZero() {
		return "", fail("key validation failed, provided key does not match stored key or has expired", "API key could not be verified.")
	}
	text := "API key verified successfully. Expires: %s."
	if noSession {
		text = "No-session API key verified successfully. Expires: %s."
	}
	return fmt.Sprintf(text, isoformat(expires)), nil
}

// apikeyRevoke is apikey-revoke (§7.3).
func (s *Server) apikeyRevoke(ctx context.Context, rc *reqCtx, a *apikeyArgs) (Result, error) {
	return s.revokeKey(ctx, rc, a, false)
}

// apikeyRevokeNoSession is apikey-revoke-nosession (§7.6).
func (s *Server) apikeyRevokeNoSession(ctx context.Context, rc *reqCtx, a *apikeyArgs) (Result, error) {
	return s.revokeKey(ctx, rc, a, true)
}

func (s *Server) revokeKey(ctx context.Context, rc *reqCtx, a *apikeyArgs, noSession bool) (Result, error) {
	c, err := readClaims(a.APIKeyDict)
	if err != nil {
		return nil, err
	}
	ok, err := s.permitted(ctx, rc, a.UserID, a.UserRole, "delete", c.uid)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fail("originating user is not allowed to operate on this API key", "API key revocation failed. You are not allowed to operate on this API key.")
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

// apikeyRevokeAll is apikey-revokeall-nosession (§7.7).
func (s *Server) apikeyRevokeAll(ctx context.Context, rc *reqCtx, a *apikeyArgs) (Result, error) {
	c, err := readClaims(a.APIKeyDict)
	if err != nil {
		return nil, err
	}
	ok, err := s.permitted(ctx, rc, a.UserID, a.UserRole, "delete", c.uid)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fail("originating user is not allowed to delete API keys", "All API keys revocation failed. You are not allowed to delete API keys.")
	}
	if _, err := s.verifyKey(ctx, rc, a, true); err != nil {
		var f *Failure
		if errors.As(err, &f) && f.Status == 0 {
			return nil, fail("provided API key is invalid, revoke-all operation requires a valid key to start with", "All API keys revocation failed. The API key presented is invalid.")
		}
		return nil, err
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

// keyTimes are the lifetimes of a new no-session key, in seconds.
type keyTimes struct {
	expires, notValidBefore, refreshExpires, refreshNBF float64
}

// mintNoSessionKey builds a no-session key and its reply (§7.4).
func mintNoSessionKey(issuedAt time.Time, times keyTimes, ip, iss, aud, sub string, ver any, uid int64, role string) (*noSessionKey, error) {
	tkn, err := identity.NewToken()
	if err != nil {
		return nil, err
	}
	refresh, err := identity.NewToken()
	if err != nil {
		return nil, err
	}
	issued := issuedAt.UTC().Truncate(time.Microsecond)
	p := identity.NoSessionKeyParams{
		Token: tkn, RefreshToken: refresh, UserID: uid, UserRole: role,
		Issued: issued, Expires: issued.Add(seconds(times.expires)),
		NotValidBefore:      issued.Add(seconds(times.notValidBefore)).Truncate(time.Microsecond),
		RefreshExpires:      issued.Add(seconds(times.refreshExpires)),
		RefreshNotValidTill: issued.Add(seconds(times.refreshNBF)).Truncate(time.Microsecond),
	}
	key, err := pyJSON([]claim{
		{"iss", iss}, {"ver", ver}, {"uid", uid}, {"rol", role}, {"aud", aud}, {"sub", sub},
		{"ipa", ip}, {"tkn", tkn}, {"iat", isoformat(issued)},
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

// apikeyNewNoSessionArgs are apikey-new-nosession's arguments.
type apikeyNewNoSessionArgs struct {
	Issuer         string  `arg:"issuer" type:"str" max:"512"`
	Audience       string  `arg:"audience" type:"str" max:"512"`
	Subject        string  `arg:"subject" type:"str" max:"512"`
	APIVersion     Raw     `arg:"apiversion" type:"str,int" max:"64"`
	ExpiresSeconds int64   `arg:"expires_seconds" type:"int" min:"1" max:"316224000"`
	NotValidBefore float64 `arg:"not_valid_before" type:"float,int" min:"0" max:"31622400"`
	UserID         int64   `arg:"user_id" type:"int"`
	UserRole       string  `arg:"user_role" type:"str" max:"100"`
	IPAddress      string  `arg:"ip_address" type:"str" max:"128"`
	RefreshExpires int64   `arg:"refresh_expires" type:"int" min:"1" max:"316224000"`
	RefreshNBF     float64 `arg:"refresh_nbf" type:"float,int" min:"0" max:"31622400"`
}

// apikeyNewNoSession is apikey-new-nosession (§7.4).
func (s *Server) apikeyNewNoSession(ctx context.Context, rc *reqCtx, a *apikeyNewNoSessionArgs) (Result, error) {
	uid, role := a.UserID, a.UserRole
	ok, err := s.permitted(ctx, rc, uid, role, "create", uid)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fail("originating user is not allowed to issue an API key", "API key issuance failed. You are not allowed to issue an API key.")
	}
	times := keyTimes{float64(a.ExpiresSeconds), a.NotValidBefore, float64(a.RefreshExpires), a.RefreshNBF}
	k, err := mintNoSessionKey(s.now(), times, a.IPAddress, a.Issuer, a.Audience, a.Subject, a.APIVersion.V, uid, role)
	if err != nil {
		return nil, err
	}
	if err := s.deps.Store.NewNoSessionKey(ctx, k.params); err != nil {
		return nil, err
	}
	rc.log.Info("no-session API key issued", "user_id", s.deps.PII.Hash(strconv.FormatInt(uid, 10)))
	return k.result, nil
}

// apikeyRefreshArgs are apikey-refresh-nosession's arguments.
type apikeyRefreshArgs struct {
	APIKeyDict     map[string]any `arg:"apikey_dict" type:"dict"`
	UserID         int64          `arg:"user_id" type:"int"`
	UserRole       string         `arg:"user_role" type:"str" max:"100"`
	RefreshToken   string         `arg:"refresh_token" type:"str" max:"512"`
	IPAddress      string         `arg:"ip_address" type:"str" max:"128"`
	ExpiresSeconds int64          `arg:"expires_seconds" type:"int" min:"1" max:"316224000"`
	NotValidBefore float64        `arg:"not_valid_before" type:"int,float" min:"0" max:"31622400"`
	RefreshExpires int64          `arg:"refresh_expires" type:"int" min:"1" max:"316224000"`
	RefreshNBF     float64        `arg:"refresh_nbf" type:"int,float" min:"0" max:"31622400"`
}

// apikeyRefresh is apikey-refresh-nosession (§7.8) with quirk #27 fixed:
// the requester must be the key's owner, and consuming the old key and
// storing the new one is one transaction, so of concurrent refreshes of one
// key exactly one succeeds.
func (s *Server) apikeyRefresh(ctx context.Context, rc *reqCtx, a *apikeyRefreshArgs) (Result, error) {
	c, err := readClaims(a.APIKeyDict, "iss", "ver", "aud", "sub")
	if err != nil {
		return nil, err
	}
	const noRefresh = "API key refresh failed. The API key presented does not have a valid refresh token. You may need to login again to generate a new API key."
	const noRefreshSic = "API key refresh failed. The API key presented does not have a valid refresh token.You may need to login again to generate a new API key."
	old, err := s.deps.Store.RefreshableKey(ctx, c.tkn, c.uid, c.rol)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, fail("provided API key has no stored refresh token, probably invalid", noRefresh)
	}
	if err != nil {
		return nil, err
	}
	if !identity.RefreshMatches(old, a.RefreshToken) {
		return nil, fail("provided refresh token does not match stored refresh token", noRefresh)
	}
	uid, role := a.UserID, a.UserRole
	if uid != c.uid || role != c.rol {
		return nil, fail("user from provided API key not allowed to revoke old key", noRefreshSic)
	}
	if ok, err := s.permitted(ctx, rc, uid, role, "delete", c.uid); err != nil {
		return nil, err
	} else if !ok {
		return nil, fail("user from provided API key not allowed to revoke old key", noRefreshSic)
	}
	if ok, err := s.permitted(ctx, rc, uid, role, "create", uid); err != nil {
		return nil, err
	} else if !ok {
		return nil, fail("user from provided API key not allowed to issue new key", noRefreshSic)
	}
	iss, _ := c.raw["iss"].(string)
	aud, _ := c.raw["aud"].(string)
	sub, _ := c.raw["sub"].(string)
	ver := c.raw["ver"]
	if _, isStr := ver.(string); !isStr {
		if _, isNum := ver.(json.Number); !isNum {
			return nil, badRequest(fmt.Errorf("%w: ver must be a string or a number", errBadClaims))
		}
	}
	times := keyTimes{float64(a.ExpiresSeconds), a.NotValidBefore, float64(a.RefreshExpires), a.RefreshNBF}
	k, err := mintNoSessionKey(s.now(), times, a.IPAddress, iss, aud, sub, ver, uid, role)
	if err != nil {
		return nil, err
	}
	if err := s.deps.Store.ReplaceNoSessionKey(ctx, old, k.params); errors.Is(err, identity.ErrRefreshRace) {
		return nil, fail("provided API key has no stored refresh token, probably invalid", noRefresh)
	} else if err != nil {
		return nil, err
	}
	rc.log.Info("no-session API key refreshed", "user_id", s.deps.PII.Hash(strconv.FormatInt(uid, 10)))
	return k.result, nil
}
