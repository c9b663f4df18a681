package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/totp"
)

// The TOTP second factor (RFC 6238, issue 18): request types to enrol,
// confirm, disable and inspect it, the gate every login path passes after
// the first factor (secondFactor), and user-login-totp, which completes a
// login the gate held back. Secrets are sealed with a key derived from the
// server's secret and bound to their user (identity/totp); recovery codes
// and challenges are stored only as digests (identity/totp_store.go).

const (
	// totpChallengeTTL is how long a second-factor challenge stays usable.
	totpChallengeTTL = 5 * time.Minute
	// totpIssuer is the issuer name authenticator apps show beside the
	// account: config's default for totpissuer. api.Options has no field
	// for the configured name yet (see totpIssuerName).
	totpIssuer = "authnzrv"
	// secondFactorTOTP is the value of second_factor when a login needs a
	// TOTP code.
	secondFactorTOTP = "totp"
)

// Messages of the second factor, safe to show to the end user.
const (
	msgSecondFactor    = "Enter the code from your authenticator app, or one of your recovery codes, to finish logging in."
	msgChallengeGone   = "This login attempt has expired or is not valid. Please log in again."
	msgCodeInvalid     = "That code didn't work. Please check it and try again."
	msgCodeUsed        = "That code was used already. Please wait for the next code from your authenticator app."
	msgTOTPAlreadyOn   = "Two-factor authentication is already on for this account."
	msgTOTPNotPending  = "There is no two-factor setup waiting for confirmation. Please start the setup again."
	msgTOTPNotOn       = "Two-factor authentication is not on for this account."
	msgTOTPLoginFailed = "Sorry, that second-factor login didn't work."
)

// errTOTPOff is checkCode's answer for a user without an enabled second
// factor.
var errTOTPOff = errors.New("second factor not enabled")

// codeInvalid refuses a code that matches nothing.
func codeInvalid() *Failure { return fail("second factor code invalid", msgCodeInvalid) }

// codeUsed refuses a right code that was accepted before.
func codeUsed() *Failure { return fail("second factor code already used", msgCodeUsed) }

// challengeGone refuses an unknown, expired or consumed challenge.
func challengeGone() *Failure { return fail("challenge invalid or expired", msgChallengeGone) }

// totpAAD is the associated data a user's secret is sealed with: it binds
// the sealed text to the user, so that it cannot be moved to another row.
func totpAAD(userID int64) []byte { return []byte("user:" + strconv.FormatInt(userID, 10)) }

// totpSealer derives the sealing key from the server secret (HKDF-SHA256,
// a key of its own: the Fernet key itself never touches a TOTP secret).
func (s *Server) totpSealer() (*totp.Sealer, error) {
	sl, err := totp.NewSealer(s.opts.Secret)
	if err != nil {
		return nil, fmt.Errorf("totp sealer: %w", err)
	}
	return sl, nil
}

// openTOTPSecret unseals a stored secret.
func (s *Server) openTOTPSecret(row *identity.TOTPSecret) (string, error) {
	sl, err := s.totpSealer()
	if err != nil {
		return "", err
	}
	plain, err := sl.Open(row.Sealed, totpAAD(row.UserID))
	if err != nil {
		return "", fmt.Errorf("open the TOTP secret: %w", err)
	}
	return string(plain), nil
}

// totpIssuerName is the issuer of new enrolments.
func (s *Server) totpIssuerName() string {
	if s.opts.TOTPIssuer != "" {
		return s.opts.TOTPIssuer
	}
	return totpIssuer
}

// totpAccount is the account name in the otpauth:// URL: the user's e-mail
// (or Bergson username) without the colon that separates it from the
// issuer.
func totpAccount(u *identity.User) string {
	a := strings.ReplaceAll(u.Email, ":", "")
	if strings.TrimSpace(a) == "" {
		a = "user " + strconv.FormatInt(u.UserID, 10)
	}
	return a
}

