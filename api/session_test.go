package api_test

import (
	"regexp"
	"testing"

	"github.com/authnzrv/authnzrv/identity/identitytest"
)

var tokenRe = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

func TestSessionNew(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		const dbErr = "DB error when making new session"
		cases := []struct {
			name        string // checklist item
			body        map[string]any
			ok          bool
			wantExpires string
			wantIP      string
			wantUser    int64
		}{
			{"65 fraction echoed", map[string]any{"expires": "2030-01-01T00:00:00.000001"}, true, "2030-01-01T00:00:00.000001", "203.0.113.7", 2},
			{"66 no fraction", map[string]any{"expires": "2030-01-01T00:00:00"}, false, "", "", 0},
			{"67 Z removed", map[string]any{"expires": "2030-01-01T00:00:00.5Z"}, true, "2030-01-01T00:00:00.500000", "203.0.113.7", 2},
			{"68 zero fraction omitted", map[string]any{"expires": "2030-01-01T00:00:00.000000"}, true, "2030-01-01T00:00:00", "203.0.113.7", 2},
			{"69 offset refused", map[string]any{"expires": "2030-01-01T00:00:00.000000+00:00"}, false, "", "", 0},
			{"single digit fields", map[string]any{"expires": "2030-1-2T3:4:5.6"}, true, "2030-01-02T03:04:05.600000", "203.0.113.7", 2},
			{"70 bad ip", map[string]any{"ip_address": "not-an-ip"}, false, "", "", 0},
			{"71 mapped ipv6", map[string]any{"ip_address": "::FFFF:1.2.3.4"}, true, "2030-01-01T00:00:00.000001", "::ffff:102:304", 2},
			{"71 ipv6 lower-cased", map[string]any{"ip_address": "2001:DB8::1"}, true, "2030-01-01T00:00:00.000001", "2001:db8::1", 2},
			{"72 unknown user", map[string]any{"user_id": 999}, false, "", "", 0},
			{"30 non-int user", map[string]any{"user_id": "abc"}, false, "", "", 0},
			{"64 user 0 is anonymous", map[string]any{"user_id": 0}, true, "2030-01-01T00:00:00.000001", "203.0.113.7", 2},
			{"64 user false is anonymous", map[string]any{"user_id": false}, true, "2030-01-01T00:00:00.000001", "203.0.113.7", 2},
			{"user 1", map[string]any{"user_id": 1}, true, "2030-01-01T00:00:00.000001", "203.0.113.7", 1},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				body := map[string]any{"ip_address": "203.0.113.7", "user_agent": "UA", "user_id": nil,
					"expires": "2030-01-01T00:00:00.000001", "extra_info_json": nil}
				for k, v := range tc.body {
					body[k] = v
				}
				r := e.do("session-new", body)
				if !tc.ok {
					expect(t, r, false, dbErr, "Could not create a new session.")
					if r.Response["session_token"] != nil || r.Response["expires"] != nil {
						t.Fatalf("failure carries a token or expiry: %+v", r.Response)
					}
					return
				}
				expect(t, r, true, "", "Generated session_token successfully. Session initiated.")
				tok := str(r, "session_token")
				if !tokenRe.MatchString(tok) || str(r, "expires") != tc.wantExpires {
					t.Fatalf("token %q expires %q", tok, str(r, "expires"))
				}
				ex := e.do("session-exists", map[string]any{"session_token": tok})
				info, _ := ex.Response["session_info"].(map[string]any)
				if !ex.Success || info["ip_address"] != tc.wantIP || int64(info["user_id"].(float64)) != tc.wantUser {
					t.Fatalf("session-exists: %+v", ex.Response)
				}
			})
		}
	})
}

func TestSessionExists(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		tok := e.newSession(nil)
		r := e.do("session-exists", map[string]any{"session_token": tok})
		expect(t, r, true, "", "Session look up successful.")
		info := r.Response["session_info"].(map[string]any)
		want := []string{"user_id", "system_id", "full_name", "email", "extra_info", "email_verified",
			"emailverify_sent_datetime", "is_active", "last_login_try", "last_login_success", "created_on",
			"user_role", "session_token", "ip_address", "user_agent", "created", "expires", "extra_info_json"}
		if len(info) != len(want) {
			t.Fatalf("session_info has %d keys, want %d: %v", len(info), len(want), info)
		}
		for _, k := range want {
			if _, ok := info[k]; !ok {
				t.Fatalf("session_info lacks %q", k)
			}
		}
		checks := map[string]any{"user_id": 2.0, "full_name": "The systemwide anonymous user", "email": "anonuser@localhost",
			"email_verified": true, "is_active": true, "last_login_try": nil, "last_login_success": nil,
			"user_role": "anonymous", "session_token": tok, "user_agent": "Mozilla/5.0 test"}
		for k, v := range checks {
			if info[k] != v {
				t.Errorf("session_info[%s] = %v, want %v", k, info[k], v)
			}
		}
		if m, _ := info["extra_info_json"].(map[string]any); m["k"] != "v" {
			t.Errorf("extra_info_json = %v", info["extra_info_json"])
		}

		// 74: an expired session is not found.
		r = e.do("session-new", map[string]any{"ip_address": "10.0.0.1", "user_agent": "UA", "user_id": nil,
			"expires": "2001-01-01T00:00:00.000001", "extra_info_json": nil})
		expect(t, r, true, "")
		r = e.do("session-exists", map[string]any{"session_token": str(r, "session_token")})
		expect(t, r, false, "session does not exist or expired", "Session look up failed.")
		if v, ok := r.Response["session_info"]; !ok || v != nil {
			t.Fatalf("session_info = %v, want null", v)
		}
		r = e.do("session-exists", map[string]any{"session_token": "no-such-token"})
		expect(t, r, false, "session does not exist or expired", "Session look up failed.")
	})
}

