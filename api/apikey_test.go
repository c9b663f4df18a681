package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/client"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// claimsOf decodes the apikey JSON string of a reply.
func claimsOf(t *testing.T, r *client.Reply) map[string]any {
	t.Helper()
	var c map[string]any
	if err := json.Unmarshal([]byte(str(r, "apikey")), &c); err != nil {
		t.Fatalf("apikey is not a JSON object: %q: %v", str(r, "apikey"), err)
	}
	return c
}

func newKeyBody(uid int64, role, token string) q {
	return q{"issuer": "authnzrv-test", "audience": "frontend", "subject": "/api/items", "apiversion": 1,
		"expires_days": 30, "not_valid_before": 0, "user_id": uid, "user_role": role,
		"ip_address": "203.0.113.7", "user_agent": "Mozilla/5.0 test", "session_token": token}
}

func newNoSessionBody(uid int64, role string) q {
	return q{"issuer": "authnzrv-test", "audience": "frontend", "subject": "/api/items", "apiversion": "v2",
		"expires_seconds": 3600, "not_valid_before": 0, "user_id": uid, "user_role": role,
		"ip_address": "203.0.113.9", "refresh_expires": 86400, "refresh_nbf": 0}
}

func opBody(claims map[string]any, uid int64, role string) q {
	return q{"apikey_dict": claims, "user_id": uid, "user_role": role}
}

func refreshBody(claims map[string]any, uid int64, role, refresh string) q {
	return q{"apikey_dict": claims, "user_id": uid, "user_role": role, "refresh_token": refresh,
		"ip_address": "203.0.113.9", "expires_seconds": 3600, "not_valid_before": 0,
		"refresh_expires": 86400, "refresh_nbf": 0}
}

const (
	msgNotAllowedVerify = "API key verification failed. You are not allowed to operate on this API key."
	reasonNotAllowed    = "originating user is not allowed to operate on this API key"
	reasonKeyInvalid    = "key validation failed, provided key does not match stored key or has expired"
	reasonNoRefresh     = "provided API key has no stored refresh token, probably invalid"
	msgNoRefresh        = "API key refresh failed. The API key presented does not have a valid refresh token. You may need to login again to generate a new API key."
)

