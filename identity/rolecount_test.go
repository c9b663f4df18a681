package identity_test

import (
	"context"
	"maps"
	"testing"

	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// TestCountUsersByRole (issue 16 item 5b): the count of users per role, the
// system users included, on every database; a role nobody holds is absent,
// and the count follows a role change.
func TestCountUsersByRole(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s := open(t, db)
		if got, err := s.CountUsersByRole(ctx); err != nil || len(got) != 0 {
			t.Fatalf("empty database: %v, %v", got, err)
		}
		if _, err := s.Bootstrap(ctx, plainHasher{}, roles, "admin@example.org", "pw"); err != nil {
			t.Fatal(err)
		}
		for i, email := range []string{"a@example.org", "b@example.org", "new@example.org"} {
			u := &identity.User{SystemID: "sys-" + email, Password: "plain$x", Email: email, UserRole: "staff", IsActive: true, EmailVerified: true}
			if i == 2 { // a sign-up waiting for verification
				u.UserRole, u.IsActive, u.EmailVerified = "locked", false, false
			}
			if err := s.InsertUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		want := map[string]int{"superuser": 1, "anonymous": 1, "locked": 2, "staff": 2}
		if got, err := s.CountUsersByRole(ctx); err != nil || !maps.Equal(got, want) {
			t.Fatalf("CountUsersByRole = %v, %v; want %v", got, err, want)
		}
		if err := s.VerifyEmail(ctx, "new@example.org", "authenticated"); err != nil {
			t.Fatal(err)
		}
		want["locked"], want["authenticated"] = 1, 1
		if got, err := s.CountUsersByRole(ctx); err != nil || !maps.Equal(got, want) {
			t.Fatalf("after a role change: %v, %v; want %v", got, err, want)
		}
	})
}
