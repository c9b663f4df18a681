package identity_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// socialClock is a settable clock for the store.
type socialClock struct{ now atomic.Int64 }

func (c *socialClock) Now() time.Time      { return time.Unix(0, c.now.Load()).UTC() }
func (c *socialClock) Add(d time.Duration) { c.now.Add(int64(d)) }

func clockedStore(t *testing.T, db identitytest.DB) (*identity.Store, *socialClock) {
	t.Helper()
	s := bootstrapped(t, db)
	c := &socialClock{}
	c.now.Store(time.Now().UnixNano())
	s.SetClock(c.Now)
	return s, c
}

// socialUser returns a new user for CreateSocialUser, its password marked
// as a placeholder.
func socialUser(email, hash string) *identity.User {
	extra := map[string]any{"provenance": "social-login"}
	identity.MarkPasswordPlaceholder(extra, hash)
	doc, _ := identity.MarshalObject(extra)
	sysID, _ := identity.NewToken()
	return &identity.User{SystemID: sysID[:36], Password: hash, Email: email, EmailVerified: true, IsActive: true,
		UserRole: "authenticated", ExtraInfo: doc}
}

// TestSocialStates: a state is consumed once, only by the session and for
// the provider that started it, only before it expires; only digests are
// stored; expired states are purged in batches.
func TestSocialStates(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s, clock := clockedStore(t, db)
		state, _ := identity.NewToken()
		session, _ := identity.NewToken()
		if err := s.StartSocialLogin(ctx, state, "idp", session, 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		var stored []struct {
			StateHash   string `bun:"state_hash"`
			Provider    string `bun:"provider"`
			SessionHash string `bun:"session_hash"`
		}
		if err := s.DB().NewRaw("SELECT state_hash, provider, session_hash FROM social_states").Scan(ctx, &stored); err != nil {
			t.Fatal(err)
		}
		if len(stored) != 1 || stored[0].StateHash != identity.TokenHash(state) || stored[0].SessionHash != identity.TokenHash(session) ||
			strings.Contains(fmt.Sprint(stored), state) || strings.Contains(fmt.Sprint(stored), session) {
			t.Fatalf("stored %+v: want the digests only", stored)
		}
		other, _ := identity.NewToken()
		for _, tc := range []struct {
			name                    string
			state, provider, sesson string
			advance                 time.Duration
			want                    bool
		}{
			{"another session", state, "idp", other, 0, false},
			{"another provider", state, "github", session, 0, false},
			{"another state", other, "idp", session, 0, false},
			{"its own session", state, "idp", session, 0, true},
			{"replayed", state, "idp", session, 0, false},
		} {
			clock.Add(tc.advance)
			got, err := s.ConsumeSocialState(ctx, tc.state, tc.provider, tc.sesson)
			if err != nil || got != tc.want {
				t.Fatalf("%s: consumed %v %v, want %v", tc.name, got, err, tc.want)
			}
		}

		// Expiry: usable until the 10 minutes are over.
		fresh, _ := identity.NewToken()
		if err := s.StartSocialLogin(ctx, fresh, "idp", session, 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		clock.Add(10 * time.Minute)
		if got, err := s.ConsumeSocialState(ctx, fresh, "idp", session); err != nil || got {
			t.Fatalf("expired state consumed: %v %v", got, err)
		}

		// Purge: 5 expired (with the one above: 6), 1 live.
		for range 5 {
			st, _ := identity.NewToken()
			if err := s.StartSocialLogin(ctx, st, "idp", session, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		clock.Add(2 * time.Minute)
		live, _ := identity.NewToken()
		if err := s.StartSocialLogin(ctx, live, "idp", session, 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		n, err := s.PurgeSocialStates(ctx, clock.Now(), 2)
		if err != nil || n != 6 {
			t.Fatalf("purged %d %v, want 6", n, err)
		}
		if got, err := s.ConsumeSocialState(ctx, live, "idp", session); err != nil || !got {
			t.Fatalf("the live state was purged: %v %v", got, err)
		}
	})
}

// TestSocialLinks: links are found by (provider, subject) and listed by
// user; one provider account never links twice nor to two users, a user
// has one account per provider; deleting the user deletes the links.
func TestSocialLinks(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s, _ := clockedStore(t, db)
		u := socialUser("jane@example.org", "plain$placeholder")
		l := &identity.SocialLogin{Provider: "idp", Subject: "Sub-1", Email: "jane@example.org"}
		if err := s.CreateSocialUser(ctx, u, l); err != nil {
			t.Fatal(err)
		}
		if u.UserID <= identity.SystemUsers || l.UserID != u.UserID {
			t.Fatalf("user %d, link user %d", u.UserID, l.UserID)
		}
		got, err := s.SocialLoginBySubject(ctx, "idp", "Sub-1")
		if err != nil || got.UserID != u.UserID || got.Email != "jane@example.org" || got.LinkedOn.IsZero() {
			t.Fatalf("by subject: %+v %v", got, err)
		}
		// Subjects are compared exactly.
		if _, err := s.SocialLoginBySubject(ctx, "idp", "sub-1"); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("case-folded subject found: %v", err)
		}
		for _, tc := range []struct {
			name string
			link identity.SocialLogin
			want error
		}{
			{"same account to another user", identity.SocialLogin{Provider: "idp", Subject: "Sub-1", UserID: 1}, identity.ErrDuplicate},
			{"second account of a provider", identity.SocialLogin{Provider: "idp", Subject: "Sub-2", UserID: u.UserID}, identity.ErrDuplicate},
			{"unknown user", identity.SocialLogin{Provider: "idp", Subject: "Sub-3", UserID: 999}, identity.ErrNoUser},
			{"another provider", identity.SocialLogin{Provider: "github", Subject: "Sub-1", UserID: u.UserID}, nil},
			{"case differs", identity.SocialLogin{Provider: "idp", Subject: "sub-1", UserID: 1}, nil},
		} {
			if err := s.LinkSocialLogin(ctx, &tc.link); !errors.Is(err, tc.want) {
				t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		list, err := s.SocialLogins(ctx, u.UserID)
		if err != nil || len(list) != 2 || list[0].Provider != "github" || list[1].Provider != "idp" {
			t.Fatalf("list: %+v %v", list, err)
		}
		if list, err := s.SocialLogins(ctx, 2); err != nil || list == nil || len(list) != 0 {
			t.Fatalf("list of a user without links: %#v %v", list, err)
		}
		// The same provider account creates no second user, nor does the
		// same e-mail; nothing is left behind.
		before, _ := s.CountNonSystemUsers(ctx)
		for _, tc := range []struct{ email, subject string }{{"other@example.org", "Sub-1"}, {"jane@example.org", "Sub-9"}} {
			err := s.CreateSocialUser(ctx, socialUser(tc.email, "plain$x"), &identity.SocialLogin{Provider: "idp", Subject: tc.subject})
			if !errors.Is(err, identity.ErrDuplicate) {
				t.Fatalf("%s/%s: %v, want ErrDuplicate", tc.email, tc.subject, err)
			}
		}
		if after, _ := s.CountNonSystemUsers(ctx); after != before {
			t.Fatalf("users %d -> %d", before, after)
		}
		if _, err := s.SocialLoginBySubject(ctx, "idp", "Sub-9"); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("link of a refused creation: %v", err)
		}
		if _, err := s.DB().NewDelete().Model((*identity.User)(nil)).Where("user_id = ?", u.UserID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if list, err := s.SocialLogins(ctx, u.UserID); err != nil || len(list) != 0 {
			t.Fatalf("links of a deleted user: %+v %v", list, err)
		}
	})
}

// TestSocialUserCreationRace: of concurrent first logins with one provider
// account exactly one creates a user.
func TestSocialUserCreationRace(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s, _ := clockedStore(t, db)
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				errs[i] = s.CreateSocialUser(ctx, socialUser(fmt.Sprintf("racer%d@example.org", i), "plain$x"),
					&identity.SocialLogin{Provider: "idp", Subject: "racer"})
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, identity.ErrDuplicate):
				t.Errorf("unexpected error: %v", err)
			}
		}
		if users, _ := s.CountNonSystemUsers(ctx); ok != 1 || users != 1 {
			t.Fatalf("%d creations succeeded, %d users; want 1 and 1", ok, users)
		}
	})
}

