package identity_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// manualClock is a store clock the test moves by hand.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// totpStore is a migrated, bootstrapped store on db with one ordinary
// user, whose id it returns, and the clock the store reads.
func totpStore(t *testing.T, db identitytest.DB) (*identity.Store, int64, *manualClock) {
	t.Helper()
	ctx := context.Background()
	s := open(t, db)
	clock := &manualClock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	s.SetClock(clock.Now)
	if _, err := s.Bootstrap(ctx, plainHasher{}, roles, "admin@example.org", "pw"); err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateBergsonAccount(ctx, "totpuser", "plain$pw")
	if err != nil {
		t.Fatal(err)
	}
	return s, u.UserID, clock
}

// exactlyOne runs f n times at once and reports how many calls returned
// true; any error fails the test.
func exactlyOne(t *testing.T, n int, f func() (bool, error)) int {
	t.Helper()
	var wins atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := f()
			if err != nil {
				errs <- err
				return
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return int(wins.Load())
}

// TestTOTPSecretLifecycle: a pending secret is replaced until it is
// confirmed, confirmation happens once, an enabled secret is never
// replaced, each step is accepted once even under concurrency, and
// disabling removes every row.
func TestTOTPSecretLifecycle(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s, uid, _ := totpStore(t, db)
		if _, err := s.TOTPSecretOf(ctx, uid); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("secret before enrolment: %v", err)
		}
		if err := s.PutPendingTOTP(ctx, 99999, "v1.x"); !errors.Is(err, identity.ErrNoUser) {
			t.Fatalf("pending secret of a missing user: %v", err)
		}
		for _, sealed := range []string{"v1.first", "v1.second"} {
			if err := s.PutPendingTOTP(ctx, uid, sealed); err != nil {
				t.Fatal(err)
			}
			row, err := s.TOTPSecretOf(ctx, uid)
			if err != nil || row.Sealed != sealed || row.Enabled || row.LastStep != 0 {
				t.Fatalf("pending row %+v %v, want %q", row, err, sealed)
			}
		}
		if on, left, err := s.TOTPStatus(ctx, uid); err != nil || on || left != 0 {
			t.Fatalf("status of a pending secret: %v %d %v", on, left, err)
		}
		digests := []string{strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64)}
		if n := exactlyOne(t, 4, func() (bool, error) { return s.EnableTOTP(ctx, uid, 100, digests) }); n != 1 {
			t.Fatalf("%d confirmations succeeded, want 1", n)
		}
		row, err := s.TOTPSecretOf(ctx, uid)
		if err != nil || !row.Enabled || row.LastStep != 100 || row.EnabledOn == nil || row.Sealed != "v1.second" {
			t.Fatalf("enabled row %+v %v", row, err)
		}
		if err := s.PutPendingTOTP(ctx, uid, "v1.third"); !errors.Is(err, identity.ErrTOTPEnabled) {
			t.Fatalf("pending secret over an enabled one: %v", err)
		}
		if on, left, err := s.TOTPStatus(ctx, uid); err != nil || !on || left != 3 {
			t.Fatalf("status: %v %d %v", on, left, err)
		}
		for _, c := range []struct {
			step int64
			want bool
		}{{100, false}, {99, false}, {101, true}, {101, false}, {103, true}, {102, false}} {
			if ok, err := s.UseTOTPStep(ctx, uid, c.step); err != nil || ok != c.want {
				t.Fatalf("use step %d: %v %v, want %v", c.step, ok, err, c.want)
			}
		}
		if n := exactlyOne(t, 4, func() (bool, error) { return s.UseTOTPStep(ctx, uid, 104) }); n != 1 {
			t.Fatalf("step 104 accepted %d times, want 1", n)
		}
		existed, err := s.DisableTOTP(ctx, uid)
		if err != nil || !existed {
			t.Fatalf("disable: %v %v", existed, err)
		}
		if existed, err := s.DisableTOTP(ctx, uid); err != nil || existed {
			t.Fatalf("disable again: %v %v", existed, err)
		}
		if ok, err := s.UseTOTPStep(ctx, uid, 200); err != nil || ok {
			t.Fatalf("step of a disabled secret: %v %v", ok, err)
		}
		if left, err := s.UnusedRecoveryCodes(ctx, uid); err != nil || len(left) != 0 {
			t.Fatalf("recovery codes after disable: %v %v", left, err)
		}
	})
}

