package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/identity/identitytest"
	"github.com/authnzrv/authnzrv/identity/validate"
)

type q = map[string]any

func TestPasswordChangeChecklist(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		uid := e.verifiedUser("cp@example.org")
		sess := e.newSession(uid)
		base := func(over q) q {
			b := q{"user_id": uid, "session_token": sess, "full_name": "Test User", "email": "cp@example.org",
				"current_password": goodPassword, "new_password": "zQ8#kd93LmA0pX2v"}
			for k, v := range over {
				b[k] = v
			}
			return b
		}
		cases := []struct {
			name    string // checklist item
			request string
			body    q
			reason  string
			last    string
		}{
			{"123 wrong current", "user-changepass", base(q{"current_password": "nope"}), "user password does not match", "Your current password did not match the stored password."},
			{"124 unchanged", "user-changepass", base(q{"new_password": goodPassword}), "password did not change", "Your new password cannot be the same as your old password."},
			{"125 e-mail mismatch", "user-changepass", base(q{"email": "other@example.org"}), "user does not exist", "Your current password did not match the stored password."},
			{"126 insecure", "user-changepass", base(q{"new_password": "password"}), "new password is insecure", "The new password you entered is insecure. It must be at least 12 characters long and be sufficiently complex."},
			{"127 unknown session (quirk #17 fixed)", "user-changepass", base(q{"session_token": "nope"}), "invalid session for password change", "Your session is not valid for this password change request."},
			{"127 another user's session", "user-changepass", base(q{"session_token": e.newSession(1)}), "invalid session for password change", ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do(tc.request, tc.body)
				expect(t, r, false, tc.reason)
				if tc.last != "" && r.Messages[len(r.Messages)-1] != tc.last {
					t.Fatalf("messages %q", r.Messages)
				}
				if num(r, "user_id") != uid || str(r, "email") != tc.body["email"] {
					t.Fatalf("echo %+v", r.Response)
				}
			})
		}
		// 128: the no-session variant leaves sessions alone.
		r := e.do("user-changepass-nosession", q{"user_id": uid, "full_name": "Test User", "email": "cp@example.org",
			"current_password": goodPassword, "new_password": "zQ8#kd93LmA0pX2v"})
		expect(t, r, true, "", "Password changed successfully.")
		if !e.do("session-exists", q{"session_token": sess}).Success {
			t.Fatal("changepass-nosession ended a session")
		}
	})
}

func TestPasswordResetChecklist(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		uid := e.verifiedUser("rp@example.org")
		locked := e.signup("rl@example.org")
		anon := e.newSession(nil)
		// Without a recorded forgot-password mail nothing resets.
		r := e.do("user-resetpass", q{"email_address": "rp@example.org", "new_password": "zQ8#kd93LmA0pX2v", "session_token": anon})
		expect(t, r, false, "no password reset was requested for this user", "Invalid user for password reset request.")
		for _, em := range []string{"rp@example.org", "rl@example.org"} {
			expect(t, e.do("user-set-emailsent", q{"email": em, "email_type": "forgotpass"}), true, "", "Email sent notification request succeeded.")
		}
		// 129
		r = e.do("user-resetpass", q{"email_address": "rp@example.org", "new_password": "zQ8#kd93LmA0pX2v", "session_token": "nope"})
		expect(t, r, false, "session does not exist", "Invalid session token for password reset request.")
		// 131
		r = e.do("user-resetpass", q{"email_address": "rp@example.org", "new_password": "password", "session_token": anon})
		expect(t, r, false, "invalid password")
		if r.Messages[0] != "Insecure password for password reset request." {
			t.Fatalf("messages %q", r.Messages)
		}
		r = e.do("user-resetpass", q{"email_address": "nobody@example.org", "new_password": "zQ8#kd93LmA0pX2v", "session_token": anon})
		expect(t, r, false, "user does not exist", "Invalid user for password reset request.")
		// 130
		r = e.do("user-resetpass", q{"email_address": "rp@example.org", "new_password": "zQ8#kd93LmA0pX2v", "session_token": anon})
		expect(t, r, true, "", "Password changed successfully.")
		// 132
		r = e.do("user-resetpass-nosession", q{"email_address": "rl@example.org", "new_password": "zQ8#kd93LmA0pX2v", "required_active": true})
		expect(t, r, false, "user does not exist or is_active was not as required", "Invalid user for password reset request.")
		// 134
		r = e.do("user-resetpass-nosession", q{"email_address": "rl@example.org", "new_password": "password", "required_active": false})
		expect(t, r, false, "invalid new password")
		if r.Messages[0] != "Insecure new password for password reset request." {
			t.Fatalf("messages %q", r.Messages)
		}
		// 133: stays inactive.
		r = e.do("user-resetpass-nosession", q{"email_address": "rl@example.org", "new_password": "zQ8#kd93LmA0pX2v", "required_active": false})
		expect(t, r, true, "", "Password changed successfully.")
		r = e.do("user-list", q{"user_id": locked})
		if u := r.Response["user_info"].([]any)[0].(map[string]any); u["is_active"] != false || u["user_role"] != "locked" {
			t.Fatalf("user after reset %v", u)
		}
		_ = uid
		// 170: set-emailsent failures.
		expect(t, e.do("user-set-emailsent", q{"email": "rp@example.org", "email_type": "other"}), false, "invalid request: invalid email_type requested", "Invalid email sent notification request.")
		expect(t, e.do("user-set-emailsent", q{"email": "nobody@example.org", "email_type": "signup"}), false, "could not update the email sent status in DB", "Email sent notification request failed.")
	})
}

