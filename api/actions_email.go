package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/mail"
)

// mailSettings applies the per-request SMTP overrides to the configured
// settings: a present key overrides, even with null. ok is false when the
// sender, server or port ends up empty.
func (s *Server) mailSettings(user, pass Raw, server, sender Opt[string], port Opt[int64]) (mail.Settings, bool) {
	st := s.opts.Mail
	nullable := func(r Raw, dst **string) {
		if r.Set {
			if str, isStr := r.V.(string); isStr {
				*dst = &str
			} else {
				*dst = nil
			}
		}
	}
	nullable(user, &st.User)
	nullable(pass, &st.Pass)
	if sender.Set {
		st.Sender = sender.V
	}
	if server.Set {
		st.Server = server.V
	}
	if port.Set {
		st.Port = int(port.V)
	}
	return st, st.Sender != "" && st.Server != "" && st.Port > 0
}

// mailData fills a template from the request and the requesting session.
func mailData(at time.Time, serverName, baseURL, token string, expiry int64, si *identity.SessionInfo, email, link string) mail.Data {
	return mail.Data{
		ServerName: serverName, BaseURL: baseURL, Email: email,
		Browser: strings.ReplaceAll(si.Session.UserAgent, "_", "."), IPAddress: si.Session.IPAddress,
		Token: mail.Wrap(token, 70), Link: baseURL + link,
		Expiry: isoformat(at.UTC().Add(time.Duration(expiry)*time.Second)) + " (UTC time)",
	}
}

// send renders and sends a mail. Why it went without authentication, when
// it did, is logged: as a warning when a configured password went unused.
func (s *Server) send(ctx context.Context, rc *reqCtx, st mail.Settings, kind mail.Kind, to string, d mail.Data) error {
	if s.opts.MailTemplates == nil {
		return errors.New("no mail templates configured")
	}
	text, html, err := s.opts.MailTemplates.Render(kind, d)
	if err != nil {
		return err
	}
	res, err := mail.Deliver(ctx, st, mail.Message{To: to, Subject: mail.Subject(kind, d.ServerName), Text: text, HTML: html})
	switch res.Note {
	case mail.NoteNone:
	case mail.NoteAuthNotOffered, mail.NoteCleartextRefused:
		rc.log.Warn("mail sent without authentication", "why", string(res.Note))
	default:
		rc.log.Debug("mail sent without authentication", "why", string(res.Note))
	}
	return err
}

// sendSignupArgs are user-sendemail-signup's arguments (quirk #25 fixed:
// email_address is a string, created_info a dict, and both
// account_verify_url and server_verify_url name the link).
type sendSignupArgs struct {
	EmailAddress       string         `arg:"email_address" type:"str" max:"280"`
	SessionToken       string         `arg:"session_token" type:"str" max:"512"`
	CreatedInfo        map[string]any `arg:"created_info" type:"dict"`
	ServerName         string         `arg:"server_name" type:"str" max:"280"`
	ServerBaseURL      string         `arg:"server_baseurl" type:"str" max:"2048"`
	VerificationToken  string         `arg:"verification_token" type:"str" max:"4096"`
	VerificationExpiry int64          `arg:"verification_expiry" type:"int" min:"0" max:"31622400"`
	AccountVerifyURL   string         `arg:"account_verify_url,kwarg" type:"str" max:"2048"`
	ServerVerifyURL    string         `arg:"server_verify_url,kwarg" type:"str" max:"2048"`
	EmailUser          Raw            `arg:"emailuser,kwarg" type:"str,None" max:"280"`
	EmailPass          Raw            `arg:"emailpass,kwarg" type:"str,None" max:"1024"`
	EmailServer        Opt[string]    `arg:"emailserver,kwarg" type:"str" max:"280"`
	EmailPort          Opt[int64]     `arg:"emailport,kwarg" type:"int" min:"0" max:"65535"`
	EmailSender        Opt[string]    `arg:"emailsender,kwarg" type:"str" max:"280"`
}

