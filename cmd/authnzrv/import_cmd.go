package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/authnzrv/authnzrv/config"
	"github.com/authnzrv/authnzrv/identity"
)

func newImportCmd() *cobra.Command {
	var (
		from         string
		asJSON       bool
		allowPartial bool
	)
	cmd := &cobra.Command{
		Use:   "import --from URL",
		Short: "bring users, roles, live sessions and API keys over from a reference authnzerver database",
		Long: `import reads a database written by the reference authnzerver (SQLite,
PostgreSQL or MySQL URL, as its AUTHNZERVER_AUTHDB) and copies it into the
configured database, in one transaction: roles; users with their argon2
hashes unchanged (old passwords keep working) and their user ids kept;
e-mail-verified and active flags; live sessions and API keys (their tokens
stored as digests here). No-session API keys keep the reference's argon2 hash
of their refresh token where the refresh_hash column can hold it (SQLite);
elsewhere they verify until they expire but cannot be refreshed. Running it
again changes nothing already imported. Rows that clash with rows here (a
user id or e-mail taken by another user) or cannot be read are conflicts: the
import then writes nothing and exits non-zero, unless --allow-partial is
given. Prints a report of what was imported, updated and skipped.

To take over a reference database in place instead, start authnzrv on it
(--adopt, on by default).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if bergsonImportRequested(cmd) {
				return runImportBergson(cmd, from, asJSON)
			}
			if from == "" {
				return fmt.Errorf("--from is required")
			}
			srcDB, closeSrc, err := openReference(cmd.Context(), from)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			defer closeSrc()
			st, _, closeDB, err := adminStore(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			rep, err := st.Import(cmd.Context(), srcDB, identity.ImportOptions{AllowPartial: allowPartial})
			if err != nil && !errors.Is(err, identity.ErrPartialImport) {
				return err
			}
			if perr := printImportReport(cmd.OutOrStdout(), rep, asJSON); perr != nil {
				return perr
			}
			if err != nil {
				return fmt.Errorf("%d conflicting rows would be left behind (listed above), so nothing was imported: resolve them, or import the rest with --allow-partial", rep.Conflicts)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "URL of the reference database (sqlite:///path, postgresql://... or mysql://...)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().BoolVar(&allowPartial, "allow-partial", false, "import what does not conflict and exit 0 even when rows were left behind")
	config.RegisterFlags(cmd.Flags())
	// --bergson: import a Bergson Authenticator accounts table (import_bergson.go).
	cmd.Flags().Lookup("bergson").NoOptDefVal = "1"
	return cmd
}

// openReference opens the reference database named by a URL with the
// driver the URL names: SQLite read-only (its file must exist), PostgreSQL
// and MySQL as the server opens them.
func openReference(ctx context.Context, from string) (*sql.DB, func(), error) {
	src, err := config.ParseDBURL(from)
	if err != nil {
		return nil, nil, err
	}
	if src.Driver == identity.DriverSQLite {
		if _, err := os.Stat(src.Path); err != nil {
			return nil, nil, err
		}
		db, err := sql.Open("sqlite", "file:"+src.Path+"?mode=ro")
		if err != nil {
			return nil, nil, err
		}
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, nil, err
		}
		return db, func() { db.Close() }, nil
	}
	db, err := identity.Open(ctx, src.Driver, src.DSN)
	if err != nil {
		return nil, nil, err
	}
	return db.DB, func() { db.Close() }, nil
}

// printImportReport prints rep as a table (or JSON) with its conflicts and
// notes.
func printImportReport(out io.Writer, rep *identity.ImportReport, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(out).Encode(rep)
	}
	fmt.Fprintf(out, "%-18s %8s %8s %8s\n", "", "imported", "updated", "skipped")
	for _, r := range []struct {
		name string
		c    identity.Count
	}{
		{"roles", rep.Roles}, {"users", rep.Users}, {"sessions", rep.Sessions},
		{"apikeys", rep.APIKeys}, {"apikeys_nosession", rep.NoSessionKeys},
	} {
		fmt.Fprintf(out, "%-18s %8d %8d %8d\n", r.name, r.c.Imported, r.c.Updated, r.c.Skipped)
	}
	for _, m := range rep.SkippedMessages {
		fmt.Fprintln(out, "conflict:", m)
	}
	for _, m := range rep.Notes {
		fmt.Fprintln(out, "note:", m)
	}
	return nil
}
