package identity

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// adoptScratchSchema is where a PostgreSQL adoption migrates authnzrv's
// schema before moving it into place. A crash can leave it behind; the next
// adoption drops it first.
const adoptScratchSchema = "authnzrv_adoption_scratch"

// adoptLockKey is the advisory lock that serialises adoptions of one
// PostgreSQL database by instances starting together.
const adoptLockKey = 0x617574686e7a7276 // "authnzrv"

// pgMaxIdentifier is PostgreSQL's longest identifier, in bytes.
const pgMaxIdentifier = 63

// adoptPostgres adopts a PostgreSQL database: authnzrv's schema is migrated
// into a scratch schema (bun/migrate runs each migration on a connection of
// its own), then, in one transaction, the reference's tables, indexes and
// sequences are renamed, authnzrv's tables are moved into the current
// schema, and the rows are copied.
func adoptPostgres(ctx context.Context, db *bun.DB, o AdoptOptions) (*Adoption, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", int64(adoptLockKey)); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", int64(adoptLockKey)) //nolint:errcheck // the lock also ends with the connection
	sv, err := Inspect(ctx, conn)
	if err != nil || sv.State != DBReference {
		return nil, err // adopted by another instance meanwhile
	}
	if err := migrateScratch(ctx, conn, o.DSN); err != nil {
		return nil, err
	}
	var target string
	if err := conn.NewRaw("SELECT current_schema()").Scan(ctx, &target); err != nil {
		return nil, err
	}
	a := &Adoption{}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := dropUnusedMigrationTables(ctx, tx, sv); err != nil {
		return nil, err
	}
	if a.Renamed, err = renamePostgres(ctx, tx, sv.presentReferenceTables()); err != nil {
		return nil, err
	}
	if a.Created, err = moveScratch(ctx, tx, target); err != nil {
		return nil, err
	}
	if err := adoptRows(ctx, tx, sv, a, o); err != nil {
		return nil, err
	}
	a.RollbackSQL = postgresRollback(a)
	if o.RollbackFile != "" {
		if err := writeNewFile(o.RollbackFile, a.RollbackSQL); err != nil {
			return nil, err
		}
		a.RollbackFile = o.RollbackFile
	}
	if err := tx.Commit(); err != nil {
		if a.RollbackFile != "" {
			os.Remove(a.RollbackFile)
		}
		return nil, fmt.Errorf("commit: %w", err)
	}
	return a, nil
}

// migrateScratch (re)makes the scratch schema and migrates it through a
// connection pool of its own whose search_path is that schema.
func migrateScratch(ctx context.Context, conn bun.Conn, dsn string) error {
	for _, q := range []string{"DROP SCHEMA IF EXISTS ? CASCADE", "CREATE SCHEMA ?"} {
		if _, err := conn.ExecContext(ctx, q, bun.Ident(adoptScratchSchema)); err != nil {
			return fmt.Errorf("scratch schema: %w", err)
		}
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("scratch schema: %w", err)
	}
	cfg.RuntimeParams["search_path"] = adoptScratchSchema
	scratch := bun.NewDB(stdlib.OpenDB(*cfg), pgdialect.New())
	defer scratch.Close()
	var path string
	if err := scratch.NewRaw("SELECT current_schema()").Scan(ctx, &path); err != nil {
		return fmt.Errorf("scratch schema: %w", err)
	}
	if path != adoptScratchSchema {
		return fmt.Errorf("scratch schema: connections use schema %q, not %q", path, adoptScratchSchema)
	}
	return Migrate(ctx, scratch)
}