// userSendEmailSignup is user-sendemail-signup (actions.md §6.1).
func (s *Server) userSendEmailSignup(ctx context.Context, rc *reqCtx, a *sendSignupArgs) (Result, error) {
	link := a.AccountVerifyURL
	if link == "" {
		link = a.ServerVerifyURL
	}
	if link == "" {
		return nil, fail("invalid request: missing 'account_verify_url' in request", "Invalid verify email request.")
	}
	st, ok := s.mailSettings(a.EmailUser, a.EmailPass, a.EmailServer, a.EmailSender, a.EmailPort)
	if !ok {
		return nil, fail("invalid request: missing 'emailsender', 'emailserver', or 'emailport' in request", "Invalid email server settings provided. Can't send an email.")
	}
	if sv, present := a.CreatedInfo["send_verification"]; present && sv == false {
		return nil, fail("not allowed to send verification email to target user, send_verification = False", "Not allowed to send an email verification request.")
	}
	wantID, _ := strictInt(a.CreatedInfo["user_id"])
	u, err := s.userByEmail(ctx, a.EmailAddress)
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return nil, err
	}
	if err != nil || u.UserID != wantID {
		return nil, fail("target user for verification email does not exist", "Invalid verify email request.")
	}
	if deny, err := s.admit(ctx, engine.AdminInput{Op: "sendemail-signup", Target: adminUser(u)}); err != nil {
		return nil, err
	} else if deny != "" {
		return nil, fail("target user for verification email already active and verified", "Not sending an verify email request to an existing user.")
	}
	si, err := s.deps.Store.LiveSession(ctx, a.SessionToken)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, fail("invalid session for requesting a verification email", "Invalid verify email request.")
	}
	if err != nil {
		return nil, err
	}
	if err := s.send(ctx, rc, st, mail.Signup, u.Email, mailData(s.now(), a.ServerName, a.ServerBaseURL, a.VerificationToken, a.VerificationExpiry, si, u.Email, link)); err != nil {
		return nil, fail("verification email could not be sent because of an email server problem", "Could not send email for the verify email request.").because(err)
	}
	u, err = s.deps.Store.SetEmailSent(ctx, u.Email, "signup", s.now())
	if err != nil {
		return nil, fail("verification email sent, but its time could not be recorded", "Verify email sent successfully.").because(err)
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

// sendForgotPassArgs are user-sendemail-forgotpass's arguments.
type sendForgotPassArgs struct {
	EmailAddress       string      `arg:"email_address" type:"str" max:"280"`
	SessionToken       string      `arg:"session_token" type:"str" max:"512"`
	ServerName         string      `arg:"server_name" type:"str" max:"280"`
	ServerBaseURL      string      `arg:"server_baseurl" type:"str" max:"2048"`
	PasswordForgotURL  string      `arg:"password_forgot_url" type:"str" max:"2048"`
	VerificationToken  string      `arg:"verification_token" type:"str" max:"4096"`
	VerificationExpiry int64       `arg:"verification_expiry" type:"int" min:"0" max:"31622400"`
	EmailUser          Raw         `arg:"emailuser,kwarg" type:"str,None" max:"280"`
	EmailPass          Raw         `arg:"emailpass,kwarg" type:"str,None" max:"1024"`
	EmailServer        Opt[string] `arg:"emailserver,kwarg" type:"str" max:"280"`
	EmailPort          Opt[int64]  `arg:"emailport,kwarg" type:"int" min:"0" max:"65535"`
	EmailSender        Opt[string] `arg:"emailsender,kwarg" type:"str" max:"280"`
}

// userSendEmailForgotPass is user-sendemail-forgotpass (actions.md §6.2).
func (s *Server) userSendEmailForgotPass(ctx context.Context, rc *reqCtx, a *sendForgotPassArgs) (Result, error) {
	st, ok := s.mailSettings(a.EmailUser, a.EmailPass, a.EmailServer, a.EmailSender, a.EmailPort)
	if !ok {
		return nil, fail("missing 'emailserver', 'emailsender', 'emailport' in request", "Invalid email server settings provided. Can't send an email.")
	}
	u, err := s.userByEmail(ctx, a.EmailAddress)
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return nil, err
	}
	refused := fail("invalid user for forgot-pass email request", "Invalid password reset email request.")
	if err != nil {
		return nil, refused
	}
	if deny, err := s.admit(ctx, engine.AdminInput{Op: "sendemail-forgotpass", Target: adminUser(u)}); err != nil {
		return nil, err
	} else if deny != "" {
		return nil, refused
	}
	if sent := u.EmailForgotPassSentDatetime; sent != nil && s.now().Sub(*sent) <= 24*time.Hour {
		return nil, fail("forgot-pass verification email sent less than 24 hours ago", "Invalid password reset email request.")
	}
	si, err := s.deps.Store.LiveSession(ctx, a.SessionToken)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, fail("invalid session for forgot-pass request", "Invalid verification email request.")
	}
	if err != nil {
		return nil, err
	}
	if err := s.send(ctx, rc, st, mail.ForgotPass, u.Email, mailData(s.now(), a.ServerName, a.ServerBaseURL, a.VerificationToken, a.VerificationExpiry, si, u.Email, a.PasswordForgotURL)); err != nil {
		return nil, fail("forgot-pass verification email could not be sent because email server issue",
			fmt.Sprintf("Could not send email to %s for the user password reset request.", pyRecipients(u.Email))).because(err)
	}
	sentTo := u.Email
	u, err = s.deps.Store.SetEmailSent(ctx, sentTo, "forgotpass", s.now())
	if err != nil {
		return nil, fail("forgot-pass email sent, but its time could not be recorded",
			fmt.Sprintf("Password reset request sent successfully to %s", pyRecipients(sentTo))).because(err)
	}
	rc.log.Info("forgot-password mail sent", "user", s.deps.PII.Hash(u.UserID))
	return Result{"success": true, "user_id": u.UserID, "email_address": u.Email,
		"emailforgotpass_sent_datetime": isoPtr(u.EmailForgotPassSentDatetime),
		"messages":                      []string{fmt.Sprintf("Password reset request sent successfully to %s", pyRecipients(u.Email))}}, nil
}
