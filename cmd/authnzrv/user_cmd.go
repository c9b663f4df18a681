package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/authnzrv/authnzrv/config"
	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/password"
	"github.com/authnzrv/authnzrv/identity/validate"
)

// adminStore opens the configured database (migrated) for a CLI command.
func adminStore(cmd *cobra.Command) (*identity.Store, *config.Config, func(), error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, nil, nil, err
	}
	dbu, err := config.ParseDBURL(cfg.AuthDB)
	if err != nil {
		return nil, nil, nil, err
	}
	db, err := identity.Open(cmd.Context(), dbu.Driver, dbu.DSN)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := identity.Migrate(cmd.Context(), db); err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	return identity.NewStore(db), cfg, func() { db.Close() }, nil
}

// adminEngine loads the configured policies, for the administrative
// decisions of the user commands (policies/authnzrv/admin).
func adminEngine(ctx context.Context, cfg *config.Config) (*engine.Engine, error) {
	e, err := engine.New(ctx, engine.Options{PolicyDir: cfg.Policies, ModelFile: cfg.Permissions})
	if err != nil {
		return nil, fmt.Errorf("policies: %w", err)
	}
	return e, nil
}

// admitted asks the admin policy about a user command; a refusal is an
// error naming the policy's reason.
func admitted(ctx context.Context, cfg *config.Config, in engine.AdminInput) error {
	e, err := adminEngine(ctx, cfg)
	if err != nil {
		return err
	}
	d, err := e.Admin(ctx, in)
	if err != nil {
		return err
	}
	if !d.Allowed {
		return fmt.Errorf("refused by the admin policy: %s (%s)", d.Reason, d.Rule)
	}
	return nil
}

// findUser resolves a user given by id or e-mail.
func findUser(ctx context.Context, st *identity.Store, who string) (*identity.User, error) {
	var u *identity.User
	var err error
	if id, perr := strconv.ParseInt(who, 10, 64); perr == nil {
		u, err = st.UserByID(ctx, id)
	} else {
		u, err = st.UserByEmail(ctx, validate.NormalizeEmail(who))
	}
	if errors.Is(err, identity.ErrNotFound) {
		return nil, fmt.Errorf("no user %q", who)
	}
	return u, err
}

// withUser wraps a command whose first argument names a user: it opens the
// database and finds the user first.
func withUser(fn func(cmd *cobra.Command, args []string, st *identity.Store, cfg *config.Config, u *identity.User) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		st, cfg, closeDB, err := adminStore(cmd)
		if err != nil {
			return err
		}
		defer closeDB()
		u, err := findUser(cmd.Context(), st, args[0])
		if err != nil {
			return err
		}
		return fn(cmd, args, st, cfg, u)
	}
}

// hasherFor builds the configured password hasher.
func hasherFor(cfg *config.Config) (*password.Hasher, error) {
	params, err := parseArgon2Params(cfg.Argon2Params)
	if err != nil {
		return nil, err
	}
	return password.NewHasher(password.Options{Params: params, MemoryBudget: uint64(cfg.HashBudget) * 1024})
}