func TestValidatePassChecklist(t *testing.T) {
	e := newEnv(t, identitytest.SQLite(t), withPolicy(func(p *validate.Policy) { p.MaxUnsafeSimilarity = 33 }))
	cases := []struct {
		name string // checklist item
		body q
		ok   bool
		msg  string
	}{
		{"135 kwargs cannot weaken the policy", q{"password": "aB3$xY9!", "email": "v@example.org", "full_name": "Test User", "min_pass_length": 4}, false, "Your password is too short. It must have at least 12 characters."},
		{"136 strong", q{"password": goodPassword, "email": "v@example.org", "full_name": "Test User"}, true, ""},
		{"138 frequency", q{"password": "aaaaaaaaaaaaBcD1", "email": "v@example.org", "full_name": "Test User"}, false, "Your password is not complex enough. One or more characters appear appear too frequently."},
		{"139 squeezed whitespace", q{"password": strings.Repeat(" ", 12) + "ab", "email": "v@example.org", "full_name": "Test User"}, false, "Your password is too short. It must have at least 12 characters."},
		{"114 similar to the name", q{"password": "TestUser123", "email": "v@example.org", "full_name": "Test User"}, false, "Your password is too similar to either the domain name of this server or your own name or email address."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("user-validatepass", tc.body)
			if tc.ok {
				expect(t, r, true, "")
				if len(r.Messages) != 0 {
					t.Fatalf("messages %q", r.Messages)
				}
				return
			}
			expect(t, r, false, "password is insecure or invalid")
			if !strings.Contains(strings.Join(r.Messages, "|"), tc.msg) {
				t.Fatalf("messages %q lack %q", r.Messages, tc.msg)
			}
		})
	}
}