// secondFactor is the gate every login path calls once the first factor
// (password, social provider) has admitted u: nil lets the login succeed;
// for a user with TOTP on it stores a new challenge and returns the reply
// to send instead, a *Failure "second factor required" carrying
// second_factor and challenge, which user-login-totp completes. A
// lock-out-counted check in progress is released without counting: the
// password alone neither fails nor clears the account's failures, so
// wrong codes keep adding up across password logins.
func (s *Server) secondFactor(ctx context.Context, rc *reqCtx, u *identity.User) error {
	row, err := s.deps.Store.TOTPSecretOf(ctx, u.UserID)
	if errors.Is(err, identity.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !row.Enabled {
		return nil
	}
	ch, err := s.deps.Store.NewTOTPChallenge(ctx, u.UserID, totpChallengeTTL)
	if err != nil {
		return err
	}
	if rc.check != nil {
		rc.check.outcome = identity.CheckNotRun
	}
	rc.log.Info("login needs a second factor", "user", s.deps.PII.Hash(u.UserID))
	return fail("second factor required", msgSecondFactor).
		with("second_factor", secondFactorTOTP, "challenge", ch, "challenge_expires_in", int(totpChallengeTTL/time.Second))
}

// checkCode checks code, a TOTP code or a recovery code, against the
// user's enabled second factor and spends it: a TOTP code's step becomes
// the last accepted one, a recovery code is marked used, each in one
// conditional statement, so a code is accepted once even when raced. It
// returns a *Failure for a refused code, errTOTPOff when the user has no
// enabled second factor, and another error for a fault.
func (s *Server) checkCode(ctx context.Context, u *identity.User, code string) error {
	row, err := s.deps.Store.TOTPSecretOf(ctx, u.UserID)
	if errors.Is(err, identity.ErrNotFound) || (err == nil && !row.Enabled) {
		return errTOTPOff
	}
	if err != nil {
		return err
	}
	secret, err := s.openTOTPSecret(row)
	if err != nil {
		return err
	}
	step, err := totp.Check(secret, code, s.now(), row.LastStep)
	switch {
	case err == nil:
		ok, err := s.deps.Store.UseTOTPStep(ctx, u.UserID, step)
		if err != nil {
			return err
		}
		if !ok {
			return codeUsed()
		}
		return nil
	case errors.Is(err, totp.ErrReused):
		return codeUsed()
	case errors.Is(err, totp.ErrInvalidCode):
		return codeInvalid()
	case errors.Is(err, totp.ErrMalformed):
		// Not a TOTP code: perhaps a recovery code.
	default:
		return err
	}
	digests, err := s.deps.Store.UnusedRecoveryCodes(ctx, u.UserID)
	if err != nil {
		return err
	}
	i, ok := totp.MatchRecoveryCode(code, digests)
	if !ok {
		return codeInvalid()
	}
	spent, err := s.deps.Store.UseRecoveryCode(ctx, u.UserID, digests[i])
	if err != nil {
		return err
	}
	if !spent {
		return codeUsed()
	}
	return nil
}

// sessionPassword re-checks the password of a live session's user, as
// user-passcheck does (the same Argon2 work on every path), and returns the
// user when the password matches and the admin policy lets them pass.
func (s *Server) sessionPassword(ctx context.Context, rc *reqCtx, token, pw string) (*identity.User, error) {
	si, err := s.deps.Store.LiveSession(ctx, token)
	if err != nil {
		if !errors.Is(err, identity.ErrNotFound) {
			return nil, err
		}
		if err := s.dummies(ctx, 2); err != nil {
			return nil, hashErr(rc, err)
		}
		return nil, fail("session does not exist", "No session token provided.")
	}
	if err := s.dummy(ctx); err != nil {
		return nil, hashErr(rc, err)
	}
	match, err := s.verify(ctx, si.User.Password, pw)
	if err != nil {
		return nil, hashErr(rc, err)
	}
	if !match {
		return nil, badLogin()
	}
	deny, err := s.admit(ctx, engine.AdminInput{Op: "passcheck", Target: adminUser(&si.User)})
	if err != nil {
		return nil, err
	}
	if deny != "" {
		return nil, fail("user exists but is inactive", msgBadLogin).with("user_id", si.User.UserID)
	}
	return &si.User, nil
}

// totpEnrollArgs are user-totp-enroll's arguments.
type totpEnrollArgs struct {
	SessionToken string `arg:"session_token" type:"str" max:"512"`
	Password     string `arg:"password" type:"str" max:"1024"`
}

// userTOTPEnroll is user-totp-enroll: a new pending secret for the
// session's user, shown once.
func (s *Server) userTOTPEnroll(ctx context.Context, rc *reqCtx, a *totpEnrollArgs) (Result, error) {
	u, err := s.sessionPassword(ctx, rc, a.SessionToken, a.Password)
	if err != nil {
		return nil, err
	}
	alreadyOn := fail("second factor already enabled", msgTOTPAlreadyOn).with("user_id", u.UserID)
	row, err := s.deps.Store.TOTPSecretOf(ctx, u.UserID)
	switch {
	case err == nil && row.Enabled:
		return nil, alreadyOn
	case err != nil && !errors.Is(err, identity.ErrNotFound):
		return nil, err
	}
	en, err := totp.Enroll(s.totpIssuerName(), totpAccount(u), totp.Options{})
	if err != nil {
		return nil, err
	}
	sl, err := s.totpSealer()
	if err != nil {
		return nil, err
	}
	sealed, err := sl.Seal([]byte(en.Secret), totpAAD(u.UserID))
	if err != nil {
		return nil, err
	}
	if err := s.deps.Store.PutPendingTOTP(ctx, u.UserID, sealed); err != nil {
		if errors.Is(err, identity.ErrTOTPEnabled) {
			return nil, alreadyOn
		}
		return nil, err
	}
	rc.log.Info("TOTP enrolment started", "user", s.deps.PII.Hash(u.UserID))
	return Result{
		"success": true, "user_id": u.UserID, "secret": en.Secret, "otpauth_url": en.URL,
		"qr_png_base64": base64.StdEncoding.EncodeToString(en.QRCode),
		"messages":      []string{"Scan the QR code with your authenticator app, then confirm with a code from it."},
	}, nil
}

// totpConfirmArgs are user-totp-confirm's arguments.
type totpConfirmArgs struct {
	SessionToken string `arg:"session_token" type:"str" max:"512"`
	Code         string `arg:"code" type:"str" max:"64"`
}

// userTOTPConfirm is user-totp-confirm: the first code turns the pending
// secret on, and the user gets recovery codes.
func (s *Server) userTOTPConfirm(ctx context.Context, rc *reqCtx, a *totpConfirmArgs) (Result, error) {
	si, err := s.deps.Store.LiveSession(ctx, a.SessionToken)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, fail("session does not exist", "No session token provided.")
	}
	if err != nil {
		return nil, err
	}
	uid := si.User.UserID
	notPending := fail("no second factor enrolment pending", msgTOTPNotPending).with("user_id", uid)
	row, err := s.deps.Store.TOTPSecretOf(ctx, uid)
	switch {
	case errors.Is(err, identity.ErrNotFound) || (err == nil && row.Enabled):
		return nil, notPending
	case err != nil:
		return nil, err
	}
	secret, err := s.openTOTPSecret(row)
	if err != nil {
		return nil, err
	}
	step, err := totp.Check(secret, a.Code, s.now(), row.LastStep)
	switch {
	case errors.Is(err, totp.ErrMalformed) || errors.Is(err, totp.ErrInvalidCode):
		return nil, codeInvalid().with("user_id", uid)
	case errors.Is(err, totp.ErrReused):
		return nil, codeUsed().with("user_id", uid)
	case err != nil:
		return nil, err
	}
	plain, digests, err := totp.NewRecoveryCodes(totp.DefaultRecoveryCodes)
	if err != nil {
		return nil, err
	}
	ok, err := s.deps.Store.EnableTOTP(ctx, uid, step, digests)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notPending
	}
	rc.log.Info("TOTP turned on", "user", s.deps.PII.Hash(uid))
	return Result{
		"success": true, "user_id": uid, "recovery_codes": plain,
		"messages": []string{"Two-factor authentication is on. Keep your recovery codes somewhere safe: each works once."},
	}, nil
}

