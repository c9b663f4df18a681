package api

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/social"
)

// Social login (issue 18): the frontend does the browser redirects, the
// server everything that needs a secret or a decision. user-social-start
// makes the state (stored as a digest, single-use, bound to the session
// that started it) and returns the provider's authorization URL;
// user-social-finish checks the state, exchanges the code, verifies the
// identity and logs the user in: by the provider account's link, by
// linking it to the logged-in user of the session or to the user with
// the e-mail the provider verified, or by creating a user when the
// role-assignment policy allows it.

// anonymousUser is the system user of anonymous sessions.
const anonymousUser = 2

// DefaultSocialStateTTL is how long a started social login may be
// finished.
const DefaultSocialStateTTL = 10 * time.Minute

// SocialOptions configures social login.
type SocialOptions struct {
	// Providers are the configured providers (--oauthproviders); nil turns
	// social login off.
	Providers *social.Registry
	// StateTTL is how long a started login may be finished (0:
	// DefaultSocialStateTTL).
	StateTTL time.Duration
}

// socialOptions returns the server's social login configuration, or the
// failure of a server without providers.
func (s *Server) socialOptions() (*SocialOptions, error) {
	o := &s.opts.Social
	if o.Providers == nil {
		return nil, fail("social login is not configured", "Social login is not available on this server.")
	}
	return o, nil
}

// socialProvider returns the configured provider called name.
func socialProvider(o *SocialOptions, name string) (social.Provider, error) {
	p, err := o.Providers.Get(name)
	if err != nil {
		return nil, fail("unknown provider", "This login provider is not available.")
	}
	return p, nil
}

// HKDF info strings of the keys that derive a login's secrets from its
// state.
const (
	infoSocialNonce    = "authnzrv social login nonce v1"
	infoSocialVerifier = "authnzrv social login pkce verifier v1"
)

// socialSecrets derives the OpenID Connect nonce and the PKCE code verifier
// of a login from its state: HMAC-SHA256 of the state under keys derived
// from the server secret with HKDF (distinct info strings), base64url (43
// characters, a valid RFC 7636 verifier). Nothing but the state's digest
// is stored, and the state alone does not give them.
func (s *Server) socialSecrets(state string) (nonce, verifier string, err error) {
	derive := func(info string) (string, error) {
		key, err := hkdf.Key(sha256.New, []byte(s.opts.Secret), nil, info, 32)
		if err != nil {
			return "", fmt.Errorf("derive the social login key: %w", err)
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(state))
		return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
	}
	if nonce, err = derive(infoSocialNonce); err != nil {
		return "", "", err
	}
	if verifier, err = derive(infoSocialVerifier); err != nil {
		return "", "", err
	}
	return nonce, verifier, nil
}

// providerUnavailable is the answer when a provider cannot be reached.
func providerUnavailable() *Failure {
	return fail("provider unavailable", "The login provider could not be reached. Please try again later.")
}

// socialStartArgs are user-social-start's arguments.
type socialStartArgs struct {
	Provider     string `arg:"provider" type:"str" max:"32"`
	SessionToken string `arg:"session_token" type:"str" max:"512"`
}

// userSocialStart is user-social-start: a new state for the provider,
// bound to the session, and the authorization URL to send the browser to.
func (s *Server) userSocialStart(ctx context.Context, rc *reqCtx, a *socialStartArgs) (Result, error) {
	o, err := s.socialOptions()
	if err != nil {
		return nil, err
	}
	p, err := socialProvider(o, a.Provider)
	if err != nil {
		return nil, err
	}
	if _, err := s.deps.Store.LiveSession(ctx, a.SessionToken); err != nil {
		if errors.Is(err, identity.ErrNotFound) {
			return nil, fail("session does not exist", "No session token provided.")
		}
		return nil, err
	}
	if err := p.Ready(ctx); err != nil {
		rc.log.Warn("social login provider unavailable", "provider", p.Name(), "error", err)
		return nil, providerUnavailable()
	}
	state := social.NewState()
	nonce, verifier, err := s.socialSecrets(state)
	if err != nil {
		return nil, err
	}
	authURL := p.AuthCodeURL(state, nonce, verifier)
	if authURL == "" {
		rc.log.Warn("social login provider gave no authorization URL", "provider", p.Name())
		return nil, providerUnavailable()
	}
	if err := s.deps.Store.StartSocialLogin(ctx, state, p.Name(), a.SessionToken, o.StateTTL); err != nil {
		return nil, err
	}
	return Result{
		"success": true, "authorization_url": authURL, "state": state,
		"expires":  isoformat(s.now().Add(o.StateTTL)),
		"messages": []string{"Social login started. Send the browser to the authorization URL."},
	}, nil
}