// TestUnlinkSocialLogin: the last link of a user without a usable password
// stays; with another link, or once a password was set, it goes.
func TestUnlinkSocialLogin(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s, _ := clockedStore(t, db)
		u := socialUser("jane@example.org", "plain$placeholder")
		if err := s.CreateSocialUser(ctx, u, &identity.SocialLogin{Provider: "idp", Subject: "s1"}); err != nil {
			t.Fatal(err)
		}
		if identity.HasUsablePassword(u) {
			t.Fatal("a placeholder password counts as usable")
		}
		if err := s.LinkSocialLogin(ctx, &identity.SocialLogin{Provider: "github", Subject: "g1", UserID: u.UserID}); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			name     string
			provider string
			before   func()
			want     error
		}{
			{"not linked", "x", nil, identity.ErrNotFound},
			{"one of two", "github", nil, nil},
			{"gone already", "github", nil, identity.ErrNotFound},
			{"the last, no password", "idp", nil, identity.ErrLastLoginMethod},
			{"the last, password set", "idp", func() {
				if err := s.SetPasswordHash(ctx, u.UserID, u.Email, "plain$chosen"); err != nil {
					t.Fatal(err)
				}
			}, nil},
		}
		for _, st := range steps {
			if st.before != nil {
				st.before()
			}
			if err := s.UnlinkSocialLogin(ctx, u.UserID, st.provider); !errors.Is(err, st.want) {
				t.Fatalf("%s: %v, want %v", st.name, err, st.want)
			}
		}
		if err := s.UnlinkSocialLogin(ctx, 999, "idp"); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("unknown user: %v", err)
		}
		after, err := s.UserByID(ctx, u.UserID)
		if err != nil || !identity.HasUsablePassword(after) {
			t.Fatalf("after the password was set: usable %v %v", identity.HasUsablePassword(after), err)
		}

		// Two concurrent unlinks of the last two links of a user without a
		// password: one succeeds, one is refused.
		v := socialUser("joe@example.org", "plain$placeholder2")
		if err := s.CreateSocialUser(ctx, v, &identity.SocialLogin{Provider: "idp", Subject: "s2"}); err != nil {
			t.Fatal(err)
		}
		if err := s.LinkSocialLogin(ctx, &identity.SocialLogin{Provider: "github", Subject: "g2", UserID: v.UserID}); err != nil {
			t.Fatal(err)
		}
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, p := range []string{"idp", "github"} {
			wg.Go(func() { errs[i] = s.UnlinkSocialLogin(ctx, v.UserID, p) })
		}
		wg.Wait()
		left, _ := s.SocialLogins(ctx, v.UserID)
		refused := errors.Is(errs[0], identity.ErrLastLoginMethod) != errors.Is(errs[1], identity.ErrLastLoginMethod)
		if !refused || (errs[0] != nil && errs[1] != nil) || len(left) != 1 {
			t.Fatalf("concurrent unlinks: %v, %v; %d links left", errs[0], errs[1], len(left))
		}
	})
}
