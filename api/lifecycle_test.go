package api_test

import (
	"context"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/api"
	"github.com/authnzrv/authnzrv/identity/identitytest"
	"github.com/authnzrv/authnzrv/identity/mail"
)

const sender = "Authnzrv Test <authnzrv@example.org>"

// mailEnv is a server whose SMTP settings point at an in-process server.
func mailEnv(t *testing.T, db identitytest.DB, ss *smtpServer) *testEnv {
	t.Helper()
	tpl, err := mail.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	user, pass := ss.user, ss.pass
	return newEnv(t, db, withOptions(func(o *api.Options) {
		o.Mail = mail.Settings{Server: ss.Host, Port: ss.Port, Sender: sender, User: &user, Pass: &pass,
			Security: mail.StartTLS, SkipVerify: true, Timeout: 5 * time.Second}
		o.MailTemplates = tpl
	}))
}

var codeRe = regexp.MustCompile(`(?s)Please enter this code:\s+(.+?)\s+into the`)

// bodyText decodes the plain-text part of a received mail.
func bodyText(t *testing.T, raw string) string {
	t.Helper()
	// The plain part is quoted-printable or 7bit; decode soft line breaks.
	dec, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(raw)))
	if err != nil {
		return raw
	}
	return string(dec)
}

func header(raw, name string) string {
	for _, line := range strings.Split(raw, "\r\n") {
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, name) {
			d, err := new(mime.WordDecoder).DecodeHeader(strings.TrimSpace(v))
			if err != nil {
				return strings.TrimSpace(v)
			}
			return d
		}
	}
	return ""
}

func TestAccountLifecycleWithMail(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ss := startSMTP(t, "mailer", "mail secret")
		e := mailEnv(t, db, ss)
		ctx := context.Background()
		const email = "life@example.org"
		// Sign up; the frontend makes a token and asks us to mail it.
		r := e.do("user-new", map[string]any{"full_name": "Life Cycle", "email": email, "password": goodPassword})
		expect(t, r, true, "")
		created := map[string]any{"user_id": r.Response["user_id"], "user_email": email, "send_verification": true}
		anon := e.newSession(nil)
		token := strings.Repeat("tok3n-", 20) // 120 chars: wrapped at 70
		body := map[string]any{"email_address": email, "session_token": anon, "created_info": created,
			"server_name": "Example", "server_baseurl": "https://example.org", "account_verify_url": "/verify",
			"verification_token": token, "verification_expiry": 900}
		r = e.do("user-sendemail-signup", body)
		expect(t, r, true, "", "Verify email sent successfully.")
		if str(r, "email_address") != email || str(r, "emailverify_sent_datetime") == "" {
			t.Fatalf("reply %+v", r.Response)
		}
		got := ss.mails()
		if len(got) != 1 {
			t.Fatalf("%d mails", len(got))
		}
		m := got[0]
		if len(m.To) != 1 || m.To[0] != email || m.From != "authnzrv@example.org" || m.Auth != "mailer" {
			t.Fatalf("envelope %+v", m)
		}
		if s := header(m.Data, "Subject"); s != "[Example] Please verify your account sign up request" {
			t.Fatalf("subject %q", s)
		}
		text := bodyText(t, m.Data)
		match := codeRe.FindStringSubmatch(text)
		if match == nil || strings.ReplaceAll(strings.ReplaceAll(match[1], "\r", ""), "\n", "") != token {
			t.Fatalf("token not found in mail:\n%s", text)
		}
		if !strings.Contains(text, "https://example.org/verify") || !strings.Contains(text, "203.0.113.7") {
			t.Fatalf("link or IP missing:\n%s", text)
		}
		// The frontend checks the token the user typed, then verifies.
		expect(t, e.do("user-set-emailverified", map[string]any{"email": email}), true, "")
		// Log in with a fresh session.
		r = e.do("user-login", map[string]any{"session_token": e.newSession(nil), "email": email, "password": goodPassword})
		expect(t, r, true, "", "Login successful.")
		uid := num(r, "user_id")
		sess := e.newSession(uid)
		other := e.newSession(uid)

		// Change the password: the other session ends, this one stays (122).
		const pw2 = "Tr0ub4dor&3-horse-staple"
		r = e.do("user-changepass", map[string]any{"user_id": uid, "session_token": sess, "full_name": "Life Cycle",
			"email": email, "current_password": goodPassword, "new_password": pw2})
		expect(t, r, true, "", "Password changed successfully.", "For security purposes, you have been logged out of all other sessions.")
		if e.do("session-exists", map[string]any{"session_token": other}).Success || !e.do("session-exists", map[string]any{"session_token": sess}).Success {
			t.Fatal("changepass did not end exactly the other sessions")
		}

		// Forgot password: mail, then reset through a fresh anonymous session.
		anon = e.newSession(nil)
		fbody := map[string]any{"email_address": email, "session_token": anon, "server_name": "Example",
			"server_baseurl": "https://example.org", "password_forgot_url": "/reset", "verification_token": "reset-code-123",
			"verification_expiry": 900}
		r = e.do("user-sendemail-forgotpass", fbody)
		expect(t, r, true, "", "Password reset request sent successfully to ['life@example.org']")
		got = ss.mails()
		if len(got) != 2 || header(got[1].Data, "Subject") != "[Example] Please verify your password reset request" ||
			!strings.Contains(bodyText(t, got[1].Data), "reset-code-123") {
			t.Fatalf("forgot-password mail: %+v", got)
		}
		r = e.do("user-sendemail-forgotpass", fbody)
		expect(t, r, false, "forgot-pass verification email sent less than 24 hours ago")
		const pw3 = "a-new-Secret-after-reset-77"
		r = e.do("user-resetpass", map[string]any{"email_address": email, "new_password": pw3, "session_token": anon})
		expect(t, r, true, "", "Password changed successfully.")
		if e.do("session-exists", map[string]any{"session_token": sess}).Success {
			t.Fatal("reset did not end the user's sessions (quirk #18 fixed)")
		}
		expect(t, e.do("user-passcheck-nosession", map[string]any{"email": email, "password": pw2}), false, "user does not exist or password doesn't match")
		expect(t, e.do("user-passcheck-nosession", map[string]any{"email": email, "password": pw3}), true, "")
		// One reset per mail.
		r = e.do("user-resetpass", map[string]any{"email_address": email, "new_password": "yet-another-Secret-88", "session_token": anon})
		expect(t, r, false, "no password reset was requested for this user")

		// Edit, lock, unlock, delete.
		sess = e.newSession(uid)
		r = e.do("user-edit", map[string]any{"user_id": uid, "user_role": "authenticated", "session_token": sess,
			"target_userid": uid, "update_dict": map[string]any{"full_name": "New Name"}})
		expect(t, r, true, "", "User update successful.")
		admin := e.newSession(1)
		r = e.do("user-lock", map[string]any{"user_id": 1, "user_role": "superuser", "session_token": admin, "target_userid": uid, "action": "lock"})
		expect(t, r, true, "", "User lock toggle successful.")
		expect(t, e.do("user-login", map[string]any{"session_token": e.newSession(nil), "email": email, "password": pw3}), false, "user does not exist or password doesn't match")
		r = e.do("user-lock", map[string]any{"user_id": 1, "user_role": "superuser", "session_token": admin, "target_userid": uid, "action": "unlock"})
		expect(t, r, true, "")
		if info := r.Response["user_info"].(map[string]any); info["user_role"] != "authenticated" || info["is_active"] != true {
			t.Fatalf("unlock: %v", info)
		}
		r = e.do("user-delete", map[string]any{"email": email, "user_id": uid, "password": pw3})
		expect(t, r, true, "", "User successfully deleted from DB.")
		if _, err := e.store.UserByID(ctx, uid); err == nil {
			t.Fatal("user still there")
		}
	})
}

