package identity_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// plainHasher stands in for argon2 where the hash itself is not under test.
type plainHasher struct{}

func (plainHasher) Hash(_ context.Context, pw string) (string, error) { return "plain$" + pw, nil }

var roles = []string{"superuser", "staff", "authenticated", "anonymous", "locked"}

func open(t *testing.T, db identitytest.DB) *identity.Store {
	t.Helper()
	ctx := context.Background()
	bdb, err := identity.Open(ctx, db.Driver, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bdb.Close() })
	if err := identity.Migrate(ctx, bdb); err != nil {
		t.Fatal(err)
	}
	return identity.NewStore(bdb)
}

func TestBootstrap(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s := open(t, db)
		// Several instances starting at once: exactly one initialises.
		var wg sync.WaitGroup
		results := make([]identity.BootstrapResult, 4)
		errs := make([]error, 4)
		for i := range results {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				results[i], errs[i] = s.Bootstrap(ctx, plainHasher{}, roles, "", "")
			}(i)
		}
		wg.Wait()
		created := 0
		for i, r := range results {
			if errs[i] != nil {
				t.Fatalf("bootstrap %d: %v", i, errs[i])
			}
			if r.Created {
				created++
				if len(r.AdminPassword) != 22 || !strings.HasSuffix(r.AdminEmail, "@localhost") {
					t.Fatalf("generated admin %q / %d chars", r.AdminEmail, len(r.AdminPassword))
				}
			}
		}
		if created != 1 {
			t.Fatalf("%d bootstraps created rows, want 1", created)
		}
		us, err := s.ListUsers(ctx, nil)
		if err != nil || len(us) != 3 {
			t.Fatalf("users %v %v", us, err)
		}
		want := []struct {
			email, role string
			active      bool
		}{{"", "superuser", true}, {"anonuser@localhost", "anonymous", true}, {"dummyuser@localhost", "locked", false}}
		for i, w := range want {
			u := us[i]
			if u.UserID != int64(i+1) || u.UserRole != w.role || u.IsActive != w.active || !u.EmailVerified || (w.email != "" && u.Email != w.email) {
				t.Fatalf("user %d: %+v", i+1, u)
			}
		}
		// The order of the roles table is the database's (insertion order on
		// SQLite and PostgreSQL, primary-key order on MySQL).
		rs, _ := s.Roles(ctx)
		descs := map[string]string{}
		for _, r := range rs {
			descs[r.Name] = r.Desc
		}
		if len(rs) != 5 || len(descs) != 5 || descs["superuser"] != "Role with superuser privileges" {
			t.Fatalf("roles %v", rs)
		}
		// A model without the system roles is refused.
		if _, err := s.Bootstrap(ctx, plainHasher{}, []string{"superuser"}, "", ""); err == nil {
			t.Fatal("bootstrap without anonymous/locked roles accepted")
		}
		// Migrating again is a no-op.
		if err := identity.Migrate(ctx, s.DB()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSessionsStoredAsDigests(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s := open(t, db)
		if _, err := s.Bootstrap(ctx, plainHasher{}, roles, "a@example.org", "pw"); err != nil {
			t.Fatal(err)
		}
		tok, err := s.CreateSession(ctx, identity.NewSessionParams{IPAddress: "1.2.3.4", UserAgent: "ua", UserID: 2, Expires: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		var stored []string
		if err := s.DB().NewSelect().Table("sessions").Column("token_hash").Scan(ctx, &stored); err != nil {
			t.Fatal(err)
		}
		if len(stored) != 1 || stored[0] == tok || stored[0] != identity.TokenHash(tok) || len(stored[0]) != 64 {
			t.Fatalf("stored %v for token %q", stored, tok)
		}
		si, err := s.LiveSession(ctx, tok)
		if err != nil || si.User.UserID != 2 || si.Session.IPAddress != "1.2.3.4" {
			t.Fatalf("live session %+v %v", si, err)
		}
		// Deleting a user cascades to its sessions.
		if _, err := s.CreateSession(ctx, identity.NewSessionParams{IPAddress: "1.2.3.4", UserAgent: "ua", UserID: 99, Expires: time.Now()}); err == nil {
			t.Fatal("session for a missing user accepted (foreign keys off?)")
		}
	})
}

func TestPurgeSessions(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s := open(t, db)
		if _, err := s.Bootstrap(ctx, plainHasher{}, roles, "a@example.org", "pw"); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		mk := func(expires time.Time) string {
			tok, err := s.CreateSession(ctx, identity.NewSessionParams{IPAddress: "1.2.3.4", UserAgent: "ua", UserID: 2, Expires: expires})
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		// 81: expired sessionexpiry+1 days ago → purged; 1 day ago → kept.
		var old []string
		for range 25 {
			old = append(old, mk(now.AddDate(0, 0, -31)))
		}
		recent := mk(now.AddDate(0, 0, -1))
		live := mk(now.Add(time.Hour))
		n, err := s.PurgeSessions(ctx, now.AddDate(0, 0, -30), 10)
		if err != nil || n != 25 {
			t.Fatalf("purged %d, %v; want 25", n, err)
		}
		for _, tk := range old {
			if c, _ := s.DeleteSession(ctx, tk); c != 0 {
				t.Fatal("an old session survived the purge")
			}
		}
		if c, _ := s.DeleteSession(ctx, recent); c != 1 {
			t.Fatal("a recently expired session was purged")
		}
		if _, err := s.LiveSession(ctx, live); err != nil {
			t.Fatal("a live session was purged")
		}
	})
}

func TestMigrateDownUp(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s := open(t, db)
		m, err := identity.Migrator(s.DB())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Rollback(ctx); err != nil {
			t.Fatalf("rollback: %v", err)
		}
		if _, err := s.Roles(ctx); err == nil {
			t.Fatal("roles table still there after rollback")
		}
		if err := identity.Migrate(ctx, s.DB()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Bootstrap(ctx, plainHasher{}, roles, "a@example.org", "pw"); err != nil {
			t.Fatal(err)
		}
	})
}