// socialFinishArgs are user-social-finish's arguments.
type socialFinishArgs struct {
	Provider     string `arg:"provider" type:"str" max:"32"`
	State        string `arg:"state" type:"str" max:"128"`
	Code         string `arg:"code" type:"str" max:"2048"`
	SessionToken string `arg:"session_token" type:"str" max:"512"`
}

// exchangeFailure answers a failed code exchange by its class (the
// provider's errors never quote tokens or codes; they are logged).
func exchangeFailure(err error) *Failure {
	switch {
	case errors.Is(err, social.ErrProviderUnavailable):
		return providerUnavailable()
	case errors.Is(err, social.ErrInvalidIDToken), errors.Is(err, social.ErrNonceMismatch):
		return fail("ID token invalid", "The login provider's answer could not be verified. Please start again.")
	case errors.Is(err, social.ErrExchangeFailed), errors.Is(err, social.ErrVerifierRequired):
		return fail("authorization code exchange failed", "The login provider did not confirm this login. Please start again.")
	case errors.Is(err, social.ErrProfile):
		return fail("profile fetch failed", "The login provider did not return your account details. Please try again later.")
	}
	return nil
}

// userSocialFinish is user-social-finish: the state is consumed, the
// session ended, the code exchanged and the identity verified; then the
// user is found, linked or created, and the reply is a user-login success.
func (s *Server) userSocialFinish(ctx context.Context, rc *reqCtx, a *socialFinishArgs) (Result, error) {
	o, err := s.socialOptions()
	if err != nil {
		return nil, err
	}
	p, err := socialProvider(o, a.Provider)
	if err != nil {
		return nil, err
	}
	si, err := s.deps.Store.LiveSession(ctx, a.SessionToken)
	if err != nil {
		if errors.Is(err, identity.ErrNotFound) {
			return nil, fail("session does not exist", "No session token provided.")
		}
		return nil, err
	}
	valid, err := s.deps.Store.ConsumeSocialState(ctx, a.State, p.Name(), a.SessionToken)
	if err != nil {
		return nil, err
	}
	// As user-login: the session given ends whatever the outcome.
	if _, err := s.deps.Store.DeleteSession(ctx, a.SessionToken); err != nil {
		return nil, err
	}
	if !valid {
		rc.log.Info("social login refused: state invalid or expired", "provider", p.Name())
		return nil, fail("state invalid or expired", "This login attempt has expired or is not valid. Please start again.")
	}
	nonce, verifier, err := s.socialSecrets(a.State)
	if err != nil {
		return nil, err
	}
	id, err := p.Exchange(ctx, a.Code, verifier, nonce)
	if err != nil {
		f := exchangeFailure(err)
		if f == nil {
			return nil, err
		}
		rc.log.Info("social login refused by the provider", "provider", p.Name(), "error", err)
		return nil, f
	}
	// A session of a user other than the anonymous user 2 is logged in.
	var sessionUser int64
	if uid := si.Session.UserID; uid > 0 && uid != anonymousUser {
		sessionUser = uid
	}
	u, err := s.socialUser(ctx, rc, p.Name(), id, sessionUser)
	if err != nil {
		return nil, err
	}
	// A user with TOTP on finishes with user-login-totp, as after a
	// password; linking from a logged-in session needs no second factor.
	if sessionUser == 0 {
		if err := s.secondFactor(ctx, rc, u); err != nil {
			return nil, err
		}
	}
	rc.log.Info("social login succeeded", "provider", p.Name(), "user", s.deps.PII.Hash(u.UserID))
	return Result{"success": true, "user_id": u.UserID, "user_role": u.UserRole, "messages": []string{"Login successful."}}, nil
}

