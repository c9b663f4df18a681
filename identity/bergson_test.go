package identity_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// TestBergsonAccounts: a username-only account sits beside the e-mail
// accounts as the README says; enable/disable touch is_active only; a
// taken username is ErrDuplicate; unknown usernames are ErrNotFound.
func TestBergsonAccounts(t *testing.T) {
	t.Parallel()
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		t.Parallel()
		ctx := context.Background()
		s := bootstrapped(t, db)
		u, err := s.CreateBergsonAccount(ctx, "johndoe", "plain$secret")
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.UserByEmail(ctx, "johndoe")
		if err != nil {
			t.Fatal(err)
		}
		if got.UserID != u.UserID || !got.IsActive || !got.EmailVerified || got.UserRole != "authenticated" ||
			got.FullName != nil || !identity.IsBergsonAccount(got) || got.Password != "plain$secret" {
			t.Fatalf("stored account %+v (extra %s)", got, got.ExtraInfo)
		}
		if _, err := s.CreateBergsonAccount(ctx, "johndoe", "plain$other"); !errors.Is(err, identity.ErrDuplicate) {
			t.Fatalf("second create: %v, want ErrDuplicate", err)
		}
		if err := s.SetAccountEnabled(ctx, "johndoe", false); err != nil {
			t.Fatal(err)
		}
		off, _ := s.UserByEmail(ctx, "johndoe")
		if off.IsActive || off.UserRole != got.UserRole || off.Password != got.Password || !off.EmailVerified ||
			string(off.ExtraInfo) != string(got.ExtraInfo) {
			t.Fatalf("disable changed more than is_active: %+v", off)
		}
		// Disabling twice is fine (MySQL reports no changed row otherwise).
		if err := s.SetAccountEnabled(ctx, "johndoe", false); err != nil {
			t.Fatal(err)
		}
		if err := s.SetAccountEnabled(ctx, "johndoe", true); err != nil {
			t.Fatal(err)
		}
		if err := s.SetAccountPassword(ctx, "johndoe", "plain$new"); err != nil {
			t.Fatal(err)
		}
		on, _ := s.UserByEmail(ctx, "johndoe")
		if !on.IsActive || on.Password != "plain$new" {
			t.Fatalf("after enable and password change: %+v", on)
		}
		for _, f := range []func() error{
			func() error { return s.SetAccountEnabled(ctx, "nobodyhere", true) },
			func() error { return s.SetAccountPassword(ctx, "nobodyhere", "plain$x") },
		} {
			if err := f(); !errors.Is(err, identity.ErrNotFound) {
				t.Fatalf("unknown username: %v, want ErrNotFound", err)
			}
		}
	})
}

// TestBergsonAccountChangesReachTheCache: with the identity cache on, a
// password change and a disable through the Bergson API are seen at once
// (the cached user is forgotten), and disabling ends the account's
// sessions, as deactivation does for e-mail accounts.
func TestBergsonAccountChangesReachTheCache(t *testing.T) {
	t.Parallel()
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		t.Parallel()
		ctx := context.Background()
		s := bootstrapped(t, db)
		s.UseCache(identity.NewCache(identity.CacheOptions{TTL: time.Hour}))
		u, err := s.CreateBergsonAccount(ctx, "janedoe", "plain$one")
		if err != nil {
			t.Fatal(err)
		}
		token, err := s.CreateSession(ctx, identity.NewSessionParams{
			IPAddress: "192.0.2.1", UserAgent: "test", UserID: u.UserID, Expires: time.Now().Add(time.Hour),
		})
		if err != nil {
			t.Fatal(err)
		}
		if si, err := s.LiveSession(ctx, token); err != nil || si.User.Password != "plain$one" {
			t.Fatalf("session before the changes: %+v %v", si, err)
		}
		if err := s.SetAccountPassword(ctx, "janedoe", "plain$two"); err != nil {
			t.Fatal(err)
		}
		if got, err := s.UserByID(ctx, u.UserID); err != nil || got.Password != "plain$two" {
			t.Fatalf("cached user after a password change: %+v %v", got, err)
		}
		if err := s.SetAccountEnabled(ctx, "janedoe", false); err != nil {
			t.Fatal(err)
		}
		if got, err := s.UserByID(ctx, u.UserID); err != nil || got.IsActive {
			t.Fatalf("cached user after disable: %+v %v", got, err)
		}
		if si, err := s.LiveSession(ctx, token); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("session after disable: %+v %v, want ErrNotFound", si, err)
		}
	})
}

