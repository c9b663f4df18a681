// Package identitytest gives tests a fresh, empty database of each supported
// kind: SQLite in a temporary directory, PostgreSQL when the environment
// variable AUTHNZRV_TEST_POSTGRES holds a server URL (for example
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable), and MySQL or
// MariaDB when AUTHNZRV_TEST_MYSQL holds one (for example
// mysql://root@127.0.0.1:13306/, the server .ci/mariadb-start runs). Each
// server database gets a random name and is dropped when the test ends, so
// runs never see each other's rows.
package identitytest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver

	"github.com/authnzrv/authnzrv/config"
)

// EnvPostgres names the environment variable holding the PostgreSQL URL.
const EnvPostgres = "AUTHNZRV_TEST_POSTGRES"

// EnvMySQL names the environment variable holding the MySQL/MariaDB server
// URL, in the SQLAlchemy form the --authdb flag takes, without a database
// name.
const EnvMySQL = "AUTHNZRV_TEST_MYSQL"

// DB is a test database: the driver name and DSN that identity.Open takes,
// plus the SQLAlchemy-style URL the server's --authdb flag takes.
type DB struct {
	Driver string
	DSN    string
	URL    string
}

// Each runs fn as a subtest once per database kind ("sqlite", "postgres",
// "mysql"). The PostgreSQL and MySQL subtests are skipped, with a message
// naming EnvPostgres or EnvMySQL, when the variable is unset.
func Each(t *testing.T, fn func(t *testing.T, db DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
	t.Run("mysql", func(t *testing.T) { fn(t, MySQL(t)) })
}

// SQLite returns a new database file in a temporary directory.
func SQLite(t testing.TB) DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "auth.sqlite")
	return DB{Driver: "sqlite", DSN: path, URL: "sqlite:///" + path}
}

// Postgres creates a randomly named database on the server named by
// EnvPostgres and drops it when the test ends; it skips the test when the
// variable is unset.
func Postgres(t testing.TB) DB {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skipf("PostgreSQL tests skipped: set %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", EnvPostgres)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	name := "authnzrv_test_" + randomSuffix(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", EnvPostgres, err)
	}
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	dsn := u.String()
	return DB{Driver: "postgres", DSN: dsn, URL: dsn}
}

// MySQL creates a randomly named database on the MySQL or MariaDB server
// named by EnvMySQL and drops it when the test ends; it skips the test when
// the variable is unset.
func MySQL(t testing.TB) DB {
	t.Helper()
	base := os.Getenv(EnvMySQL)
	if base == "" {
		t.Skipf("MySQL tests skipped: set %s (e.g. mysql://root@127.0.0.1:13306/ after .ci/mariadb-start)", EnvMySQL)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s is not a URL", EnvMySQL)
	}
	name := "authnzrv_test_" + randomSuffix(t)
	u.Path = "/" + name
	dbu, err := config.ParseDBURL(u.String())
	if err != nil {
		t.Fatalf("%s: %v", EnvMySQL, err)
	}
	// The server connection: the same DSN without the database.
	cfg, err := mysql.ParseDSN(dbu.DSN)
	if err != nil {
		t.Fatalf("%s: %v", EnvMySQL, err)
	}
	cfg.DBName = ""
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatalf("open %s: %v", EnvMySQL, err)
	}
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		admin.Close()
		t.Fatalf("create test database on %s: %v", EnvMySQL, err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return DB{Driver: "mysql", DSN: dbu.DSN, URL: u.String()}
}

// randomSuffix returns 12 random hex digits for a database name.
func randomSuffix(t testing.TB) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// String names the database kind for test output.
func (d DB) String() string { return fmt.Sprintf("%s database", d.Driver) }
