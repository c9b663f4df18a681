package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/authnzrv/authnzrv/identity/identitytest"
	"github.com/authnzrv/authnzrv/identity/password"
)

const badLogin = "Sorry, that user ID and password combination didn't work."

func TestUserLogin(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		login := func(tok, email, pw string) map[string]any {
			return map[string]any{"session_token": tok, "email": email, "password": pw}
		}
		// 82: success; the presented session is gone.
		tok := e.newSession(nil)
		r := e.do("user-login", login(tok, adminEmail, adminPassword))
		expect(t, r, true, "", "Login successful.")
		if num(r, "user_id") != 1 || str(r, "user_role") != "superuser" {
			t.Fatalf("login reply %+v", r.Response)
		}
		if e.do("session-exists", map[string]any{"session_token": tok}).Success {
			t.Fatal("login did not delete the presented session")
		}
		// 83
		r = e.do("user-login", login("no-such-session", adminEmail, adminPassword))
		expect(t, r, false, "session does not exist", "No session token provided.")
		if v, ok := r.Response["user_id"]; !ok || v != nil {
			t.Fatal("user_id must be null")
		}
		// 84: wrong password, session deleted.
		tok = e.newSession(nil)
		r = e.do("user-login", login(tok, adminEmail, "wrong password"))
		expect(t, r, false, "user does not exist or password doesn't match", badLogin)
		if e.do("session-exists", map[string]any{"session_token": tok}).Success {
			t.Fatal("failed login did not delete the presented session")
		}
		// unknown user
		r = e.do("user-login", login(e.newSession(nil), "nobody@example.org", "whatever"))
		expect(t, r, false, "user does not exist or password doesn't match", badLogin)
		// 85: unverified sign-up.
		e.signup("fresh@example.org")
		r = e.do("user-login", login(e.newSession(nil), "fresh@example.org", goodPassword))
		expect(t, r, false, "user does not exist or password doesn't match", badLogin)
		// 121: after verification it works, role authenticated.
		e.do("user-set-emailverified", map[string]any{"email": "fresh@example.org"})
		r = e.do("user-login", login(e.newSession(nil), "fresh@example.org", goodPassword))
		expect(t, r, true, "", "Login successful.")
		if str(r, "user_role") != "authenticated" {
			t.Fatalf("role %q", str(r, "user_role"))
		}
		// 86 (changed by issue 13, finding 10): the e-mail of a login is
		// normalised as sign-up stores it, so another spelling logs in.
		r = e.do("user-login", login(e.newSession(nil), "FRESH@Example.ORG", goodPassword))
		expect(t, r, true, "", "Login successful.")
		// verified, active, role locked → "user exists but is inactive"
		e.sql("UPDATE users SET user_role = 'locked' WHERE email = ?", "fresh@example.org")
		r = e.do("user-login", login(e.newSession(nil), "fresh@example.org", goodPassword))
		expect(t, r, false, "user exists but is inactive", badLogin)
		if num(r, "user_id") < 4 {
			t.Fatalf("user_id %v", r.Response["user_id"])
		}
		// 87: deactivated user, right password.
		e.sql("UPDATE users SET is_active = ? WHERE email = ?", false, "fresh@example.org")
		r = e.do("user-login", login(e.newSession(nil), "fresh@example.org", goodPassword))
		expect(t, r, false, "user does not exist or password doesn't match")
	})
}

func TestLoginRehashAndTruncation(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		// 90: a 300-character password; its first 256 characters log in.
		long := strings.Repeat("aB3$xY9!qW", 30)
		r := e.do("user-new", map[string]any{"full_name": "Long Pass", "email": "long@example.org", "password": long})
		expect(t, r, true, "")
		e.do("user-set-emailverified", map[string]any{"email": "long@example.org"})
		r = e.do("user-login", map[string]any{"session_token": e.newSession(nil), "email": "long@example.org", "password": long[:256]})
		expect(t, r, true, "", "Login successful.")

		// 89: a hash with other parameters is replaced on login.
		old := testParams()
		old.Time = 2
		oldHasher, err := password.NewHasher(password.Options{Params: old})
		if err != nil {
			t.Fatal(err)
		}
		h, err := oldHasher.Hash(context.Background(), adminPassword)
		if err != nil {
			t.Fatal(err)
		}
		e.sql("UPDATE users SET password = ? WHERE user_id = 1", h)
		if !e.hasher.NeedsRehash(h) {
			t.Fatal("test set-up: the old hash should need a rehash")
		}
		r = e.do("user-login", map[string]any{"session_token": e.newSession(nil), "email": adminEmail, "password": adminPassword})
		expect(t, r, true, "")
		u, err := e.store.UserByID(context.Background(), 1)
		if err != nil {
			t.Fatal(err)
		}
		if u.Password == h || e.hasher.NeedsRehash(u.Password) {
			t.Fatalf("hash not upgraded: %s", u.Password)
		}
		r = e.do("user-login", map[string]any{"session_token": e.newSession(nil), "email": adminEmail, "password": adminPassword})
		expect(t, r, true, "")
	})
}

