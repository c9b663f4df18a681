// Package identity stores users, sessions and their credentials with bun on
// SQLite or PostgreSQL. It knows nothing about HTTP or Fernet: the api
// package composes its operations into the request types of the protocol.
package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/migrate"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/authnzrv/authnzrv/migrations"
)

// Driver names accepted by Open.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Open connects to the database. For SQLite, dsn is the database file path:
// the file is created when missing, set to mode 0600, and every connection
// enables foreign keys (the ON DELETE CASCADE rules depend on them), WAL
// journaling and a busy timeout. For PostgreSQL, dsn is a postgres:// URL.
func Open(ctx context.Context, driver, dsn string) (*bun.DB, error) {
	switch driver {
	case DriverSQLite:
		return openSQLite(ctx, dsn)
	case DriverPostgres:
		sqldb, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("identity: open postgres: %w", err)
		}
		sqldb.SetMaxOpenConns(32)
		sqldb.SetMaxIdleConns(32)
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
		db := bun.NewDB(sqldb, pgdialect.New())
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("identity: connect postgres: %w", err)
		}
		return db, nil
	default:
		return nil, fmt.Errorf("identity: unknown database driver %q", driver)
	}
}

func openSQLite(ctx context.Context, path string) (*bun.DB, error) {
	memory := path == ":memory:"
	if !memory {
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("identity: create database directory: %w", err)
			}
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return nil, fmt.Errorf("identity: create database file: %w", err)
		}
		f.Close()
		if err := os.Chmod(path, 0o600); err != nil {
			return nil, fmt.Errorf("identity: chmod database file: %w", err)
		}
	}
	q := url.Values{}
	for _, p := range []string{"foreign_keys(1)", "busy_timeout(30000)", "journal_mode(WAL)", "journal_size_limit(5242880)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("identity: open sqlite: %w", err)
	}
	if memory {
		sqldb.SetMaxOpenConns(1)
	} else {
		sqldb.SetMaxOpenConns(8)
		sqldb.SetMaxIdleConns(8)
	}
	db := bun.NewDB(sqldb, sqlitedialect.New())
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("identity: connect sqlite: %w", err)
	}
	return db, nil
}

// Migrator returns a bun migrator over the embedded migrations of db's dialect.
func Migrator(db *bun.DB) (*migrate.Migrator, error) {
	ms, err := migrations.For(db.Dialect().Name().String())
	if err != nil {
		return nil, err
	}
	return migrate.NewMigrator(db, ms, migrate.WithMarkAppliedOnSuccess(true)), nil
}

// Migrate applies every pending migration. Concurrent callers (several
// instances starting together) are serialised by the migrator's lock table.
func Migrate(ctx context.Context, db *bun.DB) error {
	m, err := Migrator(db)
	if err != nil {
		return err
	}
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("identity: init migrations: %w", err)
	}
	for attempt := 0; ; attempt++ {
		err = m.Lock(ctx)
		if err == nil {
			break
		}
		if attempt > 100 {
			return fmt.Errorf("identity: lock migrations: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	defer m.Unlock(context.WithoutCancel(ctx)) //nolint:errcheck // best effort
	if _, err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("identity: migrate: %w", err)
	}
	return nil
}

// ErrNotFound is returned when a looked-up row does not exist (or, for a
// session, has expired).
var ErrNotFound = errors.New("identity: not found")

// ErrDuplicate is returned when an insert violates a unique constraint.
var ErrDuplicate = errors.New("identity: duplicate")

// ErrNoUser is returned when a row refers to a user that does not exist.
var ErrNoUser = errors.New("identity: no such user")

// ErrBadValue is returned when a value cannot be stored in its column (wrong
// type or too long); the limits are the same on every database.
var ErrBadValue = errors.New("identity: value cannot be stored")

// isForeignKeyViolation reports whether err is a foreign-key violation:
// the row refers to one that does not exist (any more).
func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23503"
	}
	return err != nil && strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// now returns the current UTC time truncated to microseconds, the precision
// both databases store.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
