package identity_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// TestKeyValidity: a key (either kind) and a session are found only by
// their own token, for their own user and role, inside their validity
// window; every other case is ErrNotFound.
func TestKeyValidity(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s := open(t, db)
		if _, err := s.Bootstrap(ctx, plainHasher{}, roles, "", ""); err != nil {
			t.Fatal(err)
		}
		session, err := s.CreateSession(ctx, identity.NewSessionParams{IPAddress: "203.0.113.7", UserAgent: "test", UserID: 1, Expires: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		cases := []struct {
			name                 string
			issued, nbf, expires time.Duration
			askToken, askRole    string
			askUser              int64
			found                bool
		}{
			{name: "valid", issued: -time.Minute, nbf: -time.Minute, expires: time.Hour, found: true},
			{name: "expired", issued: -2 * time.Hour, nbf: -2 * time.Hour, expires: -time.Second},
			{name: "not yet valid", issued: -time.Minute, nbf: time.Hour, expires: 2 * time.Hour},
			{name: "issued in the future", issued: time.Hour, nbf: -time.Minute, expires: 2 * time.Hour},
			{name: "other user", issued: -time.Minute, nbf: -time.Minute, expires: time.Hour, askUser: 2},
			{name: "other role", issued: -time.Minute, nbf: -time.Minute, expires: time.Hour, askRole: "staff"},
			{name: "unknown token", issued: -time.Minute, nbf: -time.Minute, expires: time.Hour, askToken: "no-such-token"},
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				tkn, _ := identity.NewToken()
				refresh, _ := identity.NewToken()
				if err := s.NewAPIKey(ctx, tkn, session, 1, "superuser", now.Add(c.issued), now.Add(c.expires), now.Add(c.nbf)); err != nil {
					t.Fatal(err)
				}
				ns, _ := identity.NewToken()
				if err := s.NewNoSessionKey(ctx, identity.NoSessionKeyParams{Token: ns, RefreshToken: refresh, UserID: 1, UserRole: "superuser",
					Issued: now.Add(c.issued), Expires: now.Add(c.expires), NotValidBefore: now.Add(c.nbf),
					RefreshExpires: now.Add(time.Hour), RefreshNotValidTill: now}); err != nil {
					t.Fatal(err)
				}
				user, role := int64(1), "superuser"
				if c.askUser != 0 {
					user = c.askUser
				}
				if c.askRole != "" {
					role = c.askRole
				}
				askBound, askFree := tkn, ns
				if c.askToken != "" {
					askBound, askFree = c.askToken, c.askToken
				}
				k, err := s.VerifyAPIKey(ctx, askBound, user, role)
				if got := err == nil && k != nil; got != c.found || (!c.found && !errors.Is(err, identity.ErrNotFound)) {
					t.Errorf("case %d session-bound key: %+v %v, want found=%v", i, k, err, c.found)
				}
				n, err := s.VerifyNoSessionKey(ctx, askFree, user, role)
				if got := err == nil && n != nil; got != c.found || (!c.found && !errors.Is(err, identity.ErrNotFound)) {
					t.Errorf("case %d no-session key: %+v %v, want found=%v", i, n, err, c.found)
				}
			})
		}
		if _, err := s.LiveSession(ctx, session); err != nil {
			t.Fatalf("live session: %v", err)
		}
		old, err := s.CreateSession(ctx, identity.NewSessionParams{IPAddress: "203.0.113.7", UserAgent: "test", UserID: 1, Expires: time.Now().Add(-time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.LiveSession(ctx, old); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("expired session: %v", err)
		}
		if _, err := s.UserByID(ctx, 999); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("unknown user: %v", err)
		}
	})
}
