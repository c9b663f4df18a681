package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/authnzrv/authnzrv/api"
	"github.com/authnzrv/authnzrv/config"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/password"
)

// bergsonImportRequested reports whether `import` was given --bergson (the
// flag itself, not the server setting from the environment).
func bergsonImportRequested(cmd *cobra.Command) bool {
	f := cmd.Flags().Lookup("bergson")
	if f == nil || !f.Changed {
		return false
	}
	on, err := strconv.ParseBool(f.Value.String())
	return err == nil && on
}

// BergsonImportReport says what `import --bergson` did, by source account.
type BergsonImportReport struct {
	Imported  int `json:"imported"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Skipped   int `json:"skipped"`
	// Notes explain each skipped account by its source id (no usernames).
	Notes []string `json:"notes,omitempty"`
}

// bergsonAccountsQuery reads a Bergson Authenticator accounts table (the
// source's ba_db_create_tables).
const bergsonAccountsQuery = "SELECT id, enabled, username, password_hashed, salt, created_at, updated_at FROM accounts ORDER BY id"

// runImportBergson is `import --from URL --bergson`: the accounts of a
// Bergson Authenticator database (MySQL/MariaDB as the source ran it, or
// any URL holding its accounts table) become username-only accounts here
// with their PBKDF2 hashes, which verify as they are and are rehashed to
// argon2id at the next successful authenticate. Running it again imports
// nothing twice: accounts still on their imported hash take the source's
// current hash and enabled flag, accounts used here since are left alone.
func runImportBergson(cmd *cobra.Command, from string, asJSON bool) error {
	ctx := cmd.Context()
	src, err := openBergsonSource(ctx, from)
	if err != nil {
		return err
	}
	defer src.Close()
	st, cfg, closeDB, err := adminStore(cmd)
	if err != nil {
		return err
	}
	defer closeDB()
	if err := bootstrapForImport(cmd, st, cfg); err != nil {
		return err
	}
	rep, err := importBergson(ctx, st, src)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if asJSON {
		return json.NewEncoder(out).Encode(rep)
	}
	fmt.Fprintf(out, "%-18s %8s %8s %9s %8s\n", "", "imported", "updated", "unchanged", "skipped")
	fmt.Fprintf(out, "%-18s %8d %8d %9d %8d\n", "bergson accounts", rep.Imported, rep.Updated, rep.Unchanged, rep.Skipped)
	for _, n := range rep.Notes {
		fmt.Fprintln(out, "note:", n)
	}
	return nil
}

// bootstrapForImport sets a new database up as the server's first start
// would (roles, the system users 1 to 3, the admin credentials file), so
// that the imported accounts come after the system users and have their
// role; a database already set up is left alone.
func bootstrapForImport(cmd *cobra.Command, st *identity.Store, cfg *config.Config) error {
	ctx := cmd.Context()
	params, err := parseArgon2Params(cfg.Argon2Params)
	if err != nil {
		return err
	}
	hasher, err := password.NewHasher(password.Options{Params: params})
	if err != nil {
		return fmt.Errorf("password hasher: %w", err)
	}
	eng, err := adminEngine(ctx, cfg)
	if err != nil {
		return err
	}
	return bootstrap(ctx, st, hasher, eng.Roles(), cfg, newLogger(ctx, cmd.ErrOrStderr(), cfg))
}

// openBergsonSource opens the source database read-only where the driver
// allows it.
func openBergsonSource(ctx context.Context, from string) (*sql.DB, error) {
	if from == "" {
		return nil, fmt.Errorf("--from is required")
	}
	u, err := config.ParseDBURL(from)
	if err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	}
	driver, dsn := u.Driver, u.DSN
	switch u.Driver {
	case "sqlite":
		if _, err := os.Stat(u.Path); err != nil {
			return nil, fmt.Errorf("--from: %w", err)
		}
		dsn = "file:" + u.Path + "?mode=ro"
	case "postgres":
		driver = "pgx"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("--from: %w", err)
	}
	return db, nil
}

// importBergson copies every account of the source's accounts table.
func importBergson(ctx context.Context, st *identity.Store, src *sql.DB) (*BergsonImportReport, error) {
	rows, err := src.QueryContext(ctx, bergsonAccountsQuery)
	if err != nil {
		return nil, fmt.Errorf("--from: read the Bergson accounts table: %w", err)
	}
	defer rows.Close()
	var accounts []identity.BergsonSource
	rep := &BergsonImportReport{}
	skip := func(id int64, format string, a ...any) {
		rep.Skipped++
		rep.Notes = append(rep.Notes, fmt.Sprintf("account id %d: ", id)+fmt.Sprintf(format, a...))
	}
	for rows.Next() {
		var (
			id, enabled, created   int64
			username, hashed, salt string
			updated                sql.NullInt64
		)
		if err := rows.Scan(&id, &enabled, &username, &hashed, &salt, &created, &updated); err != nil {
			return nil, fmt.Errorf("--from: read an account: %w", err)
		}
		if !api.ValidBergsonUsername(username) {
			skip(id, "the username does not satisfy the Bergson username rule")
			continue
		}
		hash, err := password.BergsonHash(salt, hashed)
		if err != nil {
			skip(id, "the stored password hash is not a PBKDF2-SHA256 hex digest")
			continue
		}
		a := identity.BergsonSource{ID: id, Enabled: enabled != 0, Username: username, Hash: hash, CreatedAt: time.Unix(created, 0)}
		if updated.Valid {
			t := time.Unix(updated.Int64, 0)
			a.UpdatedAt = &t
		}
		accounts = append(accounts, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("--from: read the Bergson accounts table: %w", err)
	}
	for _, a := range accounts {
		out, err := st.ImportBergsonAccount(ctx, a, password.IsBergson)
		if err != nil {
			return rep, err
		}
		switch out {
		case identity.BergsonImported:
			rep.Imported++
		case identity.BergsonUpdated:
			rep.Updated++
		case identity.BergsonUnchanged:
			rep.Unchanged++
		case identity.BergsonInUse:
			skip(a.ID, "already imported and used here since (its password was changed or rehashed): left alone")
		case identity.BergsonClash:
			skip(a.ID, "a user that is not a Bergson account holds the username: left alone")
		}
	}
	return rep, nil
}
