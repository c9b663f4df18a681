package identity_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// The tests in this file cover the store methods whose SQL differs between
// SQLite, PostgreSQL and MySQL: each asserts the same outcome on every
// database.

// bootstrapped opens, migrates and bootstraps a store (users 1–3).
func bootstrapped(t *testing.T, db identitytest.DB) *identity.Store {
	t.Helper()
	s := open(t, db)
	if _, err := s.Bootstrap(context.Background(), plainHasher{}, roles, "admin@example.org", "pw"); err != nil {
		t.Fatal(err)
	}
	return s
}

// newUser inserts an active user with this e-mail and extra_info.
func newUser(t *testing.T, s *identity.Store, email string, extra identity.JSON) *identity.User {
	t.Helper()
	sysID, _ := identity.NewToken()
	u := &identity.User{SystemID: sysID[:36], Password: "plain$pw", Email: email, EmailVerified: true, IsActive: true,
		UserRole: "authenticated", ExtraInfo: extra}
	if err := s.InsertUser(context.Background(), u); err != nil {
		t.Fatalf("insert %s: %v", email, err)
	}
	return u
}

// TestPasswordCheckReservations: of 100 concurrent checks of one account
// with a limit of 10, exactly 10 are reserved; their failures decide the
// lock-out exactly once; after it no check is reserved and a right password
// that was in flight is refused; a check that could not run counts nothing;
// a reservation left behind by a dead process ages out; a purge forgets old
// counters.
func TestPasswordCheckReservations(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s := open(t, db)
		const n, tries = 100, 10
		res := make([]identity.Reservation, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res[i], errs[i] = s.ReserveCheck(ctx, "victim@example.org", tries)
			}()
		}
		wg.Wait()
		reserved := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if res[i].Reserved {
				reserved++
			}
		}
		if reserved != tries {
			t.Fatalf("%d of %d concurrent checks reserved, want %d", reserved, n, tries)
		}
		// One of them had the right password; it is still being checked
		// when the other nine fail.
		decided := 0
		for range tries - 1 {
			r, err := s.ResolveCheck(ctx, "victim@example.org", tries, identity.CheckWrong)
			if err != nil {
				t.Fatal(err)
			}
			if r.LockDecided {
				decided++
			}
		}
		if r, err := s.ResolveCheck(ctx, "victim@example.org", tries, identity.CheckRight); err != nil || r.Refused || r.Failures != 0 {
			t.Fatalf("right password before the limit: %+v %v, want accepted and the count reset", r, err)
		}
		// Now ten wrong ones, one at a time: the tenth decides the lock-out.
		for i := range tries {
			if r, err := s.ReserveCheck(ctx, "victim@example.org", tries); err != nil || !r.Reserved {
				t.Fatalf("check %d not reserved: %+v %v", i, r, err)
			}
			r, err := s.ResolveCheck(ctx, "victim@example.org", tries, identity.CheckWrong)
			if err != nil {
				t.Fatal(err)
			}
			if r.LockDecided {
				decided++
			}
		}
		if decided != 1 {
			t.Fatalf("lock-out decided %d times, want once", decided)
		}
		if r, err := s.ReserveCheck(ctx, "victim@example.org", tries); err != nil || r.Reserved || !r.Locked {
			t.Fatalf("after the lock-out: %+v %v, want locked and not reserved", r, err)
		}
		if r, err := s.ResolveCheck(ctx, "victim@example.org", tries, identity.CheckRight); err != nil || !r.Refused {
			t.Fatalf("a right password resolved after the lock-out: %+v %v, want refused", r, err)
		}
		// Another account: a check that could not run counts nothing.
		if r, err := s.ReserveCheck(ctx, "other@example.org", 1); err != nil || !r.Reserved {
			t.Fatalf("%+v %v", r, err)
		}
		if r, err := s.ReserveCheck(ctx, "other@example.org", 1); err != nil || r.Reserved || r.Locked {
			t.Fatalf("second check while one is in flight: %+v %v, want neither reserved nor locked", r, err)
		}
		if r, err := s.ResolveCheck(ctx, "other@example.org", 1, identity.CheckNotRun); err != nil || r.Failures != 0 {
			t.Fatalf("%+v %v", r, err)
		}
		// A reservation whose process died ages out.
		if r, err := s.ReserveCheck(ctx, "other@example.org", 1); err != nil || !r.Reserved {
			t.Fatalf("%+v %v", r, err)
		}
		if _, err := s.DB().NewRaw("UPDATE login_failures SET pending_at = ?", time.Now().UTC().Add(-time.Hour)).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if r, err := s.ReserveCheck(ctx, "other@example.org", 1); err != nil || !r.Reserved {
			t.Fatalf("stale reservation still blocks: %+v %v", r, err)
		}
		// Reset after an unlock.
		if err := s.ResetLoginFailures(ctx, "victim@example.org"); err != nil {
			t.Fatal(err)
		}
		if r, err := s.ReserveCheck(ctx, "victim@example.org", tries); err != nil || !r.Reserved {
			t.Fatalf("after reset: %+v %v", r, err)
		}
		if gone, err := s.PurgeLoginFailures(ctx, time.Now().Add(-time.Hour)); err != nil || gone != 0 {
			t.Fatalf("purge of older counters: %d %v, want 0", gone, err)
		}
		if gone, err := s.PurgeLoginFailures(ctx, time.Now().Add(time.Second)); err != nil || gone != 2 {
			t.Fatalf("purge of every counter: %d %v, want 2", gone, err)
		}
	})
}

