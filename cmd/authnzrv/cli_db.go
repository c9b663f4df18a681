package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/spf13/cobra"
	"github.com/uptrace/bun"

	"github.com/authnzrv/authnzrv/config"
	"github.com/authnzrv/authnzrv/identity"
)

// openExisting opens the database authdb names without ever creating it: a
// missing SQLite file is an error, as is a PostgreSQL or MySQL database the
// server does not have. Errors are one line and start with "authdb: ".
func openExisting(ctx context.Context, authdb string) (*bun.DB, error) {
	dbu, err := config.ParseDBURL(authdb)
	if err != nil {
		return nil, err
	}
	if dbu.Driver == identity.DriverSQLite && dbu.Path != ":memory:" {
		st, err := os.Stat(dbu.Path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("authdb: the SQLite database %s does not exist (check --authdb or AUTHNZERVER_AUTHDB; `authnzrv migrate up` creates a new one)", dbu.Path)
		case err != nil:
			return nil, fmt.Errorf("authdb: %w", err)
		case !st.Mode().IsRegular():
			return nil, fmt.Errorf("authdb: %s is not an SQLite database file", dbu.Path)
		case st.Size() == 0:
			// Opening would write to it (WAL mode): say what it is instead.
			return nil, fmt.Errorf("authdb: the SQLite database %s is empty: it holds no authnzrv schema (`authnzrv migrate up` creates it)", dbu.Path)
		}
	}
	db, err := identity.Open(ctx, dbu.Driver, dbu.DSN)
	if err != nil {
		return nil, openError(dbu, err)
	}
	return db, nil
}

// openError turns a failed connection into one line naming authdb; a
// database the server lacks is said so, with its name. The DSN (which may
// hold a password) is never part of the message.
func openError(dbu config.DBURL, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "3D000" {
		return fmt.Errorf("authdb: the PostgreSQL database %q does not exist on the server at %s", dbName(dbu), dbHost(dbu))
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) && myErr.Number == 1049 {
		return fmt.Errorf("authdb: the MySQL database %q does not exist on the server at %s", dbName(dbu), dbHost(dbu))
	}
	return fmt.Errorf("authdb: %w", err)
}

// dbHost is the server address of a PostgreSQL or MySQL URL (never its
// credentials).
func dbHost(dbu config.DBURL) string {
	switch dbu.Driver {
	case identity.DriverPostgres:
		if u, err := url.Parse(dbu.DSN); err == nil && u.Host != "" {
			return u.Host
		}
	case identity.DriverMySQL:
		if c, err := mysql.ParseDSN(dbu.DSN); err == nil {
			return c.Addr
		}
	}
	return "?"
}

// dbName is the database name of a PostgreSQL or MySQL URL.
func dbName(dbu config.DBURL) string {
	switch dbu.Driver {
	case identity.DriverPostgres:
		if u, err := url.Parse(dbu.DSN); err == nil {
			return strings.TrimPrefix(u.Path, "/")
		}
	case identity.DriverMySQL:
		if c, err := mysql.ParseDSN(dbu.DSN); err == nil {
			return c.DBName
		}
	}
	return "?"
}

// requireSchema refuses a database that was never migrated or has pending
// migrations: the administration commands do not change the schema.
func requireSchema(ctx context.Context, db *bun.DB) error {
	ms, err := identity.MigrationStatus(ctx, db)
	if errors.Is(err, identity.ErrNoSchema) {
		return errors.New("authdb: the database holds no authnzrv schema (is --authdb right? `authnzrv migrate up` or the server's first start creates it)")
	}
	if err != nil {
		return fmt.Errorf("authdb: %w", err)
	}
	if pending := ms.Unapplied(); len(pending) > 0 {
		names := make([]string, len(pending))
		for i, m := range pending {
			names[i] = m.String()
		}
		return fmt.Errorf("authdb: %d migrations are pending (%s): run `authnzrv migrate up` or start the server first", len(pending), strings.Join(names, ", "))
	}
	return nil
}

// cliStore opens the configured database for a user command: it must exist
// and hold the current schema; nothing is created or migrated.
func cliStore(cmd *cobra.Command) (*identity.Store, *config.Config, func(), error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, nil, nil, err
	}
	db, err := openExisting(cmd.Context(), cfg.AuthDB)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := requireSchema(cmd.Context(), db); err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	return identity.NewStore(db), cfg, func() { db.Close() }, nil
}
