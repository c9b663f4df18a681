package identity

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// adoptSQLite adopts an SQLite database: a copy of the file first, then
// one transaction (SQLite's DDL is transactional; foreign keys stay on, and
// renaming a table rewrites the references to it).
func adoptSQLite(ctx context.Context, db *bun.DB, o AdoptOptions) (*Adoption, error) {
	if o.SQLitePath == "" || o.SQLitePath == ":memory:" {
		return nil, errors.New("an SQLite adoption needs the database file's path")
	}
	schema, err := sqliteSchema(ctx)
	if err != nil {
		return nil, err
	}
	backup, err := backupSQLite(ctx, db, o.SQLitePath, time.Now().UTC())
	if err != nil {
		return nil, err
	}
	a := &Adoption{Backup: backup}
	adopted := false
	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		sv, err := Inspect(ctx, tx)
		if err != nil || sv.State != DBReference {
			return err // adopted by another instance meanwhile
		}
		if err := dropUnusedMigrationTables(ctx, tx, sv); err != nil {
			return err
		}
		if a.Renamed, err = renameSQLite(ctx, tx, sv.presentReferenceTables()); err != nil {
			return err
		}
		if a.Created, err = schema.create(ctx, tx); err != nil {
			return err
		}
		if err := adoptRows(ctx, tx, sv, a, o); err != nil {
			return err
		}
		adopted = true
		return nil
	})
	if err != nil || !adopted {
		os.Remove(backup)
		return nil, err
	}
	return a, nil
}

// backupSQLite writes a consistent copy of the database (WAL included) to
// <path>.before-adoption-<time>[-n], a new file of mode 0600, and returns
// its path.
func backupSQLite(ctx context.Context, db *bun.DB, path string, t time.Time) (string, error) {
	base := path + ".before-adoption-" + t.Format("20060102T150405Z")
	backup := base
	// A copy left by an adoption that did not finish keeps its name.
	f, err := os.OpenFile(backup, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	for n := 2; errors.Is(err, fs.ErrExist) && n < 100; n++ {
		backup = fmt.Sprintf("%s-%d", base, n)
		f, err = os.OpenFile(backup, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	}
	if err != nil {
		return "", fmt.Errorf("backup: %w", err)
	}
	f.Close()
	// VACUUM INTO writes into an existing file only when it is empty, and
	// keeps its mode.
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", backup); err != nil {
		os.Remove(backup)
		return "", fmt.Errorf("backup to %s: %w", backup, err)
	}
	return backup, nil
}

// renameSQLite renames the reference's tables and their indexes (SQLite
// index names are per database, and an index cannot be renamed: it is made
// again under the new name).
func renameSQLite(ctx context.Context, tx bun.Tx, tables []string) ([]Rename, error) {
	var done []Rename
	var renamed []string
	for _, t := range tables {
		to := adoptedName(t, 0)
		if _, err := tx.ExecContext(ctx, "ALTER TABLE ? RENAME TO ?", bun.Ident(t), bun.Ident(to)); err != nil {
			return nil, fmt.Errorf("rename table %s: %w", t, err)
		}
		done = append(done, Rename{"table", t, to})
		renamed = append(renamed, to)
	}
	var idx []struct {
		Name string `bun:"name"`
		SQL  string `bun:"sql"`
	}
	err := tx.NewRaw("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (?) ORDER BY rowid",
		bun.In(renamed)).Scan(ctx, &idx)
	if err != nil {
		return nil, fmt.Errorf("list indexes: %w", err)
	}
	for _, ix := range idx {
		if strings.HasPrefix(ix.Name, AdoptedPrefix) {
			continue
		}
		to := adoptedName(ix.Name, 0)
		create, err := renameIndexSQL(ix.SQL, ix.Name, to)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, "DROP INDEX ?", bun.Ident(ix.Name)); err != nil {
			return nil, fmt.Errorf("drop index %s: %w", ix.Name, err)
		}
		if _, err := tx.ExecContext(ctx, create); err != nil {
			return nil, fmt.Errorf("make index %s: %w", to, err)
		}
		done = append(done, Rename{"index", ix.Name, to})
	}
	return done, nil
}

// createIndexRE splits SQLite's text of a CREATE INDEX statement around the
// index name (bare, "double", `back` or [bracket] quoted).
var createIndexRE = regexp.MustCompile("(?is)^(\\s*CREATE\\s+(?:UNIQUE\\s+)?INDEX\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?)(\"(?:[^\"]|\"\")+\"|`[^`]+`|\\[[^\\]]+\\]|[^\\s(]+)(\\s+ON[\\s\"`\\[].*)$")

// renameIndexSQL returns the CREATE INDEX statement sql (as SQLite keeps
// it) with the index called to instead of name.
func renameIndexSQL(sql, name, to string) (string, error) {
	m := createIndexRE.FindStringSubmatch(sql)
	if m == nil || unquoteSQLite(m[2]) != name {
		return "", fmt.Errorf("index %s: unexpected definition", name)
	}
	return m[1] + `"` + strings.ReplaceAll(to, `"`, `""`) + `"` + m[3], nil
}

// unquoteSQLite removes SQLite's identifier quotes.
func unquoteSQLite(s string) string {
	if len(s) >= 2 {
		switch {
		case s[0] == '"' && s[len(s)-1] == '"':
			return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
		case s[0] == '`' && s[len(s)-1] == '`', s[0] == '[' && s[len(s)-1] == ']':
			return s[1 : len(s)-1]
		}
	}
	return s
}

// sqliteDDL is authnzrv's SQLite schema as the migrations make it: the
// statements SQLite kept, in order, and bun/migrate's record of them.
type sqliteDDL struct {
	tables     []string
	statements []string
	applied    []migrate.Migration
}

// sqliteSchema runs the migrations on an in-memory database and reads back
// what they made, so that an adoption can make the same inside its own
// transaction (bun/migrate runs each migration on its own connection).
func sqliteSchema(ctx context.Context) (*sqliteDDL, error) {
	mem, err := openSQLite(ctx, ":memory:")
	if err != nil {
		return nil, err
	}
	defer mem.Close()
	if err := Migrate(ctx, mem); err != nil {
		return nil, err
	}
	var objs []struct {
		Type string `bun:"type"`
		Name string `bun:"name"`
		SQL  string `bun:"sql"`
	}
	if err := mem.NewRaw(`SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY rowid`).Scan(ctx, &objs); err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	d := &sqliteDDL{}
	for _, o := range objs {
		if strings.Contains(o.SQL, "?") {
			return nil, fmt.Errorf("schema object %s: unexpected '?' in its definition", o.Name)
		}
		d.statements = append(d.statements, o.SQL)
		if o.Type == "table" {
			d.tables = append(d.tables, o.Name)
		}
	}
	if err := mem.NewSelect().Model(&d.applied).ModelTableExpr("bun_migrations AS migration").Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	return d, nil
}

// create makes the schema in tx and returns the tables made.
func (d *sqliteDDL) create(ctx context.Context, tx bun.Tx) ([]string, error) {
	for _, stmt := range d.statements {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("create schema: %w", err)
		}
	}
	if len(d.applied) > 0 {
		if _, err := tx.NewInsert().Model(&d.applied).ModelTableExpr("bun_migrations AS migration").Exec(ctx); err != nil {
			return nil, fmt.Errorf("record migrations: %w", err)
		}
	}
	return d.tables, nil
}