// TestLockOutThenUnlockExpired: a lockout can be extended (upsert), only an
// ended one is unlocked, exactly once, and the user gets the previous role
// back.
func TestLockOutThenUnlockExpired(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s := bootstrapped(t, db)
		u := newUser(t, s, "user@example.org", nil)
		if _, err := s.LockOut(ctx, u.UserID, time.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		// Locked again while locked: the lockout now ends in an hour.
		locked, err := s.LockOut(ctx, u.UserID, time.Now().Add(time.Hour))
		if err != nil || locked.UserRole != "locked" || locked.IsActive {
			t.Fatalf("lock out: %+v %v", locked, err)
		}
		if done, err := s.UnlockExpired(ctx, 0); err != nil || len(done) != 0 {
			t.Fatalf("unlocked %v %v before the lockout ended", done, err)
		}
		if _, err := s.LockOut(ctx, u.UserID, time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if done, err := s.UnlockExpired(ctx, u.UserID+1); err != nil || len(done) != 0 {
			t.Fatalf("another user's sweep unlocked %v %v", done, err)
		}
		done, err := s.UnlockExpired(ctx, 0)
		if err != nil || !slices.Equal(done, []int64{u.UserID}) {
			t.Fatalf("unlocked %v %v, want [%d]", done, err, u.UserID)
		}
		if done, err := s.UnlockExpired(ctx, 0); err != nil || len(done) != 0 {
			t.Fatalf("unlocked %v %v a second time", done, err)
		}
		back, err := s.UserByID(ctx, u.UserID)
		if err != nil || back.UserRole != "authenticated" || !back.IsActive {
			t.Fatalf("after unlock: %+v %v", back, err)
		}
	})
}

