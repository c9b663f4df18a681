package identity

import (
	"context"
	"errors"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/migrate"
)

// The read-only questions the administration commands ask before they act:
// does the database hold our schema, which migrations are applied, how much
// would a command touch. None of these creates or changes anything.

// MigrationTable is the table in which bun/migrate records the applied
// migrations (its default name, which Migrator keeps).
const MigrationTable = "bun_migrations"

// ErrNoSchema is returned when the database has never been migrated: it has
// no migration table.
var ErrNoSchema = errors.New("identity: the database holds no authnzrv schema")

// SystemUsers is how many system users Bootstrap creates: user ids 1 (the
// first superuser), 2 (anonymous) and 3 (the locked dummy user).
const SystemUsers = 3

// HasTable reports whether the database (SQLite file, PostgreSQL current
// schema, MySQL current database) has a table called name.
func HasTable(ctx context.Context, db bun.IDB, name string) (bool, error) {
	var q string
	switch db.Dialect().Name() {
	case dialect.SQLite:
		q = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
	case dialect.PG:
		q = "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?"
	case dialect.MySQL:
		q = "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
	default:
		return false, fmt.Errorf("identity: has table: unsupported dialect %s", db.Dialect().Name())
	}
	var n int
	if err := db.NewRaw(q, name).Scan(ctx, &n); err != nil {
		return false, fmt.Errorf("identity: has table %s: %w", name, err)
	}
	return n > 0, nil
}

// MigrationStatus returns the embedded migrations of db's dialect in order,
// each marked applied or not, reading the migration table without creating
// it: ErrNoSchema when it does not exist.
func MigrationStatus(ctx context.Context, db *bun.DB) (migrate.MigrationSlice, error) {
	ok, err := HasTable(ctx, db, MigrationTable)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNoSchema
	}
	m, err := Migrator(db)
	if err != nil {
		return nil, err
	}
	ms, err := m.MigrationsWithStatus(ctx)
	if err != nil {
		return nil, fmt.Errorf("identity: migration status: %w", err)
	}
	return ms, nil
}

// CountRows returns how many rows table holds. table must be one of the
// schema's own table names, never user input.
func CountRows(ctx context.Context, db bun.IDB, table string) (int, error) {
	n, err := db.NewSelect().TableExpr("?", bun.Ident(table)).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("identity: count rows of %s: %w", table, err)
	}
	return int(n), nil
}

// CountNonSystemUsers returns how many users there are besides the system
// users (ids 1 to SystemUsers).
func (s *Store) CountNonSystemUsers(ctx context.Context) (int, error) {
	n, err := s.db.NewSelect().Model((*User)(nil)).Where("user_id > ?", SystemUsers).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("identity: count users: %w", err)
	}
	return int(n), nil
}

// CountAPIKeys returns how many session-bound and no-session API keys
// (live or expired) a user has.
func (s *Store) CountAPIKeys(ctx context.Context, userID int64) (bound, noSession int, err error) {
	b, err := s.db.NewSelect().Model((*APIKey)(nil)).Where("user_id = ?", userID).Count(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("identity: count API keys: %w", err)
	}
	n, err := s.db.NewSelect().Model((*NoSessionKey)(nil)).Where("user_id = ?", userID).Count(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("identity: count no-session API keys: %w", err)
	}
	return int(b), int(n), nil
}