// TestHawkNonces: a nonce is fresh once per sender, also under concurrency;
// the purge removes only nonces older than the cutoff, in batches.
func TestHawkNonces(t *testing.T) {
	t.Parallel()
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		t.Parallel()
		ctx := context.Background()
		s := open(t, db)
		const n = 16
		var wg sync.WaitGroup
		fresh := make(chan bool, n)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.HawkNonceFresh(ctx, "someone", "Nonce1", 1000)
				if err != nil {
					t.Error(err)
				}
				fresh <- ok
			}()
		}
		wg.Wait()
		close(fresh)
		count := 0
		for ok := range fresh {
			if ok {
				count++
			}
		}
		if count != 1 {
			t.Fatalf("%d of %d concurrent uses of one nonce were fresh, want 1", count, n)
		}
		for _, c := range []struct {
			sender, nonce string
			ts            int64
			want          bool
		}{
			{"otherone", "Nonce1", 1000, true}, // nonces are per sender
			{"someone", "nonce1", 1000, true},  // and case-sensitive
			{"someone", "Nonce1", 2000, false}, // a nonce is used once, whatever the ts
			{"someone", strings.Repeat("n", 2000), 3000, true},
		} {
			if ok, err := s.HawkNonceFresh(ctx, c.sender, c.nonce, c.ts); err != nil || ok != c.want {
				t.Fatalf("HawkNonceFresh(%s, %.10s, %d) = %v, %v; want %v", c.sender, c.nonce, c.ts, ok, err, c.want)
			}
		}
		for i := range 5 {
			if _, err := s.HawkNonceFresh(ctx, "batch", strings.Repeat("b", i+1), 1500); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.PurgeHawkNonces(ctx, time.Unix(2000, 0), 2)
		if err != nil || got != 8 {
			t.Fatalf("purge = %d, %v; want 8 (3 at ts 1000, 5 at 1500)", got, err)
		}
		if ok, _ := s.HawkNonceFresh(ctx, "someone", strings.Repeat("n", 2000), 3000); ok {
			t.Fatal("a nonce newer than the cutoff was purged")
		}
	})
}

// TestImportBergsonAccountOutcomes: new, unchanged, updated, in use here,
// and clashing rows.
func TestImportBergsonAccountOutcomes(t *testing.T) {
	t.Parallel()
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		t.Parallel()
		ctx := context.Background()
		s := bootstrapped(t, db)
		isB := func(h string) bool { return strings.HasPrefix(h, "$b$") }
		created := time.Date(2015, 10, 21, 0, 20, 45, 0, time.UTC)
		src := identity.BergsonSource{ID: 7, Enabled: true, Username: "johndoe", Hash: "$b$1", CreatedAt: created}
		steps := []struct {
			name string
			mod  func(*identity.BergsonSource)
			want identity.BergsonImportOutcome
		}{
			{"new", func(*identity.BergsonSource) {}, identity.BergsonImported},
			{"again", func(*identity.BergsonSource) {}, identity.BergsonUnchanged},
			{"changed in the source", func(a *identity.BergsonSource) { a.Hash, a.Enabled = "$b$2", false }, identity.BergsonUpdated},
			{"again after the change", func(*identity.BergsonSource) {}, identity.BergsonUnchanged},
		}
		for _, st := range steps {
			st.mod(&src)
			got, err := s.ImportBergsonAccount(ctx, src, isB)
			if err != nil || got != st.want {
				t.Fatalf("%s: %v, %v; want %v", st.name, got, err, st.want)
			}
		}
		u, _ := s.UserByEmail(ctx, "johndoe")
		if u.Password != "$b$2" || u.IsActive || !u.CreatedOn.Equal(created) || !identity.IsBergsonAccount(u) {
			t.Fatalf("imported row %+v", u)
		}
		// Rehashed here: the source no longer wins.
		if err := s.SetAccountPassword(ctx, "johndoe", "$argon2id$x"); err != nil {
			t.Fatal(err)
		}
		if got, err := s.ImportBergsonAccount(ctx, src, isB); err != nil || got != identity.BergsonInUse {
			t.Fatalf("rehashed: %v, %v", got, err)
		}
		// A user that is not a Bergson account holding the name.
		newUser(t, s, "janedoe", nil)
		clash := identity.BergsonSource{ID: 8, Enabled: true, Username: "janedoe", Hash: "$b$3", CreatedAt: created}
		if got, err := s.ImportBergsonAccount(ctx, clash, isB); err != nil || got != identity.BergsonClash {
			t.Fatalf("clash: %v, %v", got, err)
		}
		if u, _ := s.UserByEmail(ctx, "janedoe"); u.Password != "plain$pw" {
			t.Fatal("a clashing user was overwritten")
		}
	})
}