// TestUsersByExtraInfo: a user matches when every key of the query has an
// equal JSON value (same type, same case, same array order) in extra_info.
func TestUsersByExtraInfo(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s := bootstrapped(t, db)
		docs := []map[string]any{
			{"team": "blue", "level": 3, "admin": true, "tags": []any{"a", "b"}, "meta": map[string]any{"x": 1, "y": "z"}},
			{"team": "Blue", "level": "3", "admin": false, "tags": []any{"b", "a"}},
			{"team": "blue", "a.b": "dotted", `we"ird\key`: "quoted", "clé": "accent", "<tag>": "angle", "two words": 2},
			{},
		}
		ids := make([]int64, len(docs))
		for i, d := range docs {
			extra, err := identity.MarshalObject(d)
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = newUser(t, s, "u"+string(rune('a'+i))+"@example.org", extra).UserID
		}
		newUser(t, s, "null-extra@example.org", nil)
		cases := []struct {
			name  string
			match map[string]any
			want  []int // indexes into docs
		}{
			{"string", map[string]any{"team": "blue"}, []int{0, 2}},
			{"string case matters", map[string]any{"team": "BLUE"}, nil},
			{"number", map[string]any{"level": 3}, []int{0}},
			{"number as string", map[string]any{"level": "3"}, []int{1}},
			{"true", map[string]any{"admin": true}, []int{0}},
			{"false", map[string]any{"admin": false}, []int{1}},
			{"array", map[string]any{"tags": []any{"a", "b"}}, []int{0}},
			{"array order matters", map[string]any{"tags": []any{"b", "a"}}, []int{1}},
			{"object", map[string]any{"meta": map[string]any{"y": "z", "x": 1}}, []int{0}},
			{"every key", map[string]any{"team": "blue", "level": 3}, []int{0}},
			{"one key differs", map[string]any{"team": "blue", "level": 4}, nil},
			{"missing key", map[string]any{"nothere": "x"}, nil},
			{"dotted key", map[string]any{"a.b": "dotted"}, []int{2}},
			{"quote and backslash in key", map[string]any{`we"ird\key`: "quoted"}, []int{2}},
			{"non-ASCII key", map[string]any{"clé": "accent"}, []int{2}},
			{"angle brackets in key", map[string]any{"<tag>": "angle"}, []int{2}},
			{"space in key", map[string]any{"two words": 2}, []int{2}},
			{"injection attempt", map[string]any{"team') OR 1=1 --": "blue"}, nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				us, err := s.UsersByExtraInfo(ctx, c.match)
				if err != nil {
					t.Fatal(err)
				}
				var got, want []int64
				for _, u := range us {
					got = append(got, u.UserID)
				}
				for _, i := range c.want {
					want = append(want, ids[i])
				}
				if !slices.Equal(got, want) {
					t.Fatalf("matched users %v, want %v", got, want)
				}
			})
		}
	})
}

// TestUpdatesThatChangeNothingStillFind: an update that sets the values a
// row already has finds the row (MySQL counts changed rows unless told to
// count matched ones).
func TestUpdatesThatChangeNothingStillFind(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s := bootstrapped(t, db)
		u := newUser(t, s, "same@example.org", nil)
		tok, err := s.CreateSession(ctx, identity.NewSessionParams{IPAddress: "203.0.113.7", UserAgent: "ua", UserID: u.UserID, Expires: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		extra := identity.JSON(`{"k":"v"}`)
		for i := range 2 {
			if err := s.UpdateSessionExtra(ctx, tok, extra); err != nil {
				t.Fatalf("session extra, time %d: %v", i+1, err)
			}
		}
		at := time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)
		for i := range 2 {
			got, err := s.SetEmailSent(ctx, "same@example.org", "signup", at)
			if err != nil || got.EmailVerifySentDatetime == nil || !got.EmailVerifySentDatetime.Equal(at) {
				t.Fatalf("e-mail sent, time %d: %+v %v", i+1, got, err)
			}
		}
		if err := s.UpdateSessionExtra(ctx, "no-such-token", extra); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("unknown session: %v", err)
		}
		if _, err := s.SetEmailSent(ctx, "nobody@example.org", "signup", at); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("unknown e-mail: %v", err)
		}
		if _, err := s.UpdateUser(ctx, 999, map[string]any{"full_name": "x"}); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("unknown user: %v", err)
		}
	})
}

