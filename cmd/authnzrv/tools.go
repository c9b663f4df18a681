package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/authnzrv/authnzrv/config"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/migrations"
)

func newMigrateCmd() *cobra.Command {
	var yes, force bool
	cmd := &cobra.Command{
		Use:   "migrate up|down|status",
		Short: "apply, roll back (the last group, with --yes) or list the database migrations",
		Long: `migrate up applies the pending migrations (creating an SQLite file that does
not exist yet). migrate status lists the migrations and whether each is
applied; it only reads, and refuses a database that does not exist.
migrate down rolls back the last group of migrations: it first says which
migrations and tables it would drop, and does it only with --yes; on a
database holding users other than the three system users it also needs
--force-data-loss.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "up" && args[0] != "down" && args[0] != "status" {
				return fmt.Errorf("%w: migrate takes up, down or status, not %q", errUsage, args[0])
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			switch args[0] {
			case "up":
				return migrateUp(ctx, out, cfg.AuthDB)
			case "status":
				return migrateStatus(ctx, out, cfg.AuthDB)
			default:
				return migrateDown(ctx, out, cfg.AuthDB, yes, force)
			}
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "migrate down: really roll back (without it, only say what would be dropped)")
	cmd.Flags().BoolVar(&force, "force-data-loss", false, "migrate down: roll back even though the database holds users")
	config.RegisterFlags(cmd.Flags())
	return cmd
}

// migrateUp applies the pending migrations, creating an SQLite file that
// does not exist yet (and saying so).
func migrateUp(ctx context.Context, out io.Writer, authdb string) error {
	dbu, err := config.ParseDBURL(authdb)
	if err != nil {
		return err
	}
	created := dbu.Driver == identity.DriverSQLite && dbu.Path != ":memory:" && !fileExists(dbu.Path)
	db, err := identity.Open(ctx, dbu.Driver, dbu.DSN)
	if err != nil {
		return openError(dbu, err)
	}
	defer db.Close()
	if created {
		fmt.Fprintf(out, "created the SQLite database %s\n", dbu.Path)
	}
	var pending []string
	ms, err := identity.MigrationStatus(ctx, db)
	switch {
	case errors.Is(err, identity.ErrNoSchema):
		all, err := migrations.For(db.Dialect().Name().String())
		if err != nil {
			return err
		}
		for _, mig := range all.Sorted() {
			pending = append(pending, mig.String())
		}
	case err != nil:
		return err
	default:
		for _, mig := range ms.Unapplied() {
			pending = append(pending, mig.String())
		}
	}
	if err := identity.Migrate(ctx, db); err != nil {
		return err
	}
	if len(pending) == 0 {
		fmt.Fprintln(out, "nothing to apply: the schema is current")
		return nil
	}
	fmt.Fprintf(out, "applied %d migrations: %s\n", len(pending), strings.Join(pending, ", "))
	return nil
}

// migrateStatus lists the migrations with their state. It only reads: a
// database without a migration table has every migration pending.
func migrateStatus(ctx context.Context, out io.Writer, authdb string) error {
	db, err := openExisting(ctx, authdb)
	if err != nil {
		return err
	}
	defer db.Close()
	ms, err := identity.MigrationStatus(ctx, db)
	if errors.Is(err, identity.ErrNoSchema) {
		all, err := migrations.For(db.Dialect().Name().String())
		if err != nil {
			return err
		}
		ms = all.Sorted()
		fmt.Fprintln(out, "# no migration table: the database was never migrated")
	} else if err != nil {
		return err
	}
	for _, mig := range ms {
		state := "pending"
		if mig.IsApplied() {
			state = fmt.Sprintf("applied (group %d)", mig.GroupID)
		}
		fmt.Fprintf(out, "%s\t%s\n", mig.String(), state)
	}
	return nil
}

// migrateDown rolls back the last migration group after saying what it
// drops; without yes, or with users in the database and without force, it
// refuses and changes nothing.
func migrateDown(ctx context.Context, out io.Writer, authdb string, yes, force bool) error {
	db, err := openExisting(ctx, authdb)
	if err != nil {
		return err
	}
	defer db.Close()
	plan, err := planRollback(ctx, db)
	if errors.Is(err, identity.ErrNoSchema) {
		fmt.Fprintln(out, "nothing to roll back: the database was never migrated")
		return nil
	}
	if err != nil {
		return err
	}
	if len(plan.Migrations) == 0 {
		fmt.Fprintln(out, "nothing to roll back")
		return nil
	}
	fmt.Fprintf(out, "migrate down rolls back group %d: %s\n", plan.Group, strings.Join(plan.Migrations, ", "))
	var tables []string
	users := 0
	for _, t := range plan.Tables {
		ok, err := identity.HasTable(ctx, db, t)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		n, err := identity.CountRows(ctx, db, t)
		if err != nil {
			return err
		}
		tables = append(tables, fmt.Sprintf("%s (%d rows)", t, n))
		if t == "users" {
			if users, err = identity.NewStore(db).CountNonSystemUsers(ctx); err != nil {
				return err
			}
		}
	}
	if len(tables) > 0 {
		fmt.Fprintf(out, "it drops the tables %s\n", strings.Join(tables, ", "))
	}
	if users > 0 && !force {
		return fmt.Errorf("migrate down: refused: the users table holds %d users besides the system users; nothing was changed (add --yes --force-data-loss to drop them)", users)
	}
	if !yes {
		return errors.New("migrate down: refused without --yes; nothing was changed")
	}
	m, err := identity.Migrator(db)
	if err != nil {
		return err
	}
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("migrate down: %w", err)
	}
	if err := m.Lock(ctx); err != nil {
		return fmt.Errorf("migrate down: lock: %w", err)
	}
	defer m.Unlock(context.WithoutCancel(ctx)) //nolint:errcheck // best effort
	g, err := m.Rollback(ctx)
	if err != nil {
		return fmt.Errorf("migrate down: %w", err)
	}
	if g.ID != plan.Group {
		return fmt.Errorf("migrate down: rolled back group %d, not the planned %d (another process migrated meanwhile?)", g.ID, plan.Group)
	}
	fmt.Fprintf(out, "rolled back group %d: %s\n", g.ID, strings.Join(plan.Migrations, ", "))
	return nil
}

func newKeygenCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "keygen",
		Short: "print a new Fernet key (for AUTHNZERVER_SECRET or AUTHNZERVER_PIISALT)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := newFernetKey()
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), k)
			return nil
		},
	}
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the module version and commit",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			version, commit := "(devel)", "unknown"
			if bi, ok := debug.ReadBuildInfo(); ok {
				version = bi.Main.Version
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						commit = s.Value
					}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "authnzrv %s (commit %s)\n", version, commit)
		},
	}
}