// totpDisableArgs are user-totp-disable's arguments.
type totpDisableArgs struct {
	SessionToken string `arg:"session_token" type:"str" max:"512"`
	Password     string `arg:"password" type:"str" max:"1024"`
	Code         string `arg:"code" type:"str" max:"64"`
}

// userTOTPDisable is user-totp-disable: with the password and a current
// code (or a recovery code) the second factor goes. A wrong code counts
// towards the lock-out as at login; the password check does not (as
// user-passcheck's).
func (s *Server) userTOTPDisable(ctx context.Context, rc *reqCtx, a *totpDisableArgs) (Result, error) {
	u, err := s.sessionPassword(ctx, rc, a.SessionToken, a.Password)
	if err != nil {
		return nil, err
	}
	err = s.counted(ctx, rc, u, func() error {
		err := s.spendCode(ctx, rc, u, a.Code)
		var f *Failure
		if errors.As(err, &f) {
			f.with("user_id", u.UserID)
		}
		return err
	})
	if errors.Is(err, errTOTPOff) {
		return nil, fail("second factor not enabled", msgTOTPNotOn).with("user_id", u.UserID)
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.deps.Store.DisableTOTP(ctx, u.UserID); err != nil {
		return nil, err
	}
	rc.log.Info("TOTP turned off", "user", s.deps.PII.Hash(u.UserID))
	return Result{"success": true, "user_id": u.UserID, "messages": []string{"Two-factor authentication is off."}}, nil
}

// totpStatusArgs are user-totp-status's arguments.
type totpStatusArgs struct {
	UserID int64 `arg:"user_id" type:"int"`
}

// userTOTPStatus is user-totp-status.
func (s *Server) userTOTPStatus(ctx context.Context, rc *reqCtx, a *totpStatusArgs) (Result, error) {
	if _, err := s.deps.Store.UserByID(ctx, a.UserID); err != nil {
		if errors.Is(err, identity.ErrNotFound) {
			return nil, fail("user does not exist", "Could not find the user.")
		}
		return nil, err
	}
	on, left, err := s.deps.Store.TOTPStatus(ctx, a.UserID)
	if err != nil {
		return nil, err
	}
	return Result{
		"success": true, "user_id": a.UserID, "enabled": on, "recovery_codes_left": left,
		"messages": []string{"Second factor status retrieved."},
	}, nil
}

// loginTOTPArgs are user-login-totp's arguments.
type loginTOTPArgs struct {
	Challenge    string `arg:"challenge" type:"str" max:"128"`
	Code         string `arg:"code" type:"str" max:"64"`
	SessionToken string `arg:"session_token,kwarg" type:"str" max:"512"`
}

// userLoginTOTP is user-login-totp: the second step of a login that
// secondFactor held back. The session given, if any, ends whatever the
// outcome, as user-login's does.
func (s *Server) userLoginTOTP(ctx context.Context, rc *reqCtx, a *loginTOTPArgs) (Result, error) {
	res, err := s.loginTOTP(ctx, rc, a)
	if a.SessionToken != "" {
		if _, derr := s.deps.Store.DeleteSession(ctx, a.SessionToken); derr != nil && err == nil {
			return nil, derr
		}
	}
	return res, err
}

// loginTOTP checks the challenge and the code (see counted for the
// lock-out). The challenge is consumed by a success and stays usable after
// a failure until it expires or the user is locked.
func (s *Server) loginTOTP(ctx context.Context, rc *reqCtx, a *loginTOTPArgs) (Result, error) {
	uid, err := s.deps.Store.TOTPChallengeUser(ctx, a.Challenge)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, challengeGone()
	}
	if err != nil {
		return nil, err
	}
	u, err := s.deps.Store.UserByID(ctx, uid)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, challengeGone()
	}
	if err != nil {
		return nil, err
	}
	deny, err := s.admit(ctx, engine.AdminInput{Op: "login", Target: adminUser(u)})
	if err != nil {
		return nil, err
	}
	if deny != "" {
		return nil, fail("user exists but is inactive", msgTOTPLoginFailed).with("user_id", u.UserID)
	}
	err = s.counted(ctx, rc, u, func() error {
		if err := s.spendCode(ctx, rc, u, a.Code); err != nil {
			return err
		}
		ok, err := s.deps.Store.ConsumeTOTPChallenge(ctx, a.Challenge, u.UserID)
		if err == nil && !ok {
			err = challengeGone() // consumed by a concurrent login
		}
		return err
	})
	if errors.Is(err, errTOTPOff) {
		return nil, challengeGone() // turned off since the challenge was made
	}
	if err != nil {
		return nil, err
	}
	rc.log.Info("login succeeded", "user", s.deps.PII.Hash(u.UserID), "second_factor", secondFactorTOTP)
	return Result{"success": true, "user_id": u.UserID, "user_role": u.UserRole, "messages": []string{"Login successful."}}, nil
}