// socialRefused is the answer for a user the admin policy does not let log
// in (locked, inactive, unverified).
func socialRefused() *Failure {
	return fail("user is locked or inactive", "This account cannot log in. Please contact the server admins.")
}

// socialUser finds the user a verified identity logs in as, linking or
// creating as the account rules say: (1) the provider account's link; (2)
// the logged-in user of the session that started the login (sessionUser,
// 0 for an anonymous session); (3) the user holding the e-mail, when the
// provider verified it; (4) a new user when the role-assignment policy
// allows it. The admin policy's login decision applies to every user, and
// a refused user gets no link.
func (s *Server) socialUser(ctx context.Context, rc *reqCtx, provider string, id *social.Identity, sessionUser int64) (*identity.User, error) {
	link, err := s.deps.Store.SocialLoginBySubject(ctx, provider, id.Subject)
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return nil, err
	}
	if link != nil {
		if sessionUser != 0 && link.UserID != sessionUser {
			return nil, fail("already linked to another user", "This login is already linked to another account.")
		}
		u, err := s.deps.Store.UserByID(ctx, link.UserID)
		if err != nil {
			return nil, err
		}
		if err := s.socialAdmit(ctx, u); err != nil {
			return nil, err
		}
		return u, nil
	}
	email := ""
	if id.Email != "" {
		email = s.deps.Validator.NormalizeEmail(id.Email)
	}
	var u *identity.User
	switch {
	case sessionUser != 0:
		if u, err = s.deps.Store.UserByID(ctx, sessionUser); err != nil {
			return nil, err
		}
	case email != "":
		u, err = s.deps.Store.UserByEmail(ctx, email)
		if err != nil && !errors.Is(err, identity.ErrNotFound) {
			return nil, err
		}
		if u != nil && !id.EmailVerified {
			rc.log.Info("social login refused: unverified e-mail of an existing user", "provider", provider, "user", s.deps.PII.Hash(u.UserID))
			return nil, emailNotVerified()
		}
	}
	if u == nil {
		return s.socialSignup(ctx, rc, provider, id, email)
	}
	if err := s.socialAdmit(ctx, u); err != nil {
		return nil, err
	}
	links, err := s.deps.Store.SocialLogins(ctx, u.UserID)
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		switch {
		case l.Provider != provider:
		case l.Subject == id.Subject:
			// A concurrent finish for the same provider account linked it
			// after this one looked: the same login.
			return u, nil
		default:
			return nil, fail("provider already linked", "Your account is already linked to another account of this login provider. Unlink it first.")
		}
	}
	err = s.deps.Store.LinkSocialLogin(ctx, &identity.SocialLogin{Provider: provider, Subject: id.Subject, UserID: u.UserID, Email: email})
	if errors.Is(err, identity.ErrDuplicate) {
		return nil, socialConflict()
	}
	if err != nil {
		return nil, err
	}
	rc.log.Info("social login linked", "provider", provider, "user", s.deps.PII.Hash(u.UserID))
	return u, nil
}

// socialAdmit asks the admin policy's login decision, as user-login does.
func (s *Server) socialAdmit(ctx context.Context, u *identity.User) error {
	deny, err := s.admit(ctx, engine.AdminInput{Op: "login", Target: adminUser(u)})
	if err != nil {
		return err
	}
	if deny != "" {
		return socialRefused()
	}
	return nil
}

func emailNotVerified() *Failure {
	return fail("e-mail not verified", "The login provider has not verified your e-mail address, so it cannot be used to log in here.")
}

// socialConflict answers a finish that lost a race with another one for the
// same provider account or e-mail: nothing was written.
func socialConflict() *Failure {
	return fail("social login conflict", "Another login with this account happened at the same time. Please try again.")
}

