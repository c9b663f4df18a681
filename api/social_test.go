package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/authnzrv/authnzrv/api"
	"github.com/authnzrv/authnzrv/client"
	"github.com/authnzrv/authnzrv/identity/identitytest"
	"github.com/authnzrv/authnzrv/identity/social"
)

// socialEnv is a server with social login configured: the OpenID Connect
// provider "idp" (mockoidc), "github" and "x" (fakes), and "down", an
// OpenID Connect provider nobody answers for.
type socialEnv struct {
	*testEnv
	idp    *idp
	github *fakeOAuth
	x      *fakeOAuth
}

func newSocialEnv(t *testing.T, db identitytest.DB, opts ...envOption) *socialEnv {
	t.Helper()
	s := &socialEnv{idp: startIdP(t), github: startFake(t, "github"), x: startFake(t, "x")}
	doc, err := json.Marshal(map[string]any{"providers": map[string]any{
		"idp": map[string]any{"kind": "oidc", "issuer": s.idp.m.Issuer(), "client_id": s.idp.m.ClientID,
			"client_secret": s.idp.m.ClientSecret, "redirect_url": socialRedirect},
		"down": map[string]any{"kind": "oidc", "issuer": "http://127.0.0.1:1/oidc", "client_id": "c",
			"client_secret": "down-s3cr3t", "redirect_url": socialRedirect},
		"github": s.github.provider(),
		"x":      s.x.provider(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := social.Parse(doc, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s.testEnv = newEnv(t, db, append(opts, withOptions(func(o *api.Options) { o.Social = api.SocialOptions{Providers: reg} }))...)
	return s
}

// queue makes id the account of the next authorization at provider.
func (s *socialEnv) queue(provider string, id socialIdentity) {
	switch provider {
	case "idp":
		s.idp.next(id)
	case "github":
		s.github.next(id)
	case "x":
		s.x.next(id)
	default:
		s.t.Fatalf("no provider %q to queue at", provider)
	}
}

// start runs user-social-start and checks its reply.
func (s *socialEnv) start(provider, session string) (authURL, state string) {
	s.t.Helper()
	r := s.do("user-social-start", map[string]any{"provider": provider, "session_token": session})
	expect(s.t, r, true, "", "Social login started. Send the browser to the authorization URL.")
	authURL, state = str(r, "authorization_url"), str(r, "state")
	u, err := url.Parse(authURL)
	if err != nil || len(state) != 43 || u.Query().Get("state") != state || u.Query().Get("code_challenge_method") != "S256" ||
		len(u.Query().Get("code_challenge")) != 43 || (provider == "idp") != (u.Query().Get("nonce") != "") {
		s.t.Fatalf("start %s: authorization_url %q, state %q", provider, authURL, state)
	}
	return authURL, state
}

// authorize plays the browser at the provider and returns the code.
func (s *socialEnv) authorize(authURL, state string) string {
	s.t.Helper()
	code, echoed, err := browse(context.Background(), authURL)
	if err != nil || code == "" || echoed != state {
		s.t.Fatalf("browser: code %q, state %q (want %q): %v", code, echoed, state, err)
	}
	return code
}

func (s *socialEnv) finish(provider, state, code, session string) *client.Reply {
	s.t.Helper()
	return s.do("user-social-finish", map[string]any{"provider": provider, "state": state, "code": code, "session_token": session})
}

// login runs the whole flow for session: start, browser, finish.
func (s *socialEnv) login(provider, session string) *client.Reply {
	s.t.Helper()
	authURL, state := s.start(provider, session)
	return s.finish(provider, state, s.authorize(authURL, state), session)
}

// links returns the providers linked to a user (user-social-list).
func (s *socialEnv) links(userID int64) []string {
	s.t.Helper()
	r := s.do("user-social-list", map[string]any{"user_id": userID})
	expect(s.t, r, true, "", "Linked logins listed.")
	list, _ := r.Response["providers"].([]any)
	out := []string{}
	for _, item := range list {
		m, _ := item.(map[string]any)
		p, _ := m["provider"].(string)
		if _, err := time.Parse("2006-01-02T15:04:05.000000", m["linked_on"].(string)); err != nil || m["subject"] == "" {
			s.t.Fatalf("link %v: %v", m, err)
		}
		out = append(out, p)
	}
	return out
}

// sessionGone checks that a session ended.
func (s *socialEnv) sessionGone(session string) {
	s.t.Helper()
	if r := s.do("session-exists", map[string]any{"session_token": session}); r.Success {
		s.t.Fatal("the session given to user-social-finish is still live")
	}
}

// finishCase is one case of testdata/social/finish_cases.json.
type finishCase struct {
	Name  string `json:"name"`
	Users []struct {
		Ref, Email, State string
	} `json:"users"`
	Lock     []string       `json:"lock"`
	Session  string         `json:"session"`
	Provider string         `json:"provider"`
	Identity socialIdentity `json:"identity"`
	Want     struct {
		User   string              `json:"user"`
		Role   string              `json:"role"`
		Reason string              `json:"reason"`
		Links  map[string][]string `json:"links"`
		NoUser []string            `json:"no_user"`
	} `json:"want"`
}

// TestSocialLoginAccountRules runs the account rules of
// testdata/social/finish_cases.json through the whole flow over HTTP:
// mockoidc (and the GitHub and X fakes) authorize, the finish logs in,
// links, creates or refuses.
func TestSocialLoginAccountRules(t *testing.T) {
	b, err := os.ReadFile("../testdata/social/finish_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []finishCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		s := newSocialEnv(t, db)
		loginKeys := s.loginKeys()
		users := map[string]int64{}
		parent := t
		defer func() { s.t = parent }()
		for _, tc := range file.Cases {
			t.Run(tc.Name, func(t *testing.T) {
				s.t = t
				for _, u := range tc.Users {
					switch u.State {
					case "pending":
						users[u.Ref] = s.signup(u.Email)
					case "verified", "locked":
						users[u.Ref] = s.verifiedUser(u.Email)
					default:
						t.Fatalf("unknown user state %q", u.State)
					}
					if u.State == "locked" {
						tc.Lock = append(tc.Lock, u.Ref)
					}
				}
				for _, ref := range tc.Lock {
					if r := s.do("internal-user-lock", map[string]any{"target_userid": users[ref], "action": "lock"}); !r.Success {
						t.Fatalf("lock %s: %+v", ref, r)
					}
				}
				var session string
				switch tc.Session {
				case "", "anonymous":
					session = s.newSession(nil)
				default:
					id, ok := users[tc.Session]
					if !ok {
						t.Fatalf("no user %q for the session", tc.Session)
					}
					session = s.newSession(id)
				}
				provider := tc.Provider
				if provider == "" {
					provider = "idp"
				}
				s.queue(provider, tc.Identity)
				r := s.login(provider, session)
				s.sessionGone(session)
				if tc.Want.Reason != "" {
					expect(t, r, false, tc.Want.Reason)
					if v, ok := r.Response["user_id"]; !ok || v != nil {
						t.Fatalf("a failure carries user_id %v, want null", v)
					}
				} else {
					expect(t, r, true, "", "Login successful.")
					ref, isNew := strings.CutPrefix(tc.Want.User, "new:")
					if isNew {
						if _, taken := users[ref]; taken {
							t.Fatalf("ref %q reused", ref)
						}
						users[ref] = num(r, "user_id")
						s.checkNewUser(num(r, "user_id"), tc.Identity)
					}
					if got := num(r, "user_id"); got != users[ref] || got <= 0 {
						t.Fatalf("logged in as user %d, want %s (%d)", got, ref, users[ref])
					}
					if got := str(r, "user_role"); got != tc.Want.Role {
						t.Fatalf("user_role %q, want %q", got, tc.Want.Role)
					}
					if got := replyKeys(r); !slices.Equal(got, loginKeys) {
						t.Fatalf("reply keys %v, want those of user-login %v", got, loginKeys)
					}
				}
				for ref, want := range tc.Want.Links {
					if got := s.links(users[ref]); !slices.Equal(got, want) {
						t.Fatalf("links of %s: %v, want %v", ref, got, want)
					}
				}
				for _, email := range tc.Want.NoUser {
					if r := s.do("user-lookup-email", map[string]any{"email": email}); r.Success {
						t.Fatalf("a user %s was created", email)
					}
				}
			})
		}
	})
}

// replyKeys are the sorted keys of a reply's response.
func replyKeys(r *client.Reply) []string {
	var out []string
	for k := range r.Response {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// loginKeys are the keys of a successful user-login's response.
func (s *socialEnv) loginKeys() []string {
	s.t.Helper()
	s.verifiedUser("keys@example.org")
	r := s.do("user-login", map[string]any{"session_token": s.newSession(nil), "email": "keys@example.org", "password": goodPassword})
	expect(s.t, r, true, "", "Login successful.")
	return replyKeys(r)
}

// checkNewUser: a user created by a social login is active with a verified
// e-mail and its provider's name, and no password logs it in (and a
// password login costs what it always costs: it is not refused as busy).
func (s *socialEnv) checkNewUser(id int64, ident socialIdentity) {
	s.t.Helper()
	r := s.do("user-list", map[string]any{"user_id": id})
	list, _ := r.Response["user_info"].([]any)
	if len(list) != 1 {
		s.t.Fatalf("user-list %d: %+v", id, r)
	}
	u := list[0].(map[string]any)
	var wantName any
	if ident.Name != "" {
		wantName = ident.Name
	}
	if u["email"] != strings.ToLower(ident.Email) || u["email_verified"] != true || u["is_active"] != true || u["full_name"] != wantName {
		s.t.Fatalf("new user %+v", u)
	}
	for _, pw := range []string{"", ident.Sub} {
		session := s.newSession(nil)
		login := s.do("user-login", map[string]any{"session_token": session, "email": ident.Email, "password": pw})
		expect(s.t, login, false, "user does not exist or password doesn't match")
	}
}

// TestSocialLoginProtocol: the state is single-use, expires, and belongs to
// the session that started the login; what the provider answers is
// verified (nonce, signature); failures of the provider are told apart;
// a server without providers refuses every social type.
func TestSocialLoginProtocol(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, s *socialEnv, jane socialIdentity)
	}{
		// First: the signing keys are fetched once and then cached.
		{"signing keys down", func(t *testing.T, s *socialEnv, jane socialIdentity) {
			s.idp.set(nil, map[string]int{mockoidc.JWKSEndpoint: 502})
			s.queue("idp", jane)
			expect(t, s.login("idp", s.newSession(nil)), false, "provider unavailable")
		}},
		{"a user with TOTP on finishes with the second factor", func(t *testing.T, s *socialEnv, jane socialIdentity) {
			u := s.totpUser(jane.Email)
			s.queue("idp", jane)
			r := s.login("idp", s.newSession(nil))
			expect(t, r, false, "second factor required")
			if str(r, "second_factor") != "totp" || len(str(r, "challenge")) != 43 {
				t.Fatalf("second factor reply %+v", r.Response)
			}
			r = s.loginTOTP(str(r, "challenge"), codeAt(t, s.testEnv, u.secret, 1))
			expect(t, r, true, "")
			if num(r, "user_id") != u.id {
				t.Fatalf("logged in as %d, want %d", num(r, "user_id"), u.id)
			}
			// Linking from the user's own logged-in session needs no second
			// factor: the session got past it.
			s.queue("github", socialIdentity{Sub: "4242", Email: jane.Email, EmailVerified: true, Username: "jane"})
			expect(t, s.login("github", s.userSession(u.id)), true, "")
		}},
		{"replayed state", func(t *testing.T, s *socialEnv, jane socialIdentity) {
			session := s.newSession(nil)
			s.queue("idp", jane)
			authURL, state := s.start("idp", session)
			code := s.authorize(authURL, state)
			expect(t, s.finish("idp", state, code, session), true, "")
			// The same request again: its session has ended.
			expect(t, s.finish("idp", state, code, session), false, "session does not exist")
			// With a live session: the state was used.
			expect(t, s.finish("idp", state, code, s.newSession(nil)), false, "state invalid or expired")
		}},
		{"expired state", func(t *testing.T, s *socialEnv, jane socialIdentity) {
			session := s.newSession(nil)
			s.queue("idp", jane)
			authURL, state := s.start("idp", session)
			code := s.authorize(authURL, state)
			s.clock.Sleep(context.Background(), 10*time.Minute+time.Second)
			expect(t, s.finish("idp", state, code, session), false, "state invalid or expired",
				"This login attempt has expired or is not valid. Please start again.")
			s.sessionGone(session)
		}},
		{"state finished with another session", func(t *testing.T, s *socialEnv, jane socialIdentity) {
			session, other := s.newSession(nil), s.newSession(nil)
			s.queue("idp", jane)
			authURL, state := s.start("idp", session)
			code := s.authorize(authURL, state)
			expect(t, s.finish("idp", state, code, other), false, "state invalid or expired")
			s.sessionGone(other)
			// The state stays usable by the session that started it.
			expect(t, s.finish("idp", state, code, session), true, "")
		}},
		{"state finished for another provider", func(t *testing.T, s *socialEnv, jane socialIdentity) {
			session := s.newSession(nil)
			s.queue("idp", jane)
			authURL, state := s.start("idp", session)
			code := s.authorize(authURL, state)
			expect(t, s.finish("github", state, code, session), false, "state invalid or expired")
		}},
		{"wrong nonce", func(t *testing.T, s *socialEnv, jane socialIdentity) {
			s.idp.set(resign(func(c jwt.MapClaims) { c["nonce"] = "not-the-nonce" }), nil)
			s.queue("idp", jane)
			expect(t, s.login("idp", s.newSession(nil)), false, "ID token invalid",
				"The login provider's answer could not be verified. Please start again.")
		}},
		{"ID token payload altered", func(t *testing.T, s *socialEnv, jane socialIdentity) {
			s.idp.set(func(_ *mockoidc.MockOIDC, raw string) string {
				parts := strings.Split(raw, ".")
				payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
				parts[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"`+jane.Sub+`"`, `"eve"`, 1)))
				return strings.Join(parts, ".")
			}, nil)
			s.queue("idp", jane)
			expect(t, s.login("idp", s.newSession(nil)), false, "ID token invalid")
		}},
		{"ID token for another audience", func(t *testing.T, s *socialEnv, jane socialIdentity) {
			s.idp.set(resign(func(c jwt.MapClaims) { c["aud"] = "another-client" }), nil)
			s.queue("idp", jane)
			expect(t, s.login("idp", s.newSession(nil)), false, "ID token invalid")
		}},
		{"code not issued", func(t *testing.T, s *socialEnv, jane socialIdentity) {
			session := s.newSession(nil)
			s.queue("idp", jane)
			authURL, state := s.start("idp", session)
			s.authorize(authURL, state)
			expect(t, s.finish("idp", state, "never-issued", session), false, "authorization code exchange failed",
				"The login provider did not confirm this login. Please start again.")
		}},
		{"token endpoint down", func(t *testing.T, s *socialEnv, jane socialIdentity) {
			s.idp.set(nil, map[string]int{mockoidc.TokenEndpoint: 503})
			s.queue("idp", jane)
			expect(t, s.login("idp", s.newSession(nil)), false, "provider unavailable",
				"The login provider could not be reached. Please try again later.")
		}},
		{"discovery down", func(t *testing.T, s *socialEnv, jane socialIdentity) {
			session := s.newSession(nil)
			r := s.do("user-social-start", map[string]any{"provider": "down", "session_token": session})
			expect(t, r, false, "provider unavailable")
			if v, ok := r.Response["authorization_url"]; !ok || v != nil {
				t.Fatalf("authorization_url %v, want null", v)
			}
		}},
		{"unknown provider", func(t *testing.T, s *socialEnv, jane socialIdentity) {
			for _, request := range []string{"user-social-start", "user-social-finish"} {
				r := s.do(request, map[string]any{"provider": "myspace", "session_token": s.newSession(nil), "state": "s", "code": "c"})
				expect(t, r, false, "unknown provider", "This login provider is not available.")
			}
		}},
		{"start without a live session", func(t *testing.T, s *socialEnv, jane socialIdentity) {
			r := s.do("user-social-start", map[string]any{"provider": "idp", "session_token": "no-such-session"})
			expect(t, r, false, "session does not exist", "No session token provided.")
		}},
		{"concurrent first logins make one user", func(t *testing.T, s *socialEnv, jane socialIdentity) {
			const n = 4
			bodies := make([]map[string]any, n)
			for i := range bodies {
				session := s.newSession(nil)
				s.queue("idp", jane)
				authURL, state := s.start("idp", session)
				bodies[i] = map[string]any{"provider": "idp", "state": state, "code": s.authorize(authURL, state), "session_token": session}
			}
			replies := make([]*client.Reply, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range bodies {
				wg.Go(func() { replies[i], errs[i] = s.c.Do(context.Background(), "user-social-finish", bodies[i]) })
			}
			wg.Wait()
			users := map[int64]bool{}
			for i, r := range replies {
				switch {
				case errs[i] != nil:
					t.Fatal(errs[i])
				case r.Success:
					users[num(r, "user_id")] = true
				case r.Reason() != "social login conflict":
					t.Fatalf("finish %d: %+v", i, r)
				}
			}
			if len(users) != 1 {
				t.Fatalf("logged in as users %v, want one", users)
			}
		}},
		{"a failed finish leaves nothing behind", func(t *testing.T, s *socialEnv, jane socialIdentity) {
			s.idp.set(nil, map[string]int{mockoidc.TokenEndpoint: 500})
			s.queue("idp", jane)
			expect(t, s.login("idp", s.newSession(nil)), false, "provider unavailable")
			s.idp.set(nil, nil)
			if r := s.do("user-lookup-email", map[string]any{"email": jane.Email}); r.Success {
				t.Fatal("a refused login created a user")
			}
			// The provider is back: the next login works.
			s.queue("idp", jane)
			expect(t, s.login("idp", s.newSession(nil)), true, "")
		}},
	}
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		s := newSocialEnv(t, db)
		parent := t
		defer func() { s.t = parent }()
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s.t = t
				defer s.idp.set(nil, nil)
				jane := socialIdentity{Sub: fmt.Sprintf("proto-%d", i), Email: fmt.Sprintf("proto%d@example.org", i), EmailVerified: true, Name: "Jane Proto"}
				tc.run(t, s, jane)
			})
		}
	})
}

// TestSocialLoginNotConfigured: without providers every social type
// answers "social login is not configured".
func TestSocialLoginNotConfigured(t *testing.T) {
	t.Parallel()
	e := newEnv(t, identitytest.SQLite(t))
	for request, body := range map[string]map[string]any{
		"user-social-start":  {"provider": "idp", "session_token": "s"},
		"user-social-finish": {"provider": "idp", "session_token": "s", "state": "s", "code": "c"},
		"user-social-list":   {"user_id": 1},
		"user-social-unlink": {"user_id": 1, "provider": "idp"},
	} {
		expect(t, e.do(request, body), false, "social login is not configured", "Social login is not available on this server.")
	}
}

// TestSocialUnlink: list and unlink, never the last way to log in of a
// user without a password; a password set later makes the last link
// removable.
func TestSocialUnlink(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		s := newSocialEnv(t, db)
		s.queue("idp", socialIdentity{Sub: "un-1", Email: "social@example.org", EmailVerified: true})
		r := s.login("idp", s.newSession(nil))
		expect(t, r, true, "")
		social := num(r, "user_id")
		pwUser := s.verifiedUser("password@example.org")
		s.queue("github", socialIdentity{Sub: "777", Email: "password@example.org", EmailVerified: true, Username: "pw"})
		expect(t, s.login("github", s.newSession(nil)), true, "")

		steps := []struct {
			name     string
			before   func()
			user     int64
			provider string
			reason   string
			links    []string
		}{
			{"the only way of a user without password", nil, social, "idp", "last login method", []string{"idp"}},
			{"not linked", nil, social, "github", "no such link", []string{"idp"}},
			{"unknown user", nil, 999999, "idp", "no such link", nil},
			{"one of two", func() {
				s.queue("x", socialIdentity{Sub: "x-un", Username: "un"})
				expect(t, s.login("x", s.newSession(social)), true, "")
			}, social, "idp", "", []string{"x"}},
			{"the last again", nil, social, "x", "last login method", []string{"x"}},
			{"the only link of a user with a password", nil, pwUser, "github", "", []string{}},
		}
		parent := t
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				s.t = t
				defer func() { s.t = parent }()
				if st.before != nil {
					st.before()
				}
				r := s.do("user-social-unlink", map[string]any{"user_id": st.user, "provider": st.provider})
				if st.reason == "" {
					expect(t, r, true, "", "Login unlinked.")
				} else {
					expect(t, r, false, st.reason)
				}
				if st.links != nil {
					if got := s.links(st.user); !slices.Equal(got, st.links) {
						t.Fatalf("links %v, want %v", got, st.links)
					}
				}
			})
		}
		// The unlinked account links again by its verified e-mail.
		s.queue("idp", socialIdentity{Sub: "un-1", Email: "social@example.org", EmailVerified: true})
		r = s.login("idp", s.newSession(nil))
		expect(t, r, true, "")
		if num(r, "user_id") != social {
			t.Fatalf("logged in as %d, want %d", num(r, "user_id"), social)
		}
		expect(t, s.do("user-social-list", map[string]any{"user_id": 999999}), false, "no such user", "User look up failed.")
	})
}