func TestSessionBoundAPIKeys(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		u4 := e.verifiedUser("four@example.org")
		u5 := e.verifiedUser("five@example.org")
		tok := e.newSession(u4)

		// 172: issuance with a matching live session.
		r := e.do("apikey-new", newKeyBody(u4, "authenticated", tok))
		expect(t, r, true, "")
		if !strings.HasPrefix(str(r, "apikey"), `{"iss": "authnzrv-test", "ver": 1, "uid": 4, "rol": "authenticated", "usa": "Mozilla/5.0 test", "aud": "frontend", `) {
			t.Fatalf("claims JSON not in the reference's order/format: %s", str(r, "apikey"))
		}
		claims := claimsOf(t, r)
		var keys []string
		for k := range claims {
			keys = append(keys, k)
		}
		if len(keys) != 12 || len(claims["tkn"].(string)) != 43 {
			t.Fatalf("claims %v", claims)
		}
		exp, err := time.Parse("2006-01-02T15:04:05.000000", str(r, "expires"))
		if err != nil || exp.Sub(time.Now().UTC()) < 29*24*time.Hour || exp.Sub(time.Now().UTC()) > 30*24*time.Hour+time.Minute {
			t.Fatalf("expires %q %v", str(r, "expires"), err)
		}
		if !messagesEqual(r.Messages, "API key generated successfully, expires: "+str(r, "expires")+".") {
			t.Fatalf("messages %q", r.Messages)
		}

		// The database holds no usable token: only digests.
		var stored string
		if err := e.store.DB().NewRaw("SELECT tkn_hash FROM apikeys").Scan(context.Background(), &stored); err != nil {
			t.Fatal(err)
		}
		if stored == claims["tkn"] || strings.Contains(stored, claims["tkn"].(string)) || len(stored) != 64 {
			t.Fatalf("stored %q", stored)
		}

		// 175: verification by the owner.
		issuedExpiry := str(r, "expires")
		r = e.do("apikey-verify", opBody(claims, u4, "authenticated"))
		expect(t, r, true, "", "API key verified successfully. Expires: "+issuedExpiry+".")

		cases := []struct {
			name    string
			request string
			body    q
			ok      bool
			reason  string
			msgs    []string
		}{
			{"173 other IP address", "apikey-new", func() q { b := newKeyBody(u4, "authenticated", tok); b["ip_address"] = "198.51.100.1"; return b }(),
				false, "invalid session for user requesting API key issuance", []string{"DB session user_id, ip_address, user_agent, user_role does not match provided session info."}},
			{"other user agent", "apikey-new", func() q { b := newKeyBody(u4, "authenticated", tok); b["user_agent"] = "curl"; return b }(),
				false, "invalid session for user requesting API key issuance", []string{"DB session user_id, ip_address, user_agent, user_role does not match provided session info."}},
			{"dead session", "apikey-new", newKeyBody(u4, "authenticated", "no-such-session"),
				false, "invalid session for user requesting API key issuance", []string{"Invalid session token for API key issuance request."}},
			{"174 anonymous may not issue", "apikey-new", newKeyBody(2, "anonymous", tok),
				false, "user not allowed to issue API key", []string{"API key issuance failed. You are not allowed to issue an API key."}},
			{"wrong role for the user", "apikey-new", newKeyBody(u4, "staff", tok),
				false, "user not allowed to issue API key", nil},
			{"other user verifies", "apikey-verify", opBody(claims, u5, "authenticated"), false, reasonNotAllowed, []string{msgNotAllowedVerify}},
			{"forged token", "apikey-verify", func() q {
				c := map[string]any{}
				for k, v := range claims {
					c[k] = v
				}
				c["tkn"] = strings.Repeat("A", 43)
				return opBody(c, u4, "authenticated")
			}(), false, reasonKeyInvalid, []string{"API key could not be verified."}},
			{"tampered role claim", "apikey-verify", func() q {
				c := map[string]any{}
				for k, v := range claims {
					c[k] = v
				}
				c["rol"] = "superuser"
				return opBody(c, u4, "authenticated")
			}(), false, reasonKeyInvalid, nil},
			{"other user revokes", "apikey-revoke", opBody(claims, u5, "authenticated"), false, reasonNotAllowed,
				[]string{"API key revocation failed. You are not allowed to operate on this API key."}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do(tc.request, tc.body)
				expect(t, r, tc.ok, tc.reason, tc.msgs...)
				if tc.reason == "user not allowed to issue API key" {
					if _, has := r.Response["apikey"]; has {
						t.Fatalf("failure carries an apikey key: %+v", r.Response)
					}
				}
			})
		}

		// 178: a claim missing → HTTP 400.
		delete(claims, "aud")
		if _, err := e.c.Do(context.Background(), "apikey-verify", opBody(claims, u4, "authenticated")); err == nil || !strings.Contains(err.Error(), "400") {
			t.Fatalf("missing aud: err %v, want HTTP 400", err)
		}
		claims["aud"] = "frontend"

		// 176: not yet valid.
		b := newKeyBody(u4, "authenticated", tok)
		b["not_valid_before"] = 3600
		later := claimsOf(t, e.do("apikey-new", b))
		expect(t, e.do("apikey-verify", opBody(later, u4, "authenticated")), false, reasonKeyInvalid)

		// 177: the key dies with its session.
		expect(t, e.do("session-delete", q{"session_token": tok}), true, "")
		expect(t, e.do("apikey-verify", opBody(claims, u4, "authenticated")), false, reasonKeyInvalid)

		// Revocation: by the owner, then again.
		tok2 := e.newSession(u4)
		k2 := claimsOf(t, e.do("apikey-new", newKeyBody(u4, "authenticated", tok2)))
		expect(t, e.do("apikey-revoke", opBody(k2, u4, "authenticated")), true, "", "API key revocation processed.")
		r = e.do("apikey-revoke", opBody(k2, u4, "authenticated"))
		if r.Success || r.Reason() != "" {
			t.Fatalf("second revoke: %+v", r)
		}
		expect(t, e.do("apikey-verify", opBody(k2, u4, "authenticated")), false, reasonKeyInvalid)
	})
}