// TestUniqueAndCaseSensitive: a taken e-mail is ErrDuplicate on insert and
// update; e-mails that differ only in case are different users, and lookups
// are exact.
func TestUniqueAndCaseSensitive(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s := bootstrapped(t, db)
		a := newUser(t, s, "taken@example.org", nil)
		sysID, _ := identity.NewToken()
		dup := &identity.User{SystemID: sysID[:36], Password: "plain$pw", Email: "taken@example.org", UserRole: "authenticated"}
		if err := s.InsertUser(ctx, dup); !errors.Is(err, identity.ErrDuplicate) {
			t.Fatalf("second insert of an e-mail: %v", err)
		}
		b := newUser(t, s, "Taken@example.org", nil)
		if b.UserID == a.UserID || b.UserID <= 3 {
			t.Fatalf("ids %d, %d", a.UserID, b.UserID)
		}
		if _, err := s.UpdateUser(ctx, b.UserID, map[string]any{"email": "taken@example.org"}); !errors.Is(err, identity.ErrDuplicate) {
			t.Fatalf("update to a taken e-mail: %v", err)
		}
		got, err := s.UserByEmail(ctx, "TAKEN@example.org")
		if !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("lookup in another case: %+v %v", got, err)
		}
		us, err := s.UsersWhere(ctx, "email_verified", true)
		if err != nil || len(us) != 5 {
			t.Fatalf("verified users %d %v, want 5", len(us), err)
		}
		if ok, err := s.AllActive(ctx, []int64{1, a.UserID, b.UserID, a.UserID}); err != nil || !ok {
			t.Fatalf("all active: %v %v", ok, err)
		}
		if ok, err := s.AllActive(ctx, []int64{1, 3}); err != nil || ok {
			t.Fatalf("user 3 is inactive: %v %v", ok, err)
		}
	})
}

// TestTimesRoundTrip: times come back in UTC with their microseconds,
// whatever zone they were given in.
func TestTimesRoundTrip(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s := bootstrapped(t, db)
		zone := time.FixedZone("UTC+5:30", 5*3600+1800)
		expires := time.Now().Add(time.Hour).In(zone).Truncate(time.Microsecond).Add(987 * time.Nanosecond)
		tok, err := s.CreateSession(ctx, identity.NewSessionParams{IPAddress: "203.0.113.7", UserAgent: "ua", UserID: 1, Expires: expires})
		if err != nil {
			t.Fatal(err)
		}
		si, err := s.LiveSession(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		want := expires.UTC().Truncate(time.Microsecond)
		utc := func(tm time.Time) bool { _, off := tm.Zone(); return off == 0 }
		if !si.Session.Expires.Equal(want) || !utc(si.Session.Expires) {
			t.Fatalf("expires %v, want %v in UTC", si.Session.Expires, want)
		}
		if si.Session.Created.IsZero() || si.Session.Created.Nanosecond()%1000 != 0 || !utc(si.Session.Created) {
			t.Fatalf("created %v", si.Session.Created)
		}
	})
}

