package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	potp "github.com/pquerna/otp/totp"

	"github.com/authnzrv/authnzrv/client"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// totpPeriod is the step of the codes the server accepts.
const totpPeriod = 30 * time.Second

// pinClock moves the server's clock an hour ahead, to one second into a
// TOTP step, where it stays but for the microseconds each reading adds
// and what the test (or a back-off) moves it by: codes computed by the
// test belong to the step the server sees, whatever the real time does.
func pinClock(e *testEnv) {
	now := time.Now()
	target := now.Add(time.Hour).Truncate(totpPeriod).Add(time.Second)
	e.clock.Sleep(context.Background(), target.Sub(now))
}

// nextStep moves the server's clock on by n TOTP steps.
func nextStep(e *testEnv, n int) {
	e.clock.Sleep(context.Background(), time.Duration(n)*totpPeriod)
}

// backoffs counts the lock-out's back-off waits so far: the clock's
// recorded waits shorter than a step (the test's own moves are longer).
func backoffs(e *testEnv) int {
	n := 0
	for _, d := range e.clock.Slept() {
		if d < totpPeriod {
			n++
		}
	}
	return n
}

// codeAt is the TOTP code of secret at the server's clock plus steps.
func codeAt(t testing.TB, e *testEnv, secret string, steps int) string {
	t.Helper()
	c, err := potp.GenerateCode(secret, e.clock.Now().Add(time.Duration(steps)*totpPeriod))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wrongCode is six digits that are the code of no step the server accepts
// now.
func wrongCode(t testing.TB, e *testEnv, secret string) string {
	t.Helper()
	window := []string{codeAt(t, e, secret, -1), codeAt(t, e, secret, 0), codeAt(t, e, secret, 1)}
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if !slices.Contains(window, c) {
			return c
		}
	}
	t.Fatal("no wrong code found")
	return ""
}

// userSession is a live session of userID.
func (e *testEnv) userSession(userID int64) string {
	e.t.Helper()
	return e.newSession(userID)
}

// totpUser is a verified user with TOTP on: its id, secret and recovery
// codes. The confirmation spends the code of the clock's step.
type totpUser struct {
	id       int64
	email    string
	secret   string
	recovery []string
}

func (e *testEnv) totpUser(email string) totpUser {
	e.t.Helper()
	id := e.verifiedUser(email)
	tok := e.userSession(id)
	r := e.do("user-totp-enroll", map[string]any{"session_token": tok, "password": goodPassword})
	expect(e.t, r, true, "")
	secret := str(r, "secret")
	r = e.do("user-totp-confirm", map[string]any{"session_token": tok, "code": codeAt(e.t, e, secret, 0)})
	expect(e.t, r, true, "")
	var codes []string
	for _, c := range r.Response["recovery_codes"].([]any) {
		codes = append(codes, c.(string))
	}
	return totpUser{id: id, email: email, secret: secret, recovery: codes}
}

// passwordLogin sends user-login with the user's password and returns the
// reply.
func (e *testEnv) passwordLogin(email string) *client.Reply {
	e.t.Helper()
	return e.do("user-login", map[string]any{"session_token": e.newSession(nil), "email": email, "password": goodPassword})
}

// challenge logs in with the password and returns the challenge of the
// "second factor required" reply.
func (e *testEnv) challenge(email string) string {
	e.t.Helper()
	r := e.passwordLogin(email)
	expect(e.t, r, false, "second factor required")
	ch := str(r, "challenge")
	if len(ch) != 43 {
		e.t.Fatalf("challenge %q", ch)
	}
	return ch
}

// loginTOTP sends user-login-totp.
func (e *testEnv) loginTOTP(challenge, code string) *client.Reply {
	e.t.Helper()
	return e.do("user-login-totp", map[string]any{"challenge": challenge, "code": code})
}

// storedSecret reads the user's sealed secret from the database.
func (e *testEnv) storedSecret(userID int64) string {
	e.t.Helper()
	var sealed []string
	err := e.store.DB().NewSelect().Table("totp_secrets").Column("secret").Where("user_id = ?", userID).Scan(context.Background(), &sealed)
	if err != nil || len(sealed) > 1 {
		e.t.Fatalf("stored secrets %v %v", sealed, err)
	}
	if len(sealed) == 0 {
		return ""
	}
	return sealed[0]
}