func TestNoSessionAPIKeys(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		u4 := e.verifiedUser("four@example.org")
		u5 := e.verifiedUser("five@example.org")
		u6 := e.verifiedUser("six@example.org")
		e.sql("UPDATE users SET user_role = 'staff' WHERE user_id = ?", u6)

		// 179
		r := e.do("apikey-new-nosession", newNoSessionBody(u4, "authenticated"))
		expect(t, r, true, "")
		claims := claimsOf(t, r)
		if _, has := claims["usa"]; has || len(claims) != 11 || claims["ver"] != "v2" {
			t.Fatalf("claims %v", claims)
		}
		refresh := str(r, "refresh_token")
		if len(refresh) != 43 || !isoRe.MatchString(str(r, "refresh_token_expires")) {
			t.Fatalf("refresh %q expires %q", refresh, str(r, "refresh_token_expires"))
		}

		// 180, 188
		expect(t, e.do("apikey-verify-nosession", opBody(claims, u4, "authenticated")), true, "",
			"No-session API key verified successfully. Expires: "+str(r, "expires")+".")
		expect(t, e.do("apikey-verify-nosession", opBody(claims, u5, "authenticated")), false, reasonNotAllowed, msgNotAllowedVerify)
		expect(t, e.do("apikey-verify-nosession", opBody(claims, 1, "superuser")), true, "")
		expect(t, e.do("apikey-verify-nosession", opBody(claims, u6, "staff")), false, reasonNotAllowed)

		// 180 not yet valid, then valid once the time has come.
		b := newNoSessionBody(u4, "authenticated")
		b["not_valid_before"] = 3600
		nbf := claimsOf(t, e.do("apikey-new-nosession", b))
		expect(t, e.do("apikey-verify-nosession", opBody(nbf, u4, "authenticated")), false, reasonKeyInvalid)
		e.sql("UPDATE apikeys_nosession SET not_valid_before = ? WHERE not_valid_before > ?", time.Now().UTC().Add(-time.Second), time.Now().UTC().Add(time.Minute))
		expect(t, e.do("apikey-verify-nosession", opBody(nbf, u4, "authenticated")), true, "")

		// 183 revoke-all with a valid key while the user has two keys.
		expect(t, e.do("apikey-revokeall-nosession", opBody(claims, u5, "authenticated")), false,
			"originating user is not allowed to delete API keys", "All API keys revocation failed. You are not allowed to delete API keys.")
		forged := map[string]any{}
		for k, v := range claims {
			forged[k] = v
		}
		forged["tkn"] = strings.Repeat("B", 43)
		// 182
		expect(t, e.do("apikey-revokeall-nosession", opBody(forged, u4, "authenticated")), false,
			"provided API key is invalid, revoke-all operation requires a valid key to start with", "All API keys revocation failed. The API key presented is invalid.")
		r = e.do("apikey-revokeall-nosession", opBody(claims, u4, "authenticated"))
		expect(t, r, true, "", "All API keys revocation processed.")
		if num(r, "revoked_keys") != 2 {
			t.Fatalf("revoked_keys %v", r.Response["revoked_keys"])
		}
		expect(t, e.do("apikey-verify-nosession", opBody(claims, u4, "authenticated")), false, reasonKeyInvalid)
		expect(t, e.do("apikey-verify-nosession", opBody(nbf, u4, "authenticated")), false, reasonKeyInvalid)

		// 181 single revocation.
		k := claimsOf(t, e.do("apikey-new-nosession", newNoSessionBody(u4, "authenticated")))
		expect(t, e.do("apikey-revoke-nosession", opBody(k, u5, "authenticated")), false, reasonNotAllowed)
		expect(t, e.do("apikey-revoke-nosession", opBody(k, u4, "authenticated")), true, "", "API key revocation processed.")
		expect(t, e.do("apikey-verify-nosession", opBody(k, u4, "authenticated")), false, reasonKeyInvalid)
		if r := e.do("apikey-revoke-nosession", opBody(k, u4, "authenticated")); r.Success || r.Reason() != "" {
			t.Fatalf("revoking again: %+v", r)
		}

		// Expired keys are rejected.
		r = e.do("apikey-new-nosession", newNoSessionBody(u4, "authenticated"))
		exp := claimsOf(t, r)
		e.sql("UPDATE apikeys_nosession SET expires = ?", time.Now().UTC().Add(-time.Second))
		expect(t, e.do("apikey-verify-nosession", opBody(exp, u4, "authenticated")), false, reasonKeyInvalid)
		// 187: but can still be refreshed while the refresh token lives.
		r = e.do("apikey-refresh-nosession", refreshBody(exp, u4, "authenticated", str(r, "refresh_token")))
		expect(t, r, true, "")
		fresh := claimsOf(t, r)
		expect(t, e.do("apikey-verify-nosession", opBody(fresh, u4, "authenticated")), true, "")
	})
}

