package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os/user"
	"slices"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// PasswordHasher makes a stored password hash.
type PasswordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
}

// BootstrapResult says what Bootstrap did.
type BootstrapResult struct {
	// Created is false when the database was already initialised.
	Created bool
	// AdminEmail is the superuser's e-mail.
	AdminEmail string
	// AdminPassword is the generated superuser password, or "" when the
	// caller supplied one.
	AdminPassword string
}

// DefaultAdminEmail is `<os user>@localhost`, or admin@localhost.
func DefaultAdminEmail() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username + "@localhost"
	}
	return "admin@localhost"
}

func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("identity: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Bootstrap inserts the roles and the three system users (1 superuser,
// 2 anonymous, 3 locked dummy) into an empty database, in one transaction.
// roles must contain superuser, anonymous and locked. An empty adminEmail
// means DefaultAdminEmail; an empty adminPassword means a random 22-character
// one, returned in the result. A database that already has roles is left
// alone (Created false), which makes concurrent starts of several instances safe.
func (s *Store) Bootstrap(ctx context.Context, h PasswordHasher, roles []string, adminEmail, adminPassword string) (BootstrapResult, error) {
	for _, r := range []string{"superuser", "anonymous", "locked"} {
		if !slices.Contains(roles, r) {
			return BootstrapResult{}, fmt.Errorf("identity: bootstrap: the permissions model has no %q role", r)
		}
	}
	n, err := s.db.NewSelect().Model((*Role)(nil)).Count(ctx)
	if err != nil {
		return BootstrapResult{}, fmt.Errorf("identity: bootstrap: count roles: %w", err)
	}
	if n > 0 {
		return BootstrapResult{}, nil
	}
	res := BootstrapResult{Created: true, AdminEmail: adminEmail}
	if res.AdminEmail == "" {
		res.AdminEmail = DefaultAdminEmail()
	}
	if adminPassword == "" {
		if adminPassword, err = randomToken(16); err != nil {
			return BootstrapResult{}, err
		}
		res.AdminPassword = adminPassword
	}
	anonPass, err := randomToken(32)
	if err != nil {
		return BootstrapResult{}, err
	}
	dummyPass, err := randomToken(32)
	if err != nil {
		return BootstrapResult{}, err
	}
	type sys struct {
		email, name, role, pass, kind string
		active                        bool
	}
	users := []sys{
		{res.AdminEmail, "Superuser account", "superuser", adminPassword, "system-user", true},
		{"anonuser@localhost", "The systemwide anonymous user", "anonymous", anonPass, "system-user", true},
		{"dummyuser@localhost", "The systemwide locked user", "locked", dummyPass, "locked-user", false},
	}
	hashes := make([]string, len(users))
	for i, u := range users {
		if hashes[i], err = h.Hash(ctx, u.pass); err != nil {
			return BootstrapResult{}, fmt.Errorf("identity: bootstrap: hash: %w", err)
		}
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, r := range roles {
			role := &Role{Name: r, Desc: "Role with " + r + " privileges"}
			if _, err := tx.NewInsert().Model(role).Exec(ctx); err != nil {
				return err
			}
		}
		for i, u := range users {
			extra, err := MarshalObject(map[string]any{"provenance": "auto-created", "type": u.kind})
			if err != nil {
				return err
			}
			name := u.name
			t := s.now()
			row := &User{
				SystemID: uuid.NewString(), FullName: &name, Password: hashes[i], Email: u.email,
				EmailVerified: true, IsActive: u.active, FailedLoginTries: new(int64),
				ExtraInfo: extra, CreatedOn: t, LastUpdated: t, UserRole: u.role,
			}
			if _, err := tx.NewInsert().Model(row).Returning("user_id").Exec(ctx); err != nil {
				return err
			}
			if row.UserID != int64(i+1) {
				return fmt.Errorf("system user %q got id %d, want %d (is the users table empty?)", u.email, row.UserID, i+1)
			}
		}
		return nil
	})
	if err != nil {
		if isUniqueViolation(err) {
			// Another instance initialised the database at the same moment.
			return BootstrapResult{}, nil
		}
		return BootstrapResult{}, fmt.Errorf("identity: bootstrap: %w", err)
	}
	return res, nil
}

// Roles returns the names of the roles table.
func (s *Store) Roles(ctx context.Context) ([]Role, error) {
	var rs []Role
	if err := s.db.NewSelect().Model(&rs).Scan(ctx); err != nil {
		return nil, fmt.Errorf("identity: select roles: %w", err)
	}
	return rs, nil
}

// EnsureRoles adds to the roles table the roles of roles it lacks (a model
// that gained a role since the database was set up) and returns them.
// Concurrent callers (instances starting or reloading together) may both
// try: a role another one added in between is not an error.
func (s *Store) EnsureRoles(ctx context.Context, roles []string) ([]string, error) {
	var have []string
	if err := s.db.NewSelect().Model((*Role)(nil)).Column("name").Scan(ctx, &have); err != nil {
		return nil, fmt.Errorf("identity: read roles: %w", err)
	}
	var added []string
	for _, r := range roles {
		if slices.Contains(have, r) || slices.Contains(added, r) {
			continue
		}
		_, err := s.db.NewInsert().Model(&Role{Name: r, Desc: "Role with " + r + " privileges"}).Exec(ctx)
		switch {
		case isUniqueViolation(err):
		case err != nil:
			return added, fmt.Errorf("identity: add role %q: %w", r, err)
		default:
			added = append(added, r)
		}
	}
	return added, nil
}