// TestPurgeAPIKeysInBatches: expired keys go in batches; a no-session key
// whose refresh token still lives stays.
func TestPurgeAPIKeysInBatches(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s := bootstrapped(t, db)
		session, err := s.CreateSession(ctx, identity.NewSessionParams{IPAddress: "203.0.113.7", UserAgent: "ua", UserID: 1, Expires: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		old, live := now.AddDate(0, 0, -2), now.Add(time.Hour)
		for range 5 {
			tkn, _ := identity.NewToken()
			if err := s.NewAPIKey(ctx, tkn, session, 1, "superuser", old, old.Add(time.Minute), old); err != nil {
				t.Fatal(err)
			}
		}
		liveKey, _ := identity.NewToken()
		if err := s.NewAPIKey(ctx, liveKey, session, 1, "superuser", now.Add(-time.Minute), live, now.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		mk := func(refreshExpires time.Time) string {
			tkn, _ := identity.NewToken()
			refresh, _ := identity.NewToken()
			if err := s.NewNoSessionKey(ctx, identity.NoSessionKeyParams{Token: tkn, RefreshToken: refresh, UserID: 1, UserRole: "superuser",
				Issued: old, Expires: old.Add(time.Minute), NotValidBefore: old, RefreshExpires: refreshExpires, RefreshNotValidTill: old}); err != nil {
				t.Fatal(err)
			}
			return tkn
		}
		for range 3 {
			mk(old.Add(time.Hour))
		}
		refreshable := mk(live)
		n, err := s.PurgeAPIKeys(ctx, now.AddDate(0, 0, -1), 2)
		if err != nil || n != 8 {
			t.Fatalf("purged %d %v, want 8", n, err)
		}
		if _, err := s.VerifyAPIKey(ctx, liveKey, 1, "superuser"); err != nil {
			t.Fatalf("live key purged: %v", err)
		}
		if c, err := s.RevokeNoSessionKey(ctx, refreshable, 1, "superuser"); err != nil || c != 1 {
			t.Fatalf("refreshable no-session key purged: %d %v", c, err)
		}
	})
}

// TestImportReferenceTwice: the reference fixture (testdata/reference, on
// SQLite) comes over into every database, and a second run adds nothing.
func TestImportReferenceTwice(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s := open(t, db)
		src := referenceSQLite(t)
		rep, err := s.ImportReference(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Roles.Imported != 5 || rep.Users.Imported != 5 || rep.Sessions.Imported != 1 || rep.Sessions.Skipped != 1 ||
			rep.APIKeys.Imported != 1 || rep.NoSessionKeys.Imported != 1 || rep.NoSessionKeys.Skipped != 1 {
			t.Fatalf("first import: %+v", rep)
		}
		rep, err = s.ImportReference(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Roles.Imported+rep.Users.Imported+rep.Users.Updated+rep.Sessions.Imported+rep.APIKeys.Imported+rep.NoSessionKeys.Imported != 0 ||
			rep.Roles.Skipped != 5 || rep.Sessions.Skipped != 2 || rep.APIKeys.Skipped != 1 {
			t.Fatalf("second import: %+v", rep)
		}
		u, err := s.UserByID(ctx, 4)
		if err != nil || u.Email != "oldtimer@example.org" || !strings.HasPrefix(u.Password, "$argon2id$") ||
			!u.CreatedOn.Equal(time.Date(2021, 4, 1, 12, 30, 0, 123456000, time.UTC)) {
			t.Fatalf("imported user 4: %+v %v", u, err)
		}
		if _, err := s.LiveSession(ctx, "live-session-token-of-user-4-aaaaaaaaaaaaaaaaa"); err != nil {
			t.Fatalf("imported session: %v", err)
		}
		// New users continue after the imported ids.
		if n := newUser(t, s, "new@example.org", nil); n.UserID != 8 {
			t.Fatalf("new user id %d, want 8", n.UserID)
		}
	})
}

// referenceSQLite builds the reference fixture in a new SQLite database.
func referenceSQLite(t *testing.T) *sql.DB {
	t.Helper()
	src, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "reference.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	for _, f := range []string{"schema.sql", "data.sql"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "reference", f))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return src
}

// TestConcurrentMigrate: instances starting together all migrate without
// error (the migrations lock serialises them) and the schema is there once.
func TestConcurrentMigrate(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		// The database exists before the instances start (on SQLite, two
		// first opens of a new file at once can fail to switch it to WAL).
		first, err := identity.Open(ctx, db.Driver, db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		first.Close()
		const n = 3
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				bdb, err := identity.Open(ctx, db.Driver, db.DSN)
				if err != nil {
					errs[i] = err
					return
				}
				defer bdb.Close()
				errs[i] = identity.Migrate(ctx, bdb)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("instance %d: %v", i, err)
			}
		}
		s := bootstrapped(t, db)
		m, err := identity.Migrator(s.DB())
		if err != nil {
			t.Fatal(err)
		}
		ms, err := m.MigrationsWithStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms.Applied()) != len(ms) || len(ms.Unapplied()) != 0 {
			t.Fatalf("migrations %v", ms)
		}
	})
}