// socialSignup creates a user for an identity no user has, when the
// role-assignment policy allows it. The user is active with a verified
// e-mail and a password no one knows (a real hash of a random secret,
// marked as a placeholder: password logins cost what they always cost and
// never match). A user is never created without an e-mail the provider
// verified, whatever the policy says.
func (s *Server) socialSignup(ctx context.Context, rc *reqCtx, provider string, id *social.Identity, email string) (*identity.User, error) {
	role, d, err := s.deps.Engine.AssignRole(ctx, engine.RoleInput{Op: engine.OpSocialSignup, Provider: provider, EmailVerified: id.EmailVerified && email != ""})
	if err != nil {
		return nil, err
	}
	if !d.Allowed {
		rc.log.Info("social sign-up refused by the policy", "provider", provider, "reason", d.Reason)
		return nil, fail("sign-up not allowed", "No account is linked to this login, and it cannot create one. Log in another way and link it from your account.")
	}
	if email == "" || !id.EmailVerified {
		return nil, emailNotVerified()
	}
	if !slices.Contains(s.deps.Engine.Roles(), role) {
		return nil, fmt.Errorf("social sign-up: the policy names the unknown role %q", role)
	}
	u := &identity.User{
		SystemID: uuid.NewString(), Email: email, EmailVerified: true, IsActive: true,
		FailedLoginTries: new(int64), UserRole: role,
	}
	if err := s.socialAdmit(ctx, u); err != nil {
		return nil, err
	}
	if id.Name != "" {
		name := s.deps.Validator.NormalizeFullName(id.Name)
		if s.deps.Validator.FullName(ctx, name) == nil {
			u.FullName = &name
		}
	}
	hash, err := s.deps.Hasher.Hash(ctx, social.NewState())
	if err != nil {
		return nil, hashErr(rc, errors.Join(errHashBusy, err))
	}
	u.Password = hash
	extra := map[string]any{"provenance": "social-login", "type": "social-user", "social_provider": provider}
	identity.MarkPasswordPlaceholder(extra, hash)
	if u.ExtraInfo, err = identity.MarshalObject(extra); err != nil {
		return nil, err
	}
	err = s.deps.Store.CreateSocialUser(ctx, u, &identity.SocialLogin{Provider: provider, Subject: id.Subject, Email: email})
	if errors.Is(err, identity.ErrDuplicate) {
		return nil, socialConflict()
	}
	if err != nil {
		return nil, err
	}
	rc.log.Info("user created by social login", "provider", provider, "user", s.deps.PII.Hash(u.UserID))
	return u, nil
}

// socialListArgs are user-social-list's arguments.
type socialListArgs struct {
	UserID int64 `arg:"user_id" type:"int"`
}

// userSocialList is user-social-list: the provider accounts linked to a
// user.
func (s *Server) userSocialList(ctx context.Context, rc *reqCtx, a *socialListArgs) (Result, error) {
	if _, err := s.socialOptions(); err != nil {
		return nil, err
	}
	if _, err := s.deps.Store.UserByID(ctx, a.UserID); err != nil {
		if errors.Is(err, identity.ErrNotFound) {
			return nil, fail("no such user", "User look up failed.")
		}
		return nil, err
	}
	links, err := s.deps.Store.SocialLogins(ctx, a.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(links))
	for i, l := range links {
		out[i] = map[string]any{"provider": l.Provider, "subject": l.Subject, "email": l.Email, "linked_on": isoformat(l.LinkedOn)}
	}
	return Result{"success": true, "user_id": a.UserID, "providers": out, "messages": []string{"Linked logins listed."}}, nil
}

// socialUnlinkArgs are user-social-unlink's arguments.
type socialUnlinkArgs struct {
	UserID   int64  `arg:"user_id" type:"int"`
	Provider string `arg:"provider" type:"str" max:"32"`
}

// userSocialUnlink is user-social-unlink: removes a user's link of a
// provider, unless it is the user's last way to log in.
func (s *Server) userSocialUnlink(ctx context.Context, rc *reqCtx, a *socialUnlinkArgs) (Result, error) {
	if _, err := s.socialOptions(); err != nil {
		return nil, err
	}
	err := s.deps.Store.UnlinkSocialLogin(ctx, a.UserID, a.Provider)
	switch {
	case errors.Is(err, identity.ErrNotFound):
		return nil, fail("no such link", "This login is not linked to the account.")
	case errors.Is(err, identity.ErrLastLoginMethod):
		return nil, fail("last login method", "This is the account's only way to log in: set a password or link another login first.")
	case err != nil:
		return nil, err
	}
	rc.log.Info("social login unlinked", "provider", a.Provider, "user", s.deps.PII.Hash(a.UserID))
	return Result{"success": true, "user_id": a.UserID, "messages": []string{"Login unlinked."}}, nil
}