func TestUserLogout(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		tok := e.newSession(1)
		// 92: another user's id: failure, session kept.
		r := e.do("user-logout", map[string]any{"session_token": tok, "user_id": 2})
		expect(t, r, false, "user does not exist", "Logout failed. Invalid session_token for user_id.")
		if num(r, "user_id") != 2 || !e.do("session-exists", map[string]any{"session_token": tok}).Success {
			t.Fatalf("reply %+v / session must survive", r.Response)
		}
		// 91
		r = e.do("user-logout", map[string]any{"session_token": tok, "user_id": 1})
		expect(t, r, true, "", "Logout successful.")
		if num(r, "user_id") != 1 || e.do("session-exists", map[string]any{"session_token": tok}).Success {
			t.Fatal("logout did not delete the session")
		}
		// 93
		r = e.do("user-logout", map[string]any{"session_token": tok, "user_id": 1})
		expect(t, r, false, "session does not exist", "Logout failed. Invalid session_token for user_id.")
		// 31 (changed by issue 13, finding 8): a boolean no longer passes
		// the int rule; the reply lists the problem.
		r = e.do("user-logout", map[string]any{"session_token": tok, "user_id": true})
		expect(t, r, false, "")
		if !strings.Contains(fmt.Sprint(r.Response["response"]), "param:user_id problem:incorrect type") {
			t.Fatalf("reply %+v", r.Response)
		}
	})
}

func TestUserPasscheck(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		tok := e.newSession(1)
		// 94
		r := e.do("user-passcheck", map[string]any{"session_token": tok, "password": adminPassword})
		expect(t, r, true, "", "Verification successful.")
		if num(r, "user_id") != 1 || str(r, "user_role") != "superuser" || !e.do("session-exists", map[string]any{"session_token": tok}).Success {
			t.Fatalf("passcheck reply %+v or session gone", r.Response)
		}
		// 95
		r = e.do("user-passcheck", map[string]any{"session_token": tok, "password": "nope"})
		expect(t, r, false, "user does not exist or password doesn't match", badLogin)
		if v, ok := r.Response["user_id"]; !ok || v != nil {
			t.Fatal("user_id must be null")
		}
		r = e.do("user-passcheck", map[string]any{"session_token": "missing", "password": "nope"})
		expect(t, r, false, "session does not exist", "No session token provided.")
		// 96: inactive user, right password.
		id := e.verifiedUser("pc@example.org")
		utok := e.newSession(id)
		e.sql("UPDATE users SET is_active = ? WHERE user_id = ?", false, id)
		r = e.do("user-passcheck", map[string]any{"session_token": utok, "password": goodPassword})
		expect(t, r, false, "user exists but is inactive", badLogin)
		if num(r, "user_id") != id {
			t.Fatalf("user_id %v", r.Response["user_id"])
		}
	})
}

func TestUserPasscheckNoSession(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		// 97
		r := e.do("user-passcheck-nosession", map[string]any{"email": adminEmail, "password": adminPassword})
		expect(t, r, true, "", "Verification successful.")
		if num(r, "user_id") != 1 || str(r, "user_role") != "superuser" {
			t.Fatalf("reply %+v", r.Response)
		}
		r = e.do("user-passcheck-nosession", map[string]any{"email": adminEmail, "password": "bad"})
		expect(t, r, false, "user does not exist or password doesn't match", badLogin)
		r = e.do("user-passcheck-nosession", map[string]any{"email": "nobody@example.org", "password": "bad"})
		expect(t, r, false, "user does not exist or password doesn't match", badLogin)
		// 98: a locked (unverified sign-up) user with the right password.
		id := e.signup("locked@example.org")
		r = e.do("user-passcheck-nosession", map[string]any{"email": "locked@example.org", "password": goodPassword})
		expect(t, r, false, "user exists but is inactive", badLogin)
		if num(r, "user_id") != id {
			t.Fatalf("user_id %v", r.Response["user_id"])
		}
	})
}
