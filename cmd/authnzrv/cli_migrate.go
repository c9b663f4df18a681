package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/mysqldialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/migrate"
	"github.com/uptrace/bun/schema"

	"github.com/authnzrv/authnzrv/identity"
)

// rollbackPlan is what `migrate down` would do: the migrations of the last
// group (newest first) and the tables their down migrations drop.
type rollbackPlan struct {
	Group      int64
	Migrations []string
	Tables     []string
}

// planRollback works out the rollback of the last migration group without
// touching the database: it reads the migration table (which must exist),
// then runs each down migration against a connection that records its
// statements instead of executing them.
func planRollback(ctx context.Context, db *bun.DB) (rollbackPlan, error) {
	ms, err := identity.MigrationStatus(ctx, db)
	if err != nil {
		return rollbackPlan{}, err
	}
	g := ms.LastGroup()
	plan := rollbackPlan{Group: g.ID}
	if g.IsZero() {
		return plan, nil
	}
	statements, err := recordDown(ctx, db.Dialect().Name(), g.Migrations)
	if err != nil {
		return rollbackPlan{}, err
	}
	for i := len(g.Migrations) - 1; i >= 0; i-- {
		plan.Migrations = append(plan.Migrations, g.Migrations[i].String())
	}
	seen := map[string]bool{}
	for _, s := range statements {
		for _, m := range dropTable.FindAllStringSubmatch(s, -1) {
			t := strings.Trim(m[1], "\"`")
			if !seen[t] {
				seen[t] = true
				plan.Tables = append(plan.Tables, t)
			}
		}
	}
	return plan, nil
}

// dropTable finds the table a DROP TABLE statement drops.
var dropTable = regexp.MustCompile("(?i)\\bDROP\\s+TABLE\\s+(?:IF\\s+EXISTS\\s+)?([\"`]?[A-Za-z0-9_]+[\"`]?)")

// recordDown runs the down migrations of ms, newest first, against a
// recording connection of the given dialect and returns their statements.
func recordDown(ctx context.Context, name dialect.Name, ms migrate.MigrationSlice) ([]string, error) {
	var d schema.Dialect
	switch name {
	case dialect.SQLite:
		d = sqlitedialect.New()
	case dialect.PG:
		d = pgdialect.New()
	case dialect.MySQL:
		d = mysqldialect.New()
	default:
		return nil, fmt.Errorf("migrate down: unsupported dialect %s", name)
	}
	rec := &recorder{}
	sqldb := sql.OpenDB(rec)
	defer sqldb.Close()
	fake := bun.NewDB(sqldb, d)
	all := migrate.NewMigrations()
	m := migrate.NewMigrator(fake, all)
	for i := len(ms) - 1; i >= 0; i-- {
		mig := ms[i]
		if mig.Down == nil {
			continue
		}
		if err := mig.Down(ctx, m, &mig); err != nil {
			return nil, fmt.Errorf("migrate down: read %s: %w", mig.Name, err)
		}
	}
	return rec.statements(), nil
}

// recorder is a database/sql connector whose connections execute nothing:
// they record every statement and answer every query with one row holding
// "dry-run" (what a dialect's start-up version query reads).
type recorder struct {
	mu   sync.Mutex
	seen []string
}

func (r *recorder) statements() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// Connect implements driver.Connector.
func (r *recorder) Connect(context.Context) (driver.Conn, error) { return recConn{r}, nil }

// Driver implements driver.Connector.
func (r *recorder) Driver() driver.Driver { return recDriver{r} }

type recDriver struct{ r *recorder }

func (d recDriver) Open(string) (driver.Conn, error) { return recConn(d), nil }

type recConn struct{ r *recorder }

var errDryRun = errors.New("dry run: statement not executed")

func (c recConn) Prepare(string) (driver.Stmt, error) { return nil, errDryRun }
func (c recConn) Close() error                        { return nil }
func (c recConn) Begin() (driver.Tx, error)           { return recTx{}, nil }

func (c recConn) ExecContext(_ context.Context, q string, _ []driver.NamedValue) (driver.Result, error) {
	c.r.mu.Lock()
	c.r.seen = append(c.r.seen, q)
	c.r.mu.Unlock()
	return driver.RowsAffected(0), nil
}

func (c recConn) QueryContext(context.Context, string, []driver.NamedValue) (driver.Rows, error) {
	return &oneRow{}, nil
}

type recTx struct{}

func (recTx) Commit() error   { return nil }
func (recTx) Rollback() error { return nil }

// oneRow is a result of one row and one column.
type oneRow struct{ done bool }

func (r *oneRow) Columns() []string { return []string{"version"} }
func (r *oneRow) Close() error      { return nil }
func (r *oneRow) Next(dest []driver.Value) error {
	if r.done {
		return io.EOF
	}
	r.done = true
	dest[0] = "dry-run"
	return nil
}
