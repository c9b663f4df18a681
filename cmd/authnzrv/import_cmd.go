package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/authnzrv/authnzrv/config"
)

func newImportCmd() *cobra.Command {
	var (
		from   string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "import --from URL",
		Short: "bring users, roles, live sessions and API keys over from a reference authnzerver database",
		Long: `import reads a database written by the reference authnzerver (SQLite or
PostgreSQL URL, as its AUTHNZERVER_AUTHDB) and copies it into the configured
database: roles; users with their argon2 hashes unchanged (old passwords keep
working) and their user ids kept; e-mail-verified and active flags; live
sessions and API keys (their tokens stored as digests here). Running it again
changes nothing already imported. No-session API keys come without refresh
tokens (the reference stores only argon2 hashes of those). Prints a report
of what was imported, updated and skipped.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if bergsonImportRequested(cmd) {
				return runImportBergson(cmd, from, asJSON)
			}
			if from == "" {
				return fmt.Errorf("--from is required")
			}
			src, err := config.ParseDBURL(from)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			driver, dsn := "pgx", src.DSN
			if src.Driver == "sqlite" {
				if _, err := os.Stat(src.Path); err != nil {
					return fmt.Errorf("--from: %w", err)
				}
				driver, dsn = "sqlite", "file:"+src.Path+"?mode=ro"
			}
			srcDB, err := sql.Open(driver, dsn)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			defer srcDB.Close()
			if err := srcDB.PingContext(cmd.Context()); err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			st, _, closeDB, err := adminStore(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			rep, err := st.ImportReference(cmd.Context(), srcDB)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(rep)
			}
			fmt.Fprintf(out, "%-18s %8s %8s %8s\n", "", "imported", "updated", "skipped")
			for _, r := range []struct {
				name    string
				i, u, s int
			}{
				{"roles", rep.Roles.Imported, rep.Roles.Updated, rep.Roles.Skipped},
				{"users", rep.Users.Imported, rep.Users.Updated, rep.Users.Skipped},
				{"sessions", rep.Sessions.Imported, rep.Sessions.Updated, rep.Sessions.Skipped},
				{"apikeys", rep.APIKeys.Imported, rep.APIKeys.Updated, rep.APIKeys.Skipped},
				{"apikeys_nosession", rep.NoSessionKeys.Imported, rep.NoSessionKeys.Updated, rep.NoSessionKeys.Skipped},
			} {
				fmt.Fprintf(out, "%-18s %8d %8d %8d\n", r.name, r.i, r.u, r.s)
			}
			for _, m := range rep.SkippedMessages {
				fmt.Fprintln(out, "note:", m)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "URL of the reference database (sqlite:///path or postgresql://...)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	config.RegisterFlags(cmd.Flags())
	// --bergson: import a Bergson Authenticator accounts table (import_bergson.go).
	cmd.Flags().Lookup("bergson").NoOptDefVal = "1"
	return cmd
}