// keys returns the sorted keys of a reply's response.
func keys(r *client.Reply) []string { return slices.Sorted(maps.Keys(r.Response)) }

// TestTOTPEnrolAndLogin: the whole flow through the Fernet API: enrol
// (secret sealed in the database, otpauth URL, QR code), confirm (10
// recovery codes), user-login answers "second factor required" with a
// challenge, user-login-totp logs in with exactly user-login's keys, a
// code and a challenge work once, a recovery code works once, and disable
// needs the password and a code.
func TestTOTPEnrolAndLogin(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		pinClock(e)
		const email = "second@example.org"
		uid := e.verifiedUser(email)
		plain := e.passwordLogin(email)
		expect(t, plain, true, "", "Login successful.")
		tok := e.userSession(uid)

		// Enrolment needs the session's password.
		expect(t, e.do("user-totp-enroll", map[string]any{"session_token": tok, "password": "wrong password"}),
			false, "user does not exist or password doesn't match", badLogin)
		expect(t, e.do("user-totp-enroll", map[string]any{"session_token": "no-such-session", "password": goodPassword}),
			false, "session does not exist", "No session token provided.")
		r := e.do("user-totp-enroll", map[string]any{"session_token": tok, "password": goodPassword})
		expect(t, r, true, "")
		first := str(r, "secret")
		// A new enrolment replaces one not confirmed.
		r = e.do("user-totp-enroll", map[string]any{"session_token": tok, "password": goodPassword})
		expect(t, r, true, "")
		secret := str(r, "secret")
		if len(secret) != 32 || secret == first || num(r, "user_id") != uid {
			t.Fatalf("enrolment %+v (first secret %q)", r.Response, first)
		}
		u, err := url.Parse(str(r, "otpauth_url"))
		if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/authnzrv:"+email ||
			u.Query().Get("secret") != secret || u.Query().Get("issuer") != "authnzrv" {
			t.Fatalf("otpauth_url %q: %v", str(r, "otpauth_url"), err)
		}
		png, err := base64.StdEncoding.DecodeString(str(r, "qr_png_base64"))
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("qr_png_base64 is not a base64 PNG: %v", err)
		}
		// At rest the secret is sealed: neither it nor its bytes appear.
		sealed := e.storedSecret(uid)
		if !strings.HasPrefix(sealed, "v1.") || strings.Contains(strings.ToUpper(sealed), secret) || strings.Contains(sealed, first) {
			t.Fatalf("stored secret %q holds the plain secret", sealed)
		}
		// Not on yet: the login is unchanged.
		expect(t, e.do("user-totp-status", map[string]any{"user_id": uid}), true, "")
		expect(t, e.passwordLogin(email), true, "", "Login successful.")

		// Confirmation: the replaced secret's codes do not work; the new one's do.
		expect(t, e.do("user-totp-confirm", map[string]any{"session_token": tok, "code": codeAt(t, e, first, 0)}), false, "second factor code invalid")
		r = e.do("user-totp-confirm", map[string]any{"session_token": tok, "code": codeAt(t, e, secret, 0)})
		expect(t, r, true, "")
		codes, _ := r.Response["recovery_codes"].([]any)
		if len(codes) != 10 {
			t.Fatalf("recovery codes %v", r.Response["recovery_codes"])
		}
		expect(t, e.do("user-totp-confirm", map[string]any{"session_token": tok, "code": codeAt(t, e, secret, 1)}),
			false, "no second factor enrolment pending")
		expect(t, e.do("user-totp-enroll", map[string]any{"session_token": tok, "password": goodPassword}),
			false, "second factor already enabled")
		r = e.do("user-totp-status", map[string]any{"user_id": uid})
		if on, _ := r.Response["enabled"].(bool); !r.Success || !on || num(r, "recovery_codes_left") != 10 {
			t.Fatalf("status %+v", r.Response)
		}
		if sealed2 := e.storedSecret(uid); sealed2 != sealed {
			t.Fatal("confirmation changed the stored secret")
		}

		// user-login: the right password now asks for the second factor;
		// the session ends as in every login.
		sess := e.newSession(nil)
		r = e.do("user-login", map[string]any{"session_token": sess, "email": email, "password": goodPassword})
		expect(t, r, false, "second factor required")
		ch := str(r, "challenge")
		if str(r, "second_factor") != "totp" || len(ch) != 43 || r.Response["user_id"] != nil || num(r, "challenge_expires_in") != 300 {
			t.Fatalf("second-factor reply %+v", r.Response)
		}
		if e.do("session-exists", map[string]any{"session_token": sess}).Success {
			t.Fatal("the login's session survived")
		}
		// A wrong password is still a bad login, with no challenge.
		r = e.do("user-login", map[string]any{"session_token": e.newSession(nil), "email": email, "password": "wrong password"})
		expect(t, r, false, "user does not exist or password doesn't match")
		if _, ok := r.Response["challenge"]; ok {
			t.Fatal("a wrong password got a challenge")
		}
		// The confirmation's code is spent.
		expect(t, e.loginTOTP(ch, codeAt(t, e, secret, 0)), false, "second factor code already used")
		nextStep(e, 1)
		code := codeAt(t, e, secret, 0)
		sess = e.newSession(nil)
		r = e.do("user-login-totp", map[string]any{"challenge": ch, "code": code, "session_token": sess})
		expect(t, r, true, "", "Login successful.")
		if num(r, "user_id") != uid || str(r, "user_role") != "authenticated" || !slices.Equal(keys(r), keys(plain)) {
			t.Fatalf("user-login-totp reply %+v, want the keys of %+v", r.Response, plain.Response)
		}
		if e.do("session-exists", map[string]any{"session_token": sess}).Success {
			t.Fatal("user-login-totp kept the session it was given")
		}
		// The challenge and the code work once.
		expect(t, e.loginTOTP(ch, codeAt(t, e, secret, 1)), false, "challenge invalid or expired")
		expect(t, e.loginTOTP(e.challenge(email), code), false, "second factor code already used")

		// A recovery code works once, and is counted.
		rc := codes[4].(string)
		expect(t, e.loginTOTP(e.challenge(email), strings.ToUpper(rc)), true, "", "Login successful.")
		expect(t, e.loginTOTP(e.challenge(email), rc), false, "second factor code invalid")
		if r := e.do("user-totp-status", map[string]any{"user_id": uid}); num(r, "recovery_codes_left") != 9 {
			t.Fatalf("status after a recovery code %+v", r.Response)
		}

		// Challenges expire after five minutes; unknown ones are refused alike.
		ch = e.challenge(email)
		e.clock.Sleep(context.Background(), 5*time.Minute)
		expect(t, e.loginTOTP(ch, codeAt(t, e, secret, 0)), false, "challenge invalid or expired",
			"This login attempt has expired or is not valid. Please log in again.")
		expect(t, e.loginTOTP(strings.Repeat("A", 43), codeAt(t, e, secret, 0)), false, "challenge invalid or expired")

		// Disabling needs the password and a current code (or a recovery code).
		ch = e.challenge(email)
		dis := func(pw, code string) *client.Reply {
			return e.do("user-totp-disable", map[string]any{"session_token": tok, "password": pw, "code": code})
		}
		expect(t, dis("wrong password", codeAt(t, e, secret, 0)), false, "user does not exist or password doesn't match")
		expect(t, dis(goodPassword, wrongCode(t, e, secret)), false, "second factor code invalid")
		expect(t, dis(goodPassword, codes[4].(string)), false, "second factor code invalid")
		expect(t, dis(goodPassword, codes[7].(string)), true, "", "Two-factor authentication is off.")
		expect(t, dis(goodPassword, codeAt(t, e, secret, 0)), false, "second factor not enabled")
		if e.storedSecret(uid) != "" {
			t.Fatal("disable left the secret")
		}
		if r := e.do("user-totp-status", map[string]any{"user_id": uid}); r.Response["enabled"] != false || num(r, "recovery_codes_left") != 0 {
			t.Fatalf("status after disable %+v", r.Response)
		}
		// The waiting challenge went with it, and the password alone logs in.
		expect(t, e.loginTOTP(ch, codeAt(t, e, secret, 0)), false, "challenge invalid or expired")
		r = e.passwordLogin(email)
		expect(t, r, true, "", "Login successful.")
		if !slices.Equal(keys(r), keys(plain)) {
			t.Fatalf("login after disable %+v", r.Response)
		}
		expect(t, e.do("user-totp-status", map[string]any{"user_id": 99999}), false, "user does not exist")
	})
}

