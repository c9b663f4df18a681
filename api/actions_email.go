package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/mail"
)

// mailSettings applies the per-request SMTP overrides to the configured
// settings: a present key overrides, even with null. ok is false when the
// sender, server or port ends up empty.
func (s *Server) mailSettings(a args) (mail.Settings, bool) {
	st := s.opts.Mail
	nullable := func(k string, dst **string) {
		if v, present := a[k]; present {
			if str, isStr := v.(string); isStr {
				*dst = &str
			} else {
				*dst = nil
			}
		}
	}
	nullable("emailuser", &st.User)
	nullable("emailpass", &st.Pass)
	if v, present := a["emailsender"]; present {
		st.Sender, _ = v.(string)
	}
	if v, present := a["emailserver"]; present {
		st.Server, _ = v.(string)
	}
	if v, present := a["emailport"]; present {
		n, _ := toInt(v)
		st.Port = int(n)
	}
	return st, st.Sender != "" && st.Server != "" && st.Port > 0
}

// mailData fills a template from the request and the requesting session.
func mailData(a args, si *identity.SessionInfo, email, link string) mail.Data {
	expiry, _ := toInt(a["verification_expiry"])
	return mail.Data{
		ServerName: a.str("server_name"), BaseURL: a.str("server_baseurl"), Email: email,
		Browser: strings.ReplaceAll(si.Session.UserAgent, "_", "."), IPAddress: si.Session.IPAddress,
		Token: mail.Wrap(a.str("verification_token"), 70), Link: a.str("server_baseurl") + link,
		Expiry: isoformat(time.Now().UTC().Add(time.Duration(expiry)*time.Second)) + " (UTC time)",
	}
}

func (s *Server) send(ctx context.Context, st mail.Settings, kind mail.Kind, to string, d mail.Data) error {
	if s.opts.MailTemplates == nil {
		return errors.New("no mail templates configured")
	}
	text, html, err := s.opts.MailTemplates.Render(kind, d)
	if err != nil {
		return err
	}
	return mail.Send(ctx, st, mail.Message{To: to, Subject: mail.Subject(kind, d.ServerName), Text: text, HTML: html})
}

// userSendEmailSignup is user-sendemail-signup (actions.md §6.1, quirk #25
// fixed: email_address is a string, created_info a dict, and both
// account_verify_url and server_verify_url name the link).
func (s *Server) userSendEmailSignup(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	fail := func(reason, msg string) (Result, error) {
		r := failure(reason, msg)
		r["user_id"], r["email_address"], r["emailverify_sent_datetime"] = nil, nil, nil
		return r, nil
	}
	link := a.str("account_verify_url")
	if link == "" {
		link = a.str("server_verify_url")
	}
	if link == "" {
		return fail("invalid request: missing 'account_verify_url' in request", "Invalid verify email request.")
	}
	st, ok := s.mailSettings(a)
	if !ok {
		return fail("invalid request: missing 'emailsender', 'emailserver', or 'emailport' in request", "Invalid email server settings provided. Can't send an email.")
	}
	created, _ := a["created_info"].(map[string]any)
	if sv, present := created["send_verification"]; present && sv == false {
		return fail("not allowed to send verification email to target user, send_verification = False", "Not allowed to send an email verification request.")
	}
	email := a.str("email_address")
	wantID, _ := toInt(created["user_id"])
	u, err := s.deps.Store.UserByEmail(ctx, email)
	if err != nil || u.UserID != wantID {
		return fail("target user for verification email does not exist", "Invalid verify email request.")
	}
	if u.IsActive || u.UserRole != "locked" {
		return fail("target user for verification email already active and verified", "Not sending an verify email request to an existing user.")
	}
	si, err := s.deps.Store.LiveSession(ctx, a.str("session_token"))
	if err != nil {
		return fail("invalid session for requesting a verification email", "Invalid verify email request.")
	}
	if err := s.send(ctx, st, mail.Signup, u.Email, mailData(a, si, u.Email, link)); err != nil {
		rc.log.Warn("sign-up mail not sent", "error", err, "user", s.deps.PII.Hash(u.UserID))
		return fail("verification email could not be sent because of an email server problem", "Could not send email for the verify email request.")
	}
	u, err = s.deps.Store.SetEmailSent(ctx, u.Email, "signup", time.Now())
	if err != nil {
		return nil, err
	}
	rc.log.Info("sign-up mail sent", "user", s.deps.PII.Hash(u.UserID))
	return Result{"success": true, "user_id": u.UserID, "email_address": u.Email,
		"emailverify_sent_datetime": isoPtr(u.EmailVerifySentDatetime), "messages": []string{"Verify email sent successfully."}}, nil
}

// pyRecipients renders ['addr'] like the reference's message text.
func pyRecipients(addr string) string {
	b, _ := json.Marshal(addr)
	return "['" + strings.Trim(string(b), `"`) + "']"
}

// userSendEmailForgotPass is user-sendemail-forgotpass (actions.md §6.2).
func (s *Server) userSendEmailForgotPass(ctx context.Context, rc *reqCtx, a args) (Result, error) {
	fail := func(reason, msg string) (Result, error) {
		r := failure(reason, msg)
		r["user_id"], r["email_address"], r["emailforgotpass_sent_datetime"] = nil, nil, nil
		return r, nil
	}
	st, ok := s.mailSettings(a)
	if !ok {
		return fail("missing 'emailserver', 'emailsender', 'emailport' in request", "Invalid email server settings provided. Can't send an email.")
	}
	u, err := s.deps.Store.UserByEmail(ctx, a.str("email_address"))
	if err != nil || !u.IsActive || u.UserRole == "locked" || u.UserRole == "anonymous" {
		return fail("invalid user for forgot-pass email request", "Invalid password reset email request.")
	}
	if sent := u.EmailForgotPassSentDatetime; sent != nil && time.Since(*sent) <= 24*time.Hour {
		return fail("forgot-pass verification email sent less than 24 hours ago", "Invalid password reset email request.")
	}
	si, err := s.deps.Store.LiveSession(ctx, a.str("session_token"))
	if err != nil {
		return fail("invalid session for forgot-pass request", "Invalid verification email request.")
	}
	if err := s.send(ctx, st, mail.ForgotPass, u.Email, mailData(a, si, u.Email, a.str("password_forgot_url"))); err != nil {
		rc.log.Warn("forgot-password mail not sent", "error", err, "user", s.deps.PII.Hash(u.UserID))
		return fail("forgot-pass verification email could not be sent because email server issue",
			fmt.Sprintf("Could not send email to %s for the user password reset request.", pyRecipients(u.Email)))
	}
	u, err = s.deps.Store.SetEmailSent(ctx, u.Email, "forgotpass", time.Now())
	if err != nil {
		return nil, err
	}
	rc.log.Info("forgot-password mail sent", "user", s.deps.PII.Hash(u.UserID))
	return Result{"success": true, "user_id": u.UserID, "email_address": u.Email,
		"emailforgotpass_sent_datetime": isoPtr(u.EmailForgotPassSentDatetime),
		"messages":                      []string{fmt.Sprintf("Password reset request sent successfully to %s", pyRecipients(u.Email))}}, nil
}
