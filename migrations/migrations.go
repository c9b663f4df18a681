// Package migrations holds the schema migrations of authnzrv for SQLite,
// PostgreSQL and MySQL/MariaDB, embedded in the binary and applied with
// bun/migrate.
//
// Released migrations are never edited: a schema change is a new file with a
// later timestamp, written for every dialect under the same name.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"

	"github.com/uptrace/bun/migrate"
)

//go:embed sqlite/*.sql postgres/*.sql mysql/*.sql
var files embed.FS

// For returns the migrations for a bun dialect name ("sqlite", "pg" or
// "mysql").
func For(dialect string) (*migrate.Migrations, error) {
	dir := ""
	switch dialect {
	case "sqlite":
		dir = "sqlite"
	case "pg", "postgres":
		dir = "postgres"
	case "mysql":
		dir = "mysql"
	default:
		return nil, fmt.Errorf("migrations: no migrations for dialect %q", dialect)
	}
	sub, err := fs.Sub(files, dir)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	m := migrate.NewMigrations()
	if err := m.Discover(sub); err != nil {
		return nil, fmt.Errorf("migrations: discover %s: %w", dir, err)
	}
	return m, nil
}