// loginCodeCase is one case of testdata/totp/login_codes.json.
type loginCodeCase struct {
	Name string `json:"name"`
	Code struct {
		TOTPStep *int    `json:"totp_step"`
		Literal  *string `json:"literal"`
		Recovery *int    `json:"recovery"`
		Form     string  `json:"form"`
	} `json:"code"`
	SpendFirst *struct {
		Same     bool `json:"same"`
		TOTPStep *int `json:"totp_step"`
	} `json:"spend_first"`
	Reason string `json:"reason"`
}

// recoveryForm writes a recovery code as a case asks.
func recoveryForm(t *testing.T, code, form string) string {
	t.Helper()
	switch form {
	case "as_given":
		return code
	case "upper_spaces":
		return " " + strings.ToUpper(strings.ReplaceAll(code, "-", " ")) + " "
	case "no_dashes":
		return strings.ReplaceAll(code, "-", "")
	case "lookalikes":
		return strings.NewReplacer("0", "O", "1", "l").Replace(code)
	case "one_symbol_changed":
		b := []byte(code)
		if b[0] == 'a' {
			b[0] = 'b'
		} else {
			b[0] = 'a'
		}
		return string(b)
	}
	t.Fatalf("unknown form %q", form)
	return ""
}

// TestLoginTOTPCodes runs the cases of testdata/totp/login_codes.json:
// which codes user-login-totp accepts, each for a user of its own.
func TestLoginTOTPCodes(t *testing.T) {
	b, err := os.ReadFile("../testdata/totp/login_codes.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []loginCodeCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) < 10 {
		t.Fatalf("%d cases", len(file.Cases))
	}
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		pinClock(e)
		users := make([]totpUser, len(file.Cases))
		for i := range file.Cases {
			users[i] = e.totpUser(strings.ReplaceAll(file.Cases[i].Name, " ", ".")[:5] + strconv.Itoa(i) + "@example.org")
		}
		nextStep(e, 3) // the confirmation step is out of the window
		for i, c := range file.Cases {
			t.Run(c.Name, func(t *testing.T) {
				u := users[i]
				code := ""
				switch {
				case c.Code.TOTPStep != nil:
					code = codeAt(t, e, u.secret, *c.Code.TOTPStep)
				case c.Code.Literal != nil:
					code = *c.Code.Literal
				case c.Code.Recovery != nil:
					rc := u.recovery[*c.Code.Recovery]
					if c.Code.Form == "lookalikes" && !strings.ContainsAny(rc, "01") {
						for _, other := range u.recovery {
							if strings.ContainsAny(other, "01") {
								rc = other
								break
							}
						}
					}
					code = recoveryForm(t, rc, c.Code.Form)
				default:
					t.Fatal("case without a code")
				}
				if c.SpendFirst != nil {
					first := code
					if c.SpendFirst.TOTPStep != nil {
						first = codeAt(t, e, u.secret, *c.SpendFirst.TOTPStep)
					}
					expect(t, e.loginTOTP(e.challenge(u.email), first), true, "")
				}
				r := e.loginTOTP(e.challenge(u.email), code)
				expect(t, r, c.Reason == "", c.Reason)
				if c.Reason == "" && num(r, "user_id") != u.id {
					t.Fatalf("logged in as %v, want %d", r.Response["user_id"], u.id)
				}
			})
		}
	})
}