func TestSessionDelete(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		tok := e.newSession(nil)
		expect(t, e.do("session-delete", map[string]any{"session_token": tok}), true, "", "Session delete processed, success: True.")
		// 20, 76: again → false, no failure_reason.
		r := e.do("session-delete", map[string]any{"session_token": tok})
		expect(t, r, false, "", "Session delete processed, success: False.")
		if r.FailureReason != nil {
			t.Fatal("top-level failure_reason present")
		}
	})
}

func TestSessionDeleteUserID(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		live := func(toks ...string) []bool {
			var out []bool
			for _, tk := range toks {
				out = append(out, e.do("session-exists", map[string]any{"session_token": tk}).Success)
			}
			return out
		}
		cases := []struct {
			name     string
			keepTok  bool
			keepFlag bool
			want     []bool // s1, s2, s3 alive afterwards
		}{
			{"77 all deleted", false, false, []bool{false, false, false}},
			{"78 keep current", true, true, []bool{false, false, true}},
			// quirk #9 fixed: keep_current_session false deletes the given session too.
			{"79 flag honoured", true, false, []bool{false, false, false}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s1, s2, s3 := e.newSession(1), e.newSession(1), e.newSession(1)
				other := e.newSession(nil)
				tok := ""
				if tc.keepTok {
					tok = s3
				}
				r := e.do("session-delete-userid", map[string]any{"user_id": 1, "session_token": tok, "keep_current_session": tc.keepFlag})
				expect(t, r, true, "", "Sessions delete processed. Success: True.")
				got := live(s1, s2, s3)
				for i := range got {
					if got[i] != tc.want[i] {
						t.Fatalf("alive = %v, want %v", got, tc.want)
					}
				}
				if !live(other)[0] {
					t.Fatal("another user's session was deleted")
				}
				e.do("session-delete", map[string]any{"session_token": s3})
			})
		}
		// 80: nothing to delete → false, no failure_reason.
		r := e.do("session-delete-userid", map[string]any{"user_id": 1, "session_token": "", "keep_current_session": false})
		expect(t, r, false, "", "Sessions delete processed. Success: False.")
	})
}

func TestInternalSessionEdit(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		tok := e.newSession(nil)
		r := e.do("internal-session-edit", map[string]any{"target_session_token": tok, "update_dict": map[string]any{
			"this": "is", "a": "test", "pref_datasets_always_private": false, "k": "__delete__", "nokey": "__delete__"}})
		expect(t, r, true, "", "Session extra_info update successful.")
		info := r.Response["session_info"].(map[string]any)
		x := info["extra_info_json"].(map[string]any)
		if x["this"] != "is" || x["a"] != "test" || x["pref_datasets_always_private"] != false {
			t.Fatalf("extra_info_json = %v", x)
		}
		if _, ok := x["k"]; ok {
			t.Fatal("__delete__ did not remove an existing key")
		}
		if x["nokey"] != "__delete__" {
			t.Fatal("__delete__ of a missing key must be stored literally (quirk #24, kept)")
		}
		if len(info) != 7 {
			t.Fatalf("session_info has %d keys: %v", len(info), info)
		}
		// 165: visible via session-exists.
		ex := e.do("session-exists", map[string]any{"session_token": tok})
		if ex.Response["session_info"].(map[string]any)["extra_info_json"].(map[string]any)["this"] != "is" {
			t.Fatal("edit not visible via session-exists")
		}
		r = e.do("internal-session-edit", map[string]any{"target_session_token": tok, "update_dict": map[string]any{}})
		expect(t, r, false, "invalid request: missing 'update_dict' in request", "Invalid session edit request: missing or invalid parameters.")
		// 166: expired or unknown session.
		r = e.do("internal-session-edit", map[string]any{"target_session_token": "nope", "update_dict": map[string]any{"a": 1}})
		expect(t, r, false, "no such session", "Session extra_info update failed.")
		if v, ok := r.Response["session_info"]; !ok || v != nil {
			t.Fatal("session_info must be null on failure")
		}
	})
}