func TestAPIKeyRefresh(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		u4 := e.verifiedUser("four@example.org")
		u5 := e.verifiedUser("five@example.org")
		issue := func(body q) (map[string]any, string) {
			r := e.do("apikey-new-nosession", body)
			expect(t, r, true, "")
			return claimsOf(t, r), str(r, "refresh_token")
		}
		claims, refresh := issue(newNoSessionBody(u4, "authenticated"))

		// 184: refresh before refresh_nbf.
		b := newNoSessionBody(u4, "authenticated")
		b["refresh_nbf"] = 3600
		early, earlyRefresh := issue(b)
		expect(t, e.do("apikey-refresh-nosession", refreshBody(early, u4, "authenticated", earlyRefresh)), false, reasonNoRefresh, msgNoRefresh)
		// 185: wrong refresh token.
		expect(t, e.do("apikey-refresh-nosession", refreshBody(claims, u4, "authenticated", strings.Repeat("x", 43))), false,
			"provided refresh token does not match stored refresh token", msgNoRefresh)
		// Quirk #27 fixed: another user (even a superuser) holding the refresh
		// token gets nothing.
		for _, who := range []struct {
			uid  int64
			role string
		}{{u5, "authenticated"}, {1, "superuser"}} {
			r := e.do("apikey-refresh-nosession", refreshBody(claims, who.uid, who.role, refresh))
			expect(t, r, false, "user from provided API key not allowed to revoke old key",
				"API key refresh failed. The API key presented does not have a valid refresh token.You may need to login again to generate a new API key.")
		}
		// 186: the right token.
		r := e.do("apikey-refresh-nosession", refreshBody(claims, u4, "authenticated", refresh))
		expect(t, r, true, "")
		next := claimsOf(t, r)
		if next["tkn"] == claims["tkn"] || str(r, "refresh_token") == refresh || next["iss"] != "authnzrv-test" || next["ver"] != "v2" {
			t.Fatalf("refreshed key %v", next)
		}
		expect(t, e.do("apikey-verify-nosession", opBody(claims, u4, "authenticated")), false, reasonKeyInvalid)
		expect(t, e.do("apikey-verify-nosession", opBody(next, u4, "authenticated")), true, "")
		expect(t, e.do("apikey-refresh-nosession", refreshBody(claims, u4, "authenticated", refresh)), false, reasonNoRefresh)

		// Refresh after revoke-all.
		expect(t, e.do("apikey-revokeall-nosession", opBody(next, u4, "authenticated")), true, "")
		expect(t, e.do("apikey-refresh-nosession", refreshBody(next, u4, "authenticated", str(r, "refresh_token"))), false, reasonNoRefresh)

		// 50 parallel refreshes of one key yield exactly one new key.
		claims, refresh = issue(newNoSessionBody(u4, "authenticated"))
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, losses := 0, 0
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := e.c.Do(context.Background(), "apikey-refresh-nosession", refreshBody(claims, u4, "authenticated", refresh))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					t.Errorf("refresh: %v", err)
				case r.Success:
					wins++
				case r.Reason() == reasonNoRefresh:
					losses++
				default:
					t.Errorf("unexpected reply %+v", r)
				}
			}()
		}
		wg.Wait()
		if wins != 1 || losses != 49 {
			t.Fatalf("%d refreshes won, %d lost; want 1 and 49", wins, losses)
		}
		var n int
		if err := e.store.DB().NewRaw("SELECT COUNT(*) FROM apikeys_nosession WHERE user_id = ?", u4).Scan(context.Background(), &n); err != nil {
			t.Fatal(err)
		}
		if n != 1 { // the one refreshed key (revoke-all took the others)
			t.Fatalf("%d keys stored, want 1", n)
		}
	})
}
