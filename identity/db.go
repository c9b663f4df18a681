// Package identity stores users, sessions and their credentials with bun on
// SQLite, PostgreSQL or MySQL/MariaDB. It knows nothing about HTTP or
// Fernet: the api package composes its operations into the request types of
// the protocol.
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

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/mysqldialect"
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
	DriverMySQL    = "mysql"
)

// Open connects to the database. For SQLite, dsn is the database file path:
// the file is created when missing, set to mode 0600, and every connection
// enables foreign keys (the ON DELETE CASCADE rules depend on them), WAL
// journaling and a busy timeout. For PostgreSQL, dsn is a postgres:// URL.
// For MySQL and MariaDB, dsn is a go-sql-driver/mysql DSN
// (config.ParseDBURL makes one); see openMySQL for the settings it forces.
func Open(ctx context.Context, driver, dsn string) (*bun.DB, error) {
	switch driver {
	case DriverSQLite:
		return openSQLite(ctx, dsn)
	case DriverMySQL:
		return openMySQL(ctx, dsn)
	case DriverPostgres:
		return openPostgres(ctx, dsn)
	default:
		return nil, fmt.Errorf("identity: unknown database driver %q", driver)
	}
}

// openPostgres opens a PostgreSQL database. bun writes values into the
// statements it sends, escaped for standard_conforming_strings = on (a
// backslash is an ordinary character in a string literal): every
// connection sets it on, whatever the database's or role's default, and
// the server is asked that it took effect (issue 13, finding 7).
func openPostgres(ctx context.Context, dsn string) (*bun.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("identity: postgres URL: %w", err)
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["standard_conforming_strings"] = "on"
	sqldb := stdlib.OpenDB(*cfg)
	sqldb.SetMaxOpenConns(32)
	sqldb.SetMaxIdleConns(32)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	db := bun.NewDB(sqldb, pgdialect.New())
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("identity: connect postgres: %w", err)
	}
	var scs string
	if err := db.QueryRowContext(ctx, "SHOW standard_conforming_strings").Scan(&scs); err != nil {
		db.Close()
		return nil, fmt.Errorf("identity: postgres: read standard_conforming_strings: %w", err)
	}
	if scs != "on" {
		db.Close()
		return nil, fmt.Errorf("identity: postgres: standard_conforming_strings is %q and cannot be set on: refusing to send values escaped for it", scs)
	}
	return db, nil
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

// The session variables every MySQL connection sets unless its DSN does:
// strict mode (errors, not silent truncation), ANSI_QUOTES so that "desc"
// quotes an identifier as in SQLite and PostgreSQL (bun itself quotes
// identifiers with backticks and strings with single quotes), no
// NO_BACKSLASH_ESCAPES (bun escapes backslashes in strings), and UTC for the
// few server-side time defaults.
const (
	mysqlSQLMode  = "'ANSI_QUOTES,STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'"
	mysqlTimeZone = "'+00:00'"
)

// openMySQL opens a MySQL or MariaDB database. Whatever the DSN says,
// DATETIME columns are read as time.Time in UTC (parseTime, loc=UTC) and
// UPDATE reports the rows it matched, not only those it changed
// (clientFoundRows), as SQLite and PostgreSQL do; without a charset the
// connection uses utf8mb4.
func openMySQL(ctx context.Context, dsn string) (*bun.DB, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("identity: mysql DSN: %w", err)
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.ClientFoundRows = true
	if !dsnHasParam(dsn, "charset") {
		if err := cfg.Apply(mysql.Charset("utf8mb4", "")); err != nil {
			return nil, fmt.Errorf("identity: mysql charset: %w", err)
		}
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	for _, kv := range [][2]string{{"sql_mode", mysqlSQLMode}, {"time_zone", mysqlTimeZone}} {
		if _, set := cfg.Params[kv[0]]; !set {
			cfg.Params[kv[0]] = kv[1]
		}
	}
	// bun escapes quotes in strings with backslashes: a mode in which a
	// backslash is an ordinary character would let a value end its string
	// (issue 13, finding 7).
	if strings.Contains(strings.ToUpper(cfg.Params["sql_mode"]), "NO_BACKSLASH_ESCAPES") {
		return nil, fmt.Errorf("identity: mysql: sql_mode NO_BACKSLASH_ESCAPES is refused (values are sent escaped with backslashes)")
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("identity: open mysql: %w", err)
	}
	sqldb := sql.OpenDB(connector)
	sqldb.SetMaxOpenConns(32)
	sqldb.SetMaxIdleConns(32)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	// The server drops idle connections after wait_timeout (8 h by default).
	sqldb.SetConnMaxLifetime(time.Hour)
	// Ping before bun.NewDB, which asks the server for its version.
	if err := sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("identity: connect mysql: %w", err)
	}
	return bun.NewDB(sqldb, mysqldialect.New(mysqldialect.WithTimeLocation("UTC"))), nil
}

// dsnHasParam reports whether a go-sql-driver DSN sets the parameter name
// (the parameters follow the last "/").
func dsnHasParam(dsn, name string) bool {
	_, query, ok := strings.Cut(dsn[strings.LastIndexByte(dsn, '/')+1:], "?")
	if !ok {
		return false
	}
	for _, p := range strings.Split(query, "&") {
		if k, _, _ := strings.Cut(p, "="); k == name {
			return true
		}
	}
	return false
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
// instances starting together) are serialised by the migrator's lock table;
// creating that table is retried, since PostgreSQL fails one of two
// concurrent CREATE TABLE IF NOT EXISTS.
func Migrate(ctx context.Context, db *bun.DB) error {
	m, err := Migrator(db)
	if err != nil {
		return err
	}
	if err := retry(ctx, 5, m.Init); err != nil {
		return fmt.Errorf("identity: init migrations: %w", err)
	}
	if err := retry(ctx, 100, m.Lock); err != nil {
		return fmt.Errorf("identity: lock migrations: %w", err)
	}
	defer m.Unlock(context.WithoutCancel(ctx)) //nolint:errcheck // best effort
	if _, err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("identity: migrate: %w", err)
	}
	return nil
}

// retry calls fn until it succeeds, at most attempts+1 times, 100 ms apart,
// and returns its last error.
func retry(ctx context.Context, attempts int, fn func(context.Context) error) error {
	for attempt := 0; ; attempt++ {
		err := fn(ctx)
		if err == nil || attempt >= attempts {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
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
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		return myErr.Number == mysqlNoReferencedRow
	}
	return err != nil && strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		return myErr.Number == mysqlDuplicateEntry
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// MySQL's error numbers: ER_DUP_ENTRY and ER_NO_REFERENCED_ROW_2.
const (
	mysqlDuplicateEntry  = 1062
	mysqlNoReferencedRow = 1452
)

// isMySQL reports whether db is a MySQL or MariaDB database.
func isMySQL(db bun.IDB) bool { return db.Dialect().Name() == dialect.MySQL }

// now returns the current UTC time truncated to microseconds, the precision
// every database stores.
func (s *Store) now() time.Time { return s.clock().UTC().Truncate(time.Microsecond) }

// now is the wall clock in the precision every database stores, for the
// code that runs before or without a Store (adoption, import).
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