// TestLoginTOTPLockout: wrong codes count towards the lock-out like wrong
// passwords, across password logins (a right password neither counts nor
// clears the count); the failure reaching the limit locks the user and
// drops their challenges; a success resets the count; a user deactivated
// while a challenge waits does not get in.
func TestLoginTOTPLockout(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db, withLockout(3, time.Hour))
		pinClock(e)
		u := e.totpUser("locked.totp@example.org")
		nextStep(e, 3)

		// A success resets the count: two wrong codes, a right one, two wrong again.
		ch := e.challenge(u.email)
		for range 2 {
			expect(t, e.loginTOTP(ch, wrongCode(t, e, u.secret)), false, "second factor code invalid")
		}
		expect(t, e.loginTOTP(ch, codeAt(t, e, u.secret, 0)), true, "")
		nextStep(e, 1)
		ch = e.challenge(u.email)
		for range 2 {
			expect(t, e.loginTOTP(ch, wrongCode(t, e, u.secret)), false, "second factor code invalid")
		}
		// A new password login does not clear the two failures; the
		// third wrong code locks the user.
		ch2 := e.challenge(u.email)
		if n := backoffs(e); n != 4 {
			t.Fatalf("%d back-off waits, want 4 (one per wrong code)", n)
		}
		expect(t, e.loginTOTP(ch2, wrongCode(t, e, u.secret)), false, "second factor code invalid")
		usr, err := e.store.UserByID(context.Background(), u.id)
		if err != nil || usr.UserRole != "locked" || usr.IsActive {
			t.Fatalf("user after the third wrong code: %+v %v", usr, err)
		}
		// The lock-out dropped both challenges: the right code does not
		// help, and the password answers with the lock-out.
		for _, c := range []string{ch, ch2} {
			expect(t, e.loginTOTP(c, codeAt(t, e, u.secret, 0)), false, "challenge invalid or expired")
		}
		r := e.passwordLogin(u.email)
		if r.Success || r.Reason() != "" || !messagesEqual(r.Messages, "Your user account has been locked after repeated login failures. Try again in an hour or contact the server admins.") {
			t.Fatalf("locked user's password login: %+v", r)
		}
		// When the lock-out ends, the user logs in again with both factors.
		e.sql("UPDATE lockouts SET unlock_at = ?", time.Now().UTC().Add(-time.Second))
		expect(t, e.loginTOTP(e.challenge(u.email), codeAt(t, e, u.secret, 0)), true, "", "Login successful.")

		// A user deactivated while a challenge waits does not get in.
		nextStep(e, 1)
		ch = e.challenge(u.email)
		e.sql("UPDATE users SET is_active = ? WHERE user_id = ?", false, u.id)
		expect(t, e.loginTOTP(ch, codeAt(t, e, u.secret, 0)), false, "user exists but is inactive")
	})
}

