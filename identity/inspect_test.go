package identity_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// TestInspectNeverMigrated: on a database that was never migrated,
// MigrationStatus is ErrNoSchema and leaves it without the migration table.
func TestInspectNeverMigrated(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		bdb, err := identity.Open(ctx, db.Driver, db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer bdb.Close()
		if _, err := identity.MigrationStatus(ctx, bdb); !errors.Is(err, identity.ErrNoSchema) {
			t.Fatalf("MigrationStatus: %v, want ErrNoSchema", err)
		}
		for _, table := range []string{identity.MigrationTable, "bun_migration_locks", "users"} {
			if ok, err := identity.HasTable(ctx, bdb, table); err != nil || ok {
				t.Fatalf("HasTable(%s) = %t, %v after MigrationStatus", table, ok, err)
			}
		}
	})
}

// TestInspectCounts: the migration status, row counts, users beyond the
// system users, and a user's API keys of both kinds.
func TestInspectCounts(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s := open(t, db)
		ms, err := identity.MigrationStatus(ctx, s.DB())
		if err != nil || len(ms) == 0 || len(ms.Unapplied()) != 0 {
			t.Fatalf("status after Migrate: %v %v", ms, err)
		}
		if ok, err := identity.HasTable(ctx, s.DB(), "users"); err != nil || !ok {
			t.Fatalf("HasTable(users) = %t, %v", ok, err)
		}
		if _, err := s.Bootstrap(ctx, plainHasher{}, roles, "admin@example.org", "pw"); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CountNonSystemUsers(ctx); err != nil || n != 0 {
			t.Fatalf("CountNonSystemUsers after bootstrap = %d, %v", n, err)
		}
		if n, err := identity.CountRows(ctx, s.DB(), "roles"); err != nil || n != len(roles) {
			t.Fatalf("CountRows(roles) = %d, %v", n, err)
		}
		u := &identity.User{SystemID: "sys-4", Password: "plain$x", Email: "ops@example.org", UserRole: "staff", IsActive: true}
		if err := s.InsertUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CountNonSystemUsers(ctx); err != nil || n != 1 {
			t.Fatalf("CountNonSystemUsers = %d, %v", n, err)
		}
		now := time.Now().UTC()
		tok, err := s.CreateSession(ctx, identity.NewSessionParams{IPAddress: "203.0.113.1", UserAgent: "t", UserID: u.UserID, Expires: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"k1", "k2"} {
			if err := s.NewAPIKey(ctx, k, tok, u.UserID, "staff", now, now.Add(time.Hour), now); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.NewNoSessionKey(ctx, identity.NoSessionKeyParams{Token: "k3", RefreshToken: "r", UserID: u.UserID, UserRole: "staff",
			Issued: now, Expires: now.Add(time.Hour), NotValidBefore: now, RefreshExpires: now.Add(time.Hour), RefreshNotValidTill: now}); err != nil {
			t.Fatal(err)
		}
		if b, n, err := s.CountAPIKeys(ctx, u.UserID); err != nil || b != 2 || n != 1 {
			t.Fatalf("CountAPIKeys = %d, %d, %v; want 2, 1", b, n, err)
		}
		if b, n, err := s.CountAPIKeys(ctx, 1); err != nil || b != 0 || n != 0 {
			t.Fatalf("CountAPIKeys of the superuser = %d, %d, %v", b, n, err)
		}
	})
}