// TestTOTPRecoveryCodes: each code is spent once, also when raced, and
// only the user's own codes count.
func TestTOTPRecoveryCodes(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s, uid, _ := totpStore(t, db)
		if err := s.PutPendingTOTP(ctx, uid, "v1.x"); err != nil {
			t.Fatal(err)
		}
		a, b := strings.Repeat("1", 64), strings.Repeat("2", 64)
		if ok, err := s.EnableTOTP(ctx, uid, 1, []string{b, a}); err != nil || !ok {
			t.Fatalf("enable: %v %v", ok, err)
		}
		if got, err := s.UnusedRecoveryCodes(ctx, uid); err != nil || len(got) != 2 || got[0] != a || got[1] != b {
			t.Fatalf("unused codes %v %v", got, err)
		}
		if ok, err := s.UseRecoveryCode(ctx, 1, a); err != nil || ok {
			t.Fatalf("another user's code spent: %v %v", ok, err)
		}
		if n := exactlyOne(t, 4, func() (bool, error) { return s.UseRecoveryCode(ctx, uid, a) }); n != 1 {
			t.Fatalf("code spent %d times, want 1", n)
		}
		if got, err := s.UnusedRecoveryCodes(ctx, uid); err != nil || len(got) != 1 || got[0] != b {
			t.Fatalf("unused codes after one was spent %v %v", got, err)
		}
		if on, left, err := s.TOTPStatus(ctx, uid); err != nil || !on || left != 1 {
			t.Fatalf("status: %v %d %v", on, left, err)
		}
	})
}

// TestTOTPChallenges: a challenge is stored as its digest, names its user
// until it expires, is consumed once (also when raced) and only for its
// own user; expired ones are purged.
func TestTOTPChallenges(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s, uid, clock := totpStore(t, db)
		if _, err := s.NewTOTPChallenge(ctx, 99999, time.Minute); !errors.Is(err, identity.ErrNoUser) {
			t.Fatalf("challenge of a missing user: %v", err)
		}
		ch, err := s.NewTOTPChallenge(ctx, uid, 5*time.Minute)
		if err != nil || len(ch) != 43 {
			t.Fatalf("challenge %q %v", ch, err)
		}
		var stored []string
		if err := s.DB().NewSelect().Table("totp_challenges").Column("digest").Scan(ctx, &stored); err != nil {
			t.Fatal(err)
		}
		if len(stored) != 1 || stored[0] != identity.TokenHash(ch) {
			t.Fatalf("stored %v, want the digest of the challenge", stored)
		}
		if got, err := s.TOTPChallengeUser(ctx, ch); err != nil || got != uid {
			t.Fatalf("challenge user %d %v", got, err)
		}
		if _, err := s.TOTPChallengeUser(ctx, ch+"x"); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("unknown challenge: %v", err)
		}
		if ok, err := s.ConsumeTOTPChallenge(ctx, ch, 1); err != nil || ok {
			t.Fatalf("challenge consumed for another user: %v %v", ok, err)
		}
		if n := exactlyOne(t, 4, func() (bool, error) { return s.ConsumeTOTPChallenge(ctx, ch, uid) }); n != 1 {
			t.Fatalf("challenge consumed %d times, want 1", n)
		}
		if _, err := s.TOTPChallengeUser(ctx, ch); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("consumed challenge: %v", err)
		}

		old, err := s.NewTOTPChallenge(ctx, uid, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		clock.Add(5 * time.Minute)
		if _, err := s.TOTPChallengeUser(ctx, old); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("expired challenge: %v", err)
		}
		if ok, err := s.ConsumeTOTPChallenge(ctx, old, uid); err != nil || ok {
			t.Fatalf("expired challenge consumed: %v %v", ok, err)
		}
		// A new challenge removes the user's expired ones.
		fresh, err := s.NewTOTPChallenge(ctx, uid, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.DB().NewSelect().Table("totp_challenges").Count(ctx); err != nil || n != 1 {
			t.Fatalf("%d challenges stored (%v), want only the fresh one", n, err)
		}
		if _, err := s.NewTOTPChallenge(ctx, uid, time.Minute); err != nil {
			t.Fatal(err)
		}
		clock.Add(2 * time.Minute)
		if n, err := s.PurgeTOTPChallenges(ctx, clock.Now(), 1); err != nil || n != 1 {
			t.Fatalf("purged %d (%v), want 1", n, err)
		}
		if n, err := s.DeleteTOTPChallenges(ctx, uid); err != nil || n != 1 {
			t.Fatalf("deleted %d (%v), want the fresh one", n, err)
		}
		if _, err := s.TOTPChallengeUser(ctx, fresh); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("deleted challenge: %v", err)
		}
	})
}

// TestTOTPRowsGoWithTheUser: deleting a user deletes their TOTP rows.
func TestTOTPRowsGoWithTheUser(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s, uid, _ := totpStore(t, db)
		if err := s.PutPendingTOTP(ctx, uid, "v1.x"); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.EnableTOTP(ctx, uid, 1, []string{strings.Repeat("d", 64)}); err != nil || !ok {
			t.Fatalf("enable: %v %v", ok, err)
		}
		if _, err := s.NewTOTPChallenge(ctx, uid, time.Minute); err != nil {
			t.Fatal(err)
		}
		if existed, err := s.DeleteUser(ctx, uid); err != nil || !existed {
			t.Fatalf("delete user: %v %v", existed, err)
		}
		for _, table := range []string{"totp_secrets", "totp_recovery_codes", "totp_challenges"} {
			if n, err := s.DB().NewSelect().Table(table).Count(ctx); err != nil || n != 0 {
				t.Errorf("%s: %d rows left (%v)", table, n, err)
			}
		}
	})
}