// renamePostgres renames the reference's tables and, since their names are
// per schema, the indexes (those of primary keys and unique constraints
// included) and sequences that belong to them.
func renamePostgres(ctx context.Context, tx bun.Tx, tables []string) ([]Rename, error) {
	var done []Rename
	for _, t := range tables {
		var idx, seqs []string
		if err := tx.NewRaw("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ?", t).Scan(ctx, &idx); err != nil {
			return nil, fmt.Errorf("indexes of %s: %w", t, err)
		}
		err := tx.NewRaw(`SELECT s.relname FROM pg_class s
			JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.refclassid = 'pg_class'::regclass
			JOIN pg_class t ON t.oid = d.refobjid
			WHERE s.relkind = 'S' AND t.relname = ? AND t.relnamespace = s.relnamespace
			AND s.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())`, t).Scan(ctx, &seqs)
		if err != nil {
			return nil, fmt.Errorf("sequences of %s: %w", t, err)
		}
		objs := []struct {
			kind, stmt string
			names      []string
		}{{"table", "ALTER TABLE ? RENAME TO ?", []string{t}}, {"index", "ALTER INDEX ? RENAME TO ?", idx}, {"sequence", "ALTER SEQUENCE ? RENAME TO ?", seqs}}
		for _, o := range objs {
			for _, n := range o.names {
				if strings.HasPrefix(n, AdoptedPrefix) {
					continue
				}
				to := adoptedName(n, pgMaxIdentifier)
				if _, err := tx.ExecContext(ctx, o.stmt, bun.Ident(n), bun.Ident(to)); err != nil {
					return nil, fmt.Errorf("rename %s %s: %w", o.kind, n, err)
				}
				done = append(done, Rename{o.kind, n, to})
			}
		}
	}
	return done, nil
}

// moveScratch moves every table of the scratch schema (with its indexes,
// constraints and identity sequences) into the target schema, drops the
// scratch schema and returns the tables moved.
func moveScratch(ctx context.Context, tx bun.Tx, target string) ([]string, error) {
	var tables []string
	if err := tx.NewRaw("SELECT tablename FROM pg_tables WHERE schemaname = ? ORDER BY tablename", adoptScratchSchema).Scan(ctx, &tables); err != nil {
		return nil, fmt.Errorf("scratch tables: %w", err)
	}
	if len(tables) == 0 {
		return nil, errors.New("the scratch schema holds no tables")
	}
	for _, t := range tables {
		if _, err := tx.ExecContext(ctx, "ALTER TABLE ?.? SET SCHEMA ?", bun.Ident(adoptScratchSchema), bun.Ident(t), bun.Ident(target)); err != nil {
			return nil, fmt.Errorf("move %s into place: %w", t, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "DROP SCHEMA ? CASCADE", bun.Ident(adoptScratchSchema)); err != nil {
		return nil, fmt.Errorf("drop scratch schema: %w", err)
	}
	return tables, nil
}

// postgresRollback returns SQL that undoes the adoption a: it drops
// authnzrv's tables and gives the reference's objects their names back.
// Whatever was written since the adoption is lost.
func postgresRollback(a *Adoption) string {
	q := func(n string) string { return `"` + strings.ReplaceAll(n, `"`, `""`) + `"` }
	var b strings.Builder
	b.WriteString("-- Undoes authnzrv's adoption of the reference authnzerver's database: drops\n")
	b.WriteString("-- authnzrv's tables and gives the reference's tables their names back.\n")
	b.WriteString("-- Stop every authnzrv first; rows written since the adoption are lost.\n")
	b.WriteString("-- Run with: psql -v ON_ERROR_STOP=1 -f <this file> <database URL>\n")
	b.WriteString("BEGIN;\n")
	for _, t := range a.Created {
		fmt.Fprintf(&b, "DROP TABLE IF EXISTS %s CASCADE;\n", q(t))
	}
	for i := len(a.Renamed) - 1; i >= 0; i-- {
		r := a.Renamed[i]
		fmt.Fprintf(&b, "ALTER %s %s RENAME TO %s;\n", strings.ToUpper(r.Kind), q(r.To), q(r.From))
	}
	b.WriteString("COMMIT;\n")
	return b.String()
}

// writeNewFile writes text to a new file of mode 0600.
func writeNewFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("rollback file: %w", err)
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("rollback file: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("rollback file: %w", err)
	}
	return nil
}