func TestAdminChecklist(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		u4 := e.verifiedUser("four@example.org")
		u5 := e.verifiedUser("five@example.org")
		s4 := e.newSession(u4)
		s1 := e.newSession(1)
		edit := func(uid any, role, sess string, target any, upd q) q {
			return q{"user_id": uid, "user_role": role, "session_token": sess, "target_userid": target, "update_dict": upd}
		}
		lock := func(uid any, role, sess string, target any, action string) q {
			return q{"user_id": uid, "user_role": role, "session_token": sess, "target_userid": target, "action": action}
		}
		cases := []struct {
			name, request string // checklist item
			body          q
			ok            bool
			reason, msg   string
		}{
			{"143 lookup by role", "user-lookup-match", q{"by": "user_role", "match": "superuser"}, true, "", "User look up successful."},
			{"145 extra_info needs a dict", "user-lookup-match", q{"by": "extra_info", "match": "x"}, false, "invalid request: 'by' is 'extra_info' but 'match' is not a dict or 'match' is a dict and 'by' is not 'extra_info'", "Invalid match condition provided."},
			{"146 unknown column", "user-lookup-match", q{"by": "no_such_column", "match": 1}, false, "exception in DB access", "User look up failed."},
			{"quirk #21 no password lookups", "user-lookup-match", q{"by": "password", "match": "x"}, false, "exception in DB access", "User look up failed."},
			{"147 self edit", "user-edit", edit(u4, "authenticated", s4, u4, q{"full_name": "New Name"}), true, "", "User update successful."},
			{"148 self role change", "user-edit", edit(u4, "authenticated", s4, u4, q{"user_role": "superuser"}), false, "role 'authenticated' can't edit anything other than 'full_name', 'email'", "extra elements in update_dict not allowed"},
			{"149 system user", "user-edit", edit(1, "superuser", s1, 2, q{"full_name": "x"}), false, "invalid request: can't edit anonymous/locked users", "Editing anonymous/locked user accounts not allowed."},
			{"150 unknown role", "user-edit", edit(1, "superuser", s1, u4, q{"user_role": "wizard"}), false, "role change requested is not valid", "unknown role change request in update_dict"},
			{"151 password", "user-edit", edit(1, "superuser", s1, u4, q{"password": "x"}), false, "role: 'superuser' is not allowed to edit items: '['password']'", "extra elements in update_dict not allowed"},
			{"152 other user", "user-edit", edit(u4, "authenticated", s4, u5, q{"full_name": "x"}), false, "invalid session for edit attempt", "user_id or session info not available for this user edit attempt."},
			{"153 another's session", "user-edit", edit(u4, "authenticated", s1, u4, q{"full_name": "x"}), false, "no valid session found for originating user_id", "User session info not available for this user edit attempt."},
			{"154 missing target", "user-edit", edit(1, "superuser", s1, 999, q{"full_name": "x"}), false, "exception when trying to update user", "User update failed."},
			{"quirk #22 bad e-mail", "user-edit", edit(1, "superuser", s1, u4, q{"email": "not an email"}), false, "invalid value for 'email' in update_dict", "User update failed."},
			{"155 not superuser", "user-lock", lock(u4, "authenticated", s4, u5, "lock"), false, "user role is not 'superuser', required to toggle locks", "You don't have lock/unlock privileges."},
			{"155 self", "user-lock", lock(1, "superuser", s1, 1, "lock"), false, "can't toggle a lock state on self", "You can't lock/unlock your own user account."},
			{"155 freeze", "user-lock", lock(1, "superuser", s1, u5, "freeze"), false, "action must be one of 'lock', 'unlock'", "Unknown action requested for toggle_user_lock."},
			{"155 target 3", "user-lock", lock(1, "superuser", s1, 3, "lock"), false, "can't toggle lock state for system anonymous/locked accounts", "Editing anonymous/locked user accounts not allowed."},
			{"155 bad session", "user-lock", lock(1, "superuser", "nope", u5, "lock"), false, "invalid session for user attempting lock toggle", "Superuser session info not available for this user edit attempt."},
			{"159 internal lock of 3", "internal-user-lock", q{"target_userid": 3, "action": "lock"}, false, "can't edit anonymous/locked users", "Editing anonymous/locked user accounts not allowed."},
			{"159 missing user", "internal-user-lock", q{"target_userid": 999, "action": "lock"}, false, "exception encountered when trying lock toggle action", "User lock toggle failed."},
			{"164 empty update", "internal-user-edit", q{"target_userid": u5, "update_dict": q{}}, false, "invalid request: missing 'update_dict' in request", "Invalid user-edit request: missing or invalid parameters."},
			{"163 disallowed keys", "internal-user-edit", q{"target_userid": u5, "update_dict": q{"user_id": 10, "system_id": "pwned", "password": "pwnedx2"}}, false, "invalid request: disallowed keys in update_dict: {'password', 'system_id', 'user_id'}", "Invalid edit-user request: invalid update parameters."},
			{"164 no such user", "internal-user-edit", q{"target_userid": 999, "update_dict": q{"full_name": "x"}}, false, "no such user", "User info update failed."},
			{"164 unknown role", "internal-user-edit", q{"target_userid": u5, "update_dict": q{"user_role": "wizard"}}, false, "DB error when updating user info", "User info update failed."},
			{"161 delete missing id", "internal-user-delete", q{"target_userid": 999}, true, "", "User successfully deleted from DB."},
			{"quirk #23 system user", "internal-user-delete", q{"target_userid": 2}, false, "can't delete the system anonymous/locked users", "Could not delete user from DB."},
			{"quirk #23 last superuser", "internal-user-delete", q{"target_userid": 1}, false, "can't delete the last superuser", "Could not delete user from DB."},
			{"160 superuser self-delete", "user-delete", q{"email": adminEmail, "user_id": 1, "password": adminPassword}, false, "can't delete superusers", "Can't delete superusers."},
			{"160 wrong password", "user-delete", q{"email": "five@example.org", "user_id": u5, "password": "nope"}, false, "invalid password", "We could not verify your email address or password."},
			{"160 id/e-mail mismatch", "user-delete", q{"email": "four@example.org", "user_id": u5, "password": goodPassword}, false, "invalid email", "We could not verify your email address or password."},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				expect(t, e.do(tc.request, tc.body), tc.ok, tc.reason, tc.msg)
			})
		}
		// 144: extra_info lookups.
		r := e.do("user-lookup-match", q{"by": "extra_info", "match": q{"type": "system-user"}})
		expect(t, r, true, "")
		if l := r.Response["user_info"].([]any); len(l) != 2 || l[0].(map[string]any)["user_id"] != 1.0 || l[1].(map[string]any)["user_id"] != 2.0 {
			t.Fatalf("extra_info lookup %v", l)
		}
		// 156, 157, 158: lock a staff user, sessions end; unlock restores staff.
		expect(t, e.do("internal-user-edit", q{"target_userid": u5, "update_dict": q{"user_role": "staff"}}), true, "")
		s5 := e.newSession(u5)
		r = e.do("user-lock", lock(1, "superuser", s1, u5, "lock"))
		expect(t, r, true, "", "User lock toggle successful.")
		info := r.Response["user_info"].(map[string]any)
		prev, _ := info["extra_info"].(map[string]any)["previous_user_roles"].([]any)
		if info["user_role"] != "locked" || info["is_active"] != false || len(prev) == 0 || prev[len(prev)-1] != "staff" {
			t.Fatalf("locked user %v", info)
		}
		if e.do("session-exists", q{"session_token": s5}).Success {
			t.Fatal("lock did not end the user's sessions")
		}
		r = e.do("internal-user-lock", q{"target_userid": u5, "action": "lock"})
		expect(t, r, true, "")
		r = e.do("internal-user-lock", q{"target_userid": u5, "action": "unlock"})
		if info := r.Response["user_info"].(map[string]any); info["user_role"] != "staff" || info["is_active"] != true {
			t.Fatalf("unlocked user %v", info)
		}
		expect(t, e.do("user-passcheck-nosession", q{"email": "five@example.org", "password": goodPassword}), true, "")
		// 162: internal edit with __delete__.
		e.do("internal-user-edit", q{"target_userid": u4, "update_dict": q{"extra_info": q{"pref_advancedbits": 1}}})
		r = e.do("internal-user-edit", q{"target_userid": u4, "update_dict": q{
			"extra_info": q{"this": "is", "a": "test", "pref_thing_always_private": false, "pref_advancedbits": "__delete__"},
			"is_active":  true, "email_verified": true, "full_name": "Test Middle Named User"}})
		expect(t, r, true, "", "User-info update successful.")
		x := r.Response["user_info"].(map[string]any)["extra_info"].(map[string]any)
		if _, has := x["pref_advancedbits"]; has || x["this"] != "is" || x["pref_thing_always_private"] != false {
			t.Fatalf("extra_info %v", x)
		}
		// 160: a user deletes themself; their sessions go too.
		s4 = e.newSession(u4)
		expect(t, e.do("user-delete", q{"email": "four@example.org", "user_id": u4, "password": goodPassword}), true, "", "User successfully deleted from DB.")
		if e.do("session-exists", q{"session_token": s4}).Success {
			t.Fatal("deleted user's session survived")
		}
		_ = time.Second
	})
}