func randomPassword() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func newUserCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "manage users directly in the database (add, list, lock, unlock, set-role, passwd)",
		Args:  cobra.NoArgs,
	}
	var (
		name, role, pw string
	)
	add := &cobra.Command{
		Use:   "add EMAIL",
		Short: "add an active, verified user (the password is generated and printed unless --password is given)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, cfg, closeDB, err := adminStore(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			h, err := hasherFor(cfg)
			if err != nil {
				return err
			}
			generated := pw == ""
			if generated {
				if pw, err = randomPassword(); err != nil {
					return err
				}
			}
			hash, err := h.Hash(cmd.Context(), password.Truncate(pw))
			if err != nil {
				return err
			}
			full := validate.NormalizeFullName(name)
			u := &identity.User{
				SystemID: uuid.NewString(), FullName: &full, Password: hash, Email: validate.NormalizeEmail(args[0]),
				EmailVerified: true, IsActive: true, UserRole: role,
				ExtraInfo: identity.JSON(`{"provenance": "cli-created", "type": "normal-user"}`),
			}
			if err := st.InsertUser(cmd.Context(), u); err != nil {
				if errors.Is(err, identity.ErrDuplicate) {
					return fmt.Errorf("a user with e-mail %s exists", u.Email)
				}
				return fmt.Errorf("add user (is %q a role of the model?): %w", role, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "user %d %s (%s) added\n", u.UserID, u.Email, u.UserRole)
			if generated {
				fmt.Fprintf(cmd.OutOrStdout(), "password: %s\n", pw)
			}
			return nil
		},
	}
	add.Flags().StringVar(&name, "name", "", "full name")
	add.Flags().StringVar(&role, "role", "authenticated", "role")
	add.Flags().StringVar(&pw, "password", "", "password (default: generate one)")

	list := &cobra.Command{
		Use:   "list",
		Short: "list users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, _, closeDB, err := adminStore(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			users, err := st.ListUsers(cmd.Context(), nil)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tEMAIL\tROLE\tACTIVE\tVERIFIED")
			for _, u := range users {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%t\t%t\n", u.UserID, u.Email, u.UserRole, u.IsActive, u.EmailVerified)
			}
			return tw.Flush()
		},
	}

	lockCmd := func(lock bool) *cobra.Command {
		use, short := "unlock ID|EMAIL", "unlock a user (the role before the lock comes back)"
		if lock {
			use, short = "lock ID|EMAIL", "lock a user (role locked, inactive, sessions ended)"
		}
		return &cobra.Command{
			Use: use, Short: short, Args: cobra.ExactArgs(1),
			RunE: withUser(func(cmd *cobra.Command, args []string, st *identity.Store, cfg *config.Config, u *identity.User) error {
				action := "unlock"
				if lock {
					action = "lock"
				}
				in := engine.AdminInput{Op: "cli-lock", Target: engine.AdminUser{UserID: u.UserID, Role: u.UserRole}, Action: action}
				if err := admitted(cmd.Context(), cfg, in); err != nil {
					return err
				}
				u, err := st.SetLocked(cmd.Context(), u.UserID, lock)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "user %d %s: role %s, active %t\n", u.UserID, u.Email, u.UserRole, u.IsActive)
				return nil
			}),
		}
	}

	setRole := &cobra.Command{
		Use:   "set-role ID|EMAIL ROLE",
		Short: "change a user's role",
		Args:  cobra.ExactArgs(2),
		RunE: withUser(func(cmd *cobra.Command, args []string, st *identity.Store, cfg *config.Config, u *identity.User) error {
			in := engine.AdminInput{Op: "cli-set-role", Target: engine.AdminUser{UserID: u.UserID, Role: u.UserRole}, NewRole: args[1]}
			if err := admitted(cmd.Context(), cfg, in); err != nil {
				return err
			}
			var err error
			if u, err = st.UpdateUser(cmd.Context(), u.UserID, map[string]any{"user_role": args[1]}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "user %d %s: role %s\n", u.UserID, u.Email, u.UserRole)
			return nil
		}),
	}

	var newPw string
	passwd := &cobra.Command{
		Use:   "passwd ID|EMAIL",
		Short: "set a user's password (generated and printed unless --password is given); ends the user's sessions",
		Args:  cobra.ExactArgs(1),
		RunE: withUser(func(cmd *cobra.Command, args []string, st *identity.Store, cfg *config.Config, u *identity.User) error {
			h, err := hasherFor(cfg)
			if err != nil {
				return err
			}
			p, generated := newPw, newPw == ""
			if generated {
				if p, err = randomPassword(); err != nil {
					return err
				}
			}
			hash, err := h.Hash(cmd.Context(), password.Truncate(p))
			if err != nil {
				return err
			}
			if err := st.SetPasswordHash(cmd.Context(), u.UserID, u.Email, hash); err != nil {
				return err
			}
			if _, err := st.DeleteUserSessions(cmd.Context(), u.UserID, ""); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "password of user %d %s set\n", u.UserID, u.Email)
			if generated {
				fmt.Fprintf(cmd.OutOrStdout(), "password: %s\n", p)
			}
			return nil
		}),
	}
	passwd.Flags().StringVar(&newPw, "password", "", "new password (default: generate one)")

	cmd.AddCommand(add, list, lockCmd(true), lockCmd(false), setRole, passwd)
	for _, c := range cmd.Commands() {
		config.RegisterFlags(c.Flags())
	}
	return cmd
}
