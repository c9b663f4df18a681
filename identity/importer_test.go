package identity_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// TestImportConflicts: where user 4 is someone else, an import without
// AllowPartial writes nothing and says why (on PostgreSQL too, where a
// failed statement would end the transaction); with AllowPartial the rest
// comes over and user 4's session and keys stay behind with their user.
func TestImportConflicts(t *testing.T) {
	cases := []struct {
		name    string
		allow   bool
		err     error
		users   int
		reports [3]int // users imported, users conflicting, sessions imported
	}{
		{"refused", false, identity.ErrPartialImport, 4, [3]int{1, 1, 0}},
		{"partial", true, nil, 5, [3]int{1, 1, 0}},
	}
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ctx := context.Background()
				var target identitytest.DB
				switch db.Driver {
				case "sqlite":
					target = identitytest.SQLite(t)
				case "postgres":
					target = identitytest.Postgres(t)
				default:
					target = identitytest.MySQL(t)
				}
				s := bootstrapped(t, target)
				if u := newUser(t, s, "someone@example.org", nil); u.UserID != 4 {
					t.Fatalf("user id %d", u.UserID)
				}
				rep, err := s.Import(ctx, referenceSQLite(t), identity.ImportOptions{AllowPartial: tc.allow})
				if !errors.Is(err, tc.err) {
					t.Fatalf("import: %v, want %v", err, tc.err)
				}
				if got := [3]int{rep.Users.Imported, rep.Conflicts, rep.Sessions.Imported}; got != tc.reports || len(rep.SkippedMessages) != rep.Conflicts {
					t.Fatalf("report %+v", rep)
				}
				n, err := s.DB().NewSelect().Table("users").Count(ctx)
				if err != nil || int(n) != tc.users {
					t.Fatalf("%d users (%v), want %d", n, err, tc.users)
				}
				if u, err := s.UserByID(ctx, 4); err != nil || u.Email != "someone@example.org" {
					t.Fatalf("user 4 now %+v %v", u, err)
				}
			})
		}
	})
}

// TestImportAppliesHashBounds: a reference user whose stored hash asks for
// more than the hasher's bounds (4 GiB of memory) is not carried over: the
// report says which bound, and the import without AllowPartial writes
// nothing.
func TestImportAppliesHashBounds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := referenceSQLite(t)
	if _, err := src.Exec(`UPDATE users SET password = ? WHERE user_id = 4`,
		"$argon2id$v=19$m=4194304,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"); err != nil {
		t.Fatal(err)
	}
	s := bootstrapped(t, identitytest.SQLite(t))
	rep, err := s.Import(ctx, src, identity.ImportOptions{})
	if !errors.Is(err, identity.ErrPartialImport) || rep.Conflicts != 1 || len(rep.SkippedMessages) != 1 ||
		!strings.Contains(rep.SkippedMessages[0], "user 4: password hash cannot be verified here (password: malformed hash: argon2 memory 4194304 is outside") {
		t.Fatalf("import: %v, report %+v", err, rep)
	}
	if _, err := s.UserByID(ctx, 4); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("user 4 after a refused import: %v", err)
	}
	rep, err = s.Import(ctx, src, identity.ImportOptions{AllowPartial: true})
	if err != nil || rep.Conflicts != 1 {
		t.Fatalf("partial import: %v %+v", err, rep)
	}
	if _, err := s.UserByID(ctx, 4); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("user 4 imported with an unusable hash: %v", err)
	}
}