// TestTOTPDisableCountsWrongCodes: user-totp-disable's wrong codes count
// towards the lock-out too; its password check does not.
func TestTOTPDisableCountsWrongCodes(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db, withLockout(3, time.Hour))
		pinClock(e)
		u := e.totpUser("disable.lock@example.org")
		tok := e.userSession(u.id)
		dis := func(pw, code string) *client.Reply {
			return e.do("user-totp-disable", map[string]any{"session_token": tok, "password": pw, "code": code})
		}
		for range 3 {
			expect(t, dis("wrong password", wrongCode(t, e, u.secret)), false, "user does not exist or password doesn't match")
		}
		if n := backoffs(e); n != 0 {
			t.Fatalf("wrong passwords at disable backed off %d times", n)
		}
		for range 2 {
			expect(t, dis(goodPassword, wrongCode(t, e, u.secret)), false, "second factor code invalid")
		}
		if n := backoffs(e); n != 2 {
			t.Fatalf("%d back-off waits, want 2", n)
		}
		nextStep(e, 1)
		expect(t, dis(goodPassword, codeAt(t, e, u.secret, 0)), true, "")
	})
}

// TestLoginTOTPCodeRace: one code sent at once on several challenges (and
// one recovery code likewise) logs in once; the others are told it was
// used.
func TestLoginTOTPCodeRace(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		pinClock(e)
		u := e.totpUser("race.totp@example.org")
		nextStep(e, 1)
		for _, code := range []string{codeAt(t, e, u.secret, 0), u.recovery[0]} {
			const n = 4
			challenges := make([]string, n)
			for i := range challenges {
				challenges[i] = e.challenge(u.email)
			}
			replies := make([]*client.Reply, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r, err := e.c.Do(context.Background(), "user-login-totp", map[string]any{"challenge": challenges[i], "code": code})
					if err != nil {
						t.Error(err)
						return
					}
					replies[i] = r
				}()
			}
			wg.Wait()
			wins := 0
			for _, r := range replies {
				switch {
				case r == nil:
				case r.Success:
					wins++
				case r.Reason() != "second factor code already used" && r.Reason() != "second factor code invalid":
					t.Errorf("raced code %q: %+v", code, r)
				}
			}
			if wins != 1 {
				t.Fatalf("code %q logged in %d times, want once", code, wins)
			}
		}
	})
}