// spendCode is checkCode recording its outcome for the lock-out: a
// refused code is a wrong password, a fault counts nothing.
func (s *Server) spendCode(ctx context.Context, rc *reqCtx, u *identity.User, code string) error {
	err := s.checkCode(ctx, u, code)
	var f *Failure
	switch {
	case err == nil:
		rc.checked(true)
	case errors.As(err, &f):
		rc.checked(false)
	}
	return err
}

// counted runs check, a second-factor code check of u, under the
// account's lock-out as user-login runs a password check (when the
// lock-out is on): reserved before, resolved after, so that a wrong code
// counts, is answered after the back-off, and the failure that reaches
// the limit locks the user; a right code that arrives after concurrent
// failures decided the lock-out is refused. Once the user may no longer
// log in, their waiting challenges go.
func (s *Server) counted(ctx context.Context, rc *reqCtx, u *identity.User, check func() error) error {
	if !s.opts.Lockout.Enabled {
		return check()
	}
	if f := s.reserveCheck(ctx, rc, s.deps.Validator.NormalizeEmail(u.Email)); f != nil {
		return f
	}
	err := check()
	if s.resolveCheck(ctx, rc, nil) != nil {
		return lockedOut()
	}
	if rc.check.outcome == identity.CheckWrong {
		s.dropChallengesIfBarred(ctx, rc, u.UserID)
	}
	return err
}

// dropChallengesIfBarred deletes the user's challenges once the admin
// policy no longer lets them log in (the failure just counted locked
// them): a lock-out ends every login waiting for its second factor.
func (s *Server) dropChallengesIfBarred(ctx context.Context, rc *reqCtx, userID int64) {
	u, err := s.deps.Store.UserByID(ctx, userID)
	if err != nil {
		return
	}
	deny, err := s.admit(ctx, engine.AdminInput{Op: "login", Target: adminUser(u)})
	if err != nil || deny == "" {
		return
	}
	if n, err := s.deps.Store.DeleteTOTPChallenges(ctx, userID); err != nil {
		rc.log.Error("drop second-factor challenges", "error", err)
	} else if n > 0 {
		rc.log.Info("second-factor challenges dropped: the user may not log in", "user", s.deps.PII.Hash(userID), "challenges", n)
	}
}