func TestMailFailures(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ss := startSMTP(t, "", "")
		ss.refuseRcpt = true
		e := mailEnv(t, db, ss)
		id := e.verifiedUser("fail@example.org")
		anon := e.newSession(nil)
		fbody := map[string]any{"email_address": "fail@example.org", "session_token": anon, "server_name": "Example",
			"server_baseurl": "https://example.org", "password_forgot_url": "/reset", "verification_token": "code",
			"verification_expiry": 900}
		// A refusing server: clear failure, and no "sent" mark.
		r := e.do("user-sendemail-forgotpass", fbody)
		expect(t, r, false, "forgot-pass verification email could not be sent because email server issue",
			"Could not send email to ['fail@example.org'] for the user password reset request.")
		u, _ := e.store.UserByID(context.Background(), id)
		if u.EmailForgotPassSentDatetime != nil {
			t.Fatal("a refused mail was recorded as sent")
		}
		// An unreachable server (a closed port).
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		fbody["emailport"] = port
		r = e.do("user-sendemail-forgotpass", fbody)
		expect(t, r, false, "forgot-pass verification email could not be sent because email server issue")
		// Null server settings in the request.
		fbody["emailserver"] = nil
		r = e.do("user-sendemail-forgotpass", fbody)
		expect(t, r, false, "missing 'emailserver', 'emailsender', 'emailport' in request", "Invalid email server settings provided. Can't send an email.")

		// Sign-up mail to a refusing server.
		nid := e.signup("new@example.org")
		before, _ := e.store.UserByID(context.Background(), nid)
		sbody := map[string]any{"email_address": "new@example.org", "session_token": anon,
			"created_info": map[string]any{"user_id": nid, "send_verification": true}, "server_name": "Example",
			"server_baseurl": "https://example.org", "server_verify_url": "/verify", "verification_token": "code",
			"verification_expiry": 900}
		r = e.do("user-sendemail-signup", sbody)
		expect(t, r, false, "verification email could not be sent because of an email server problem", "Could not send email for the verify email request.")
		after, _ := e.store.UserByID(context.Background(), nid)
		if !after.EmailVerifySentDatetime.Equal(*before.EmailVerifySentDatetime) {
			t.Fatal("a refused sign-up mail moved emailverify_sent_datetime")
		}
		cases := []struct {
			name   string
			change map[string]any
			reason string
		}{
			{"no verify url", map[string]any{"server_verify_url": nil}, "invalid request: missing 'account_verify_url' in request"},
			{"send_verification false", map[string]any{"created_info": map[string]any{"user_id": nid, "send_verification": false}}, "not allowed to send verification email to target user, send_verification = False"},
			{"wrong user id", map[string]any{"created_info": map[string]any{"user_id": 1}}, "target user for verification email does not exist"},
			{"already active", map[string]any{"email_address": "fail@example.org", "created_info": map[string]any{"user_id": id}}, "target user for verification email already active and verified"},
			{"bad session", map[string]any{"session_token": "nope"}, "invalid session for requesting a verification email"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				b := map[string]any{}
				for k, v := range sbody {
					b[k] = v
				}
				for k, v := range tc.change {
					if v == nil {
						delete(b, k)
					} else {
						b[k] = v
					}
				}
				expect(t, e.do("user-sendemail-signup", b), false, tc.reason)
			})
		}
	})
}
