package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/authnzrv/authnzrv/config"
	"github.com/authnzrv/authnzrv/identity"
)

func newMigrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate up|down|status",
		Short: "apply, roll back (the last group) or list the database migrations",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			dbu, err := config.ParseDBURL(cfg.AuthDB)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			db, err := identity.Open(ctx, dbu.Driver, dbu.DSN)
			if err != nil {
				return err
			}
			defer db.Close()
			out := cmd.OutOrStdout()
			switch args[0] {
			case "up":
				if err := identity.Migrate(ctx, db); err != nil {
					return err
				}
				fmt.Fprintln(out, "migrations applied")
				return nil
			case "down":
				m, err := identity.Migrator(db)
				if err != nil {
					return err
				}
				if err := m.Init(ctx); err != nil {
					return fmt.Errorf("migrate down: %w", err)
				}
				g, err := m.Rollback(ctx)
				if err != nil {
					return fmt.Errorf("migrate down: %w", err)
				}
				if g.IsZero() {
					fmt.Fprintln(out, "nothing to roll back")
				} else {
					fmt.Fprintf(out, "rolled back %s\n", g)
				}
				return nil
			case "status":
				m, err := identity.Migrator(db)
				if err != nil {
					return err
				}
				if err := m.Init(ctx); err != nil {
					return fmt.Errorf("migrate status: %w", err)
				}
				ms, err := m.MigrationsWithStatus(ctx)
				if err != nil {
					return fmt.Errorf("migrate status: %w", err)
				}
				for _, mig := range ms {
					state := "pending"
					if mig.IsApplied() {
						state = "applied"
					}
					fmt.Fprintf(out, "%s\t%s\n", mig.Name, state)
				}
				return nil
			}
			return fmt.Errorf("%w: migrate takes up, down or status, not %q", errUsage, args[0])
		},
	}
	config.RegisterFlags(cmd.Flags())
	return cmd
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
