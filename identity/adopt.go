package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// AdoptedPrefix starts the names the reference authnzerver's tables (and
// their indexes and sequences) get when authnzrv adopts its database: they
// stay, with their rows, as the way back.
const AdoptedPrefix = "authnzerver_"

// AdoptionsTable records each adoption (when, what came over, where the
// way back is).
const AdoptionsTable = "authnzrv_adoptions"

// referenceTables are the tables the reference authnzerver creates
// (config.md §5.2), in the order they are renamed.
func referenceTables() []string {
	return []string{"roles", "users", "sessions", "apikeys", "apikeys_nosession", "groups", "user_groups", "preferences"}
}

// migrationTables are bun/migrate's bookkeeping tables.
func migrationTables() []string { return []string{"bun_migrations", "bun_migration_locks"} }

// DBState is what Inspect found in a database.
type DBState int

// The states of a database at start-up.
const (
	// DBEmpty holds no tables (or only bun/migrate's, with nothing applied).
	DBEmpty DBState = iota + 1
	// DBOurs holds authnzrv's schema (possibly adopted, possibly behind on
	// migrations).
	DBOurs
	// DBReference holds the reference authnzerver's schema.
	DBReference
	// DBForeign holds tables that are neither.
	DBForeign
)

// Survey is what a database holds.
type Survey struct {
	State DBState
	// Tables are the names of its tables, sorted.
	Tables []string
}

// has reports whether the survey found table.
func (s Survey) has(table string) bool { return slices.Contains(s.Tables, table) }

// presentReferenceTables returns the reference tables the database holds.
func (s Survey) presentReferenceTables() []string {
	var out []string
	for _, t := range referenceTables() {
		if s.has(t) {
			out = append(out, t)
		}
	}
	return out
}

// Describe names what was found, in a few words.
func (s Survey) Describe() string {
	switch s.State {
	case DBEmpty:
		return "an empty database"
	case DBOurs:
		return "authnzrv's schema"
	case DBReference:
		return "the reference authnzerver's schema (tables " + strings.Join(s.presentReferenceTables(), ", ") + ")"
	}
	const shown = 12
	names := s.Tables
	more := ""
	if len(names) > shown {
		names, more = names[:shown], fmt.Sprintf(" and %d more", len(s.Tables)-shown)
	}
	return fmt.Sprintf("%d tables that are neither authnzrv's nor the reference authnzerver's: %s%s", len(s.Tables), strings.Join(names, ", "), more)
}

// Inspect looks at the tables of db (a database, a connection or a
// transaction) without writing, and says whose schema it holds.
func Inspect(ctx context.Context, db bun.IDB) (Survey, error) {
	tables, err := listTables(ctx, db)
	if err != nil {
		return Survey{}, fmt.Errorf("identity: inspect database: %w", err)
	}
	sort.Strings(tables)
	s := Survey{Tables: tables}
	applied := 0
	if s.has("bun_migrations") {
		if err := db.NewRaw("SELECT COUNT(*) FROM bun_migrations").Scan(ctx, &applied); err != nil {
			return Survey{}, fmt.Errorf("identity: inspect database: %w", err)
		}
	}
	switch {
	case applied > 0:
		s.State = DBOurs
	case s.has("roles") && s.has("users") && s.has("sessions"):
		// The reference's sessions hold the token itself; ours its digest.
		cols, err := columns(ctx, db, "sessions")
		if err != nil {
			return Survey{}, fmt.Errorf("identity: inspect database: %w", err)
		}
		if slices.Contains(cols, "session_token") {
			s.State = DBReference
		} else {
			s.State = DBForeign
		}
	case len(s.Tables) == 0:
		s.State = DBEmpty
	case !slices.ContainsFunc(s.Tables, func(t string) bool { return !slices.Contains(migrationTables(), t) }):
		// Only bun/migrate's tables, nothing applied: a first migration
		// that stopped early. Migrate carries on from there.
		s.State = DBOurs
	default:
		s.State = DBForeign
	}
	return s, nil
}

// listTables returns the names of the tables in db's current schema.
func listTables(ctx context.Context, db bun.IDB) ([]string, error) {
	var q string
	switch db.Dialect().Name().String() {
	case "sqlite":
		q = `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`
	case "pg":
		q = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`
	case "mysql":
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'`
	default:
		return nil, fmt.Errorf("unknown dialect %s", db.Dialect().Name())
	}
	var names []string
	if err := db.NewRaw(q).Scan(ctx, &names); err != nil {
		return nil, err
	}
	return names, nil
}

// columns returns the column names of table.
func columns(ctx context.Context, db bun.IDB, table string) ([]string, error) {
	rows, err := db.QueryContext(ctx, db.NewSelect().Table(table).ColumnExpr("*").Where("1 = 0").String())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rows.Columns()
}

// prefixed returns the survey's reference tables under their adopted
// names, as the importer reads them.
func (s Survey) prefixed() map[string]bool {
	m := map[string]bool{}
	for _, t := range s.presentReferenceTables() {
		m[t] = true
	}
	return m
}

// AdoptOptions tune Adopt.
type AdoptOptions struct {
	// DSN is the PostgreSQL DSN the database was opened with: authnzrv's
	// schema is first migrated into a scratch schema through a second
	// connection, then moved into place inside the adoption's transaction.
	DSN string
	// SQLitePath is the SQLite database file, copied before anything is
	// written.
	SQLitePath string
	// RollbackFile, for PostgreSQL, is where the SQL that undoes the
	// adoption is written (mode 0600, a new file) before the adoption
	// commits; empty: not written (it is in Adoption.RollbackSQL).
	RollbackFile string
	// AfterUsers, when set, runs inside the adoption's transaction right
	// after the users are copied. Tests use it to stop an adoption
	// half-way.
	AfterUsers func(ctx context.Context) error
}

// Rename is one object renamed by an adoption.
type Rename struct {
	Kind string `json:"kind"` // table, index or sequence
	From string `json:"from"`
	To   string `json:"to"`
}

// Adoption says what Adopt did.
type Adoption struct {
	// Report counts the rows that came over.
	Report *ImportReport `json:"report"`
	// Renamed are the reference's objects, now under AdoptedPrefix.
	Renamed []Rename `json:"renamed"`
	// Created are authnzrv's tables, made by the adoption.
	Created []string `json:"created"`
	// Backup is the copy of the SQLite file taken before the adoption.
	Backup string `json:"backup,omitempty"`
	// RollbackSQL undoes a PostgreSQL adoption (and RollbackFile holds it).
	RollbackSQL  string `json:"-"`
	RollbackFile string `json:"rollback_file,omitempty"`
}

// ErrAdoptUnsupported is returned by Adopt on MySQL and MariaDB: the
// reference never ran there, and their DDL is not transactional.
var ErrAdoptUnsupported = fmt.Errorf("identity: adopting a reference database in place works on SQLite and PostgreSQL only")

// Adopt takes over, in place, a database that holds the reference
// authnzerver's schema (Inspect says DBReference). In one transaction it
// renames the reference's tables (and their indexes and sequences) with
// AdoptedPrefix, creates authnzrv's schema as the migrations make it,
// copies the rows over with the importer's rules (users keep their ids,
// roles, flags and argon2 hashes; live sessions and API keys keep working
// under their tokens, stored as digests) and records the adoption in
// AdoptionsTable. Any failure, or the process dying, leaves the database as
// it was. SQLite files are first copied to <file>.before-adoption-<time>
// (0600); on PostgreSQL the SQL that undoes the adoption is returned and
// written to o.RollbackFile. A database that is no longer the reference's
// when the transaction starts (another instance adopted it) gives nil and
// no error. Rows that cannot be carried over fail the adoption with
// ErrPartialImport (authnzrv import --allow-partial can copy the rest).
func Adopt(ctx context.Context, db *bun.DB, o AdoptOptions) (*Adoption, error) {
	var (
		a   *Adoption
		err error
	)
	switch db.Dialect().Name().String() {
	case "sqlite":
		a, err = adoptSQLite(ctx, db, o)
	case "pg":
		a, err = adoptPostgres(ctx, db, o)
	default:
		return nil, ErrAdoptUnsupported
	}
	if err != nil {
		return nil, fmt.Errorf("identity: adopt: %w", err)
	}
	return a, nil
}

// adoptRows copies the renamed reference tables into authnzrv's (already
// created) tables and records the adoption, inside tx.
func adoptRows(ctx context.Context, tx bun.Tx, sv Survey, a *Adoption, o AdoptOptions) error {
	rep, err := copyReference(ctx, tx, refSource{q: tx, prefix: AdoptedPrefix, tables: sv.prefixed()}, ImportOptions{AfterUsers: o.AfterUsers})
	if err != nil {
		return err
	}
	a.Report = rep
	return recordAdoption(ctx, tx, a)
}

// adoptionRow is a row of AdoptionsTable.
type adoptionRow struct {
	bun.BaseModel `bun:"table:authnzrv_adoptions"`

	AdoptedAt time.Time `bun:"adopted_at,notnull"`
	Prefix    string    `bun:"kept_prefix,notnull"`
	Details   string    `bun:"details,notnull"`
}

// recordAdoption writes the adoption into AdoptionsTable (made if needed).
func recordAdoption(ctx context.Context, tx bun.Tx, a *Adoption) error {
	if _, err := tx.NewCreateTable().Model((*adoptionRow)(nil)).IfNotExists().Exec(ctx); err != nil {
		return fmt.Errorf("create %s: %w", AdoptionsTable, err)
	}
	a.Created = append(a.Created, AdoptionsTable)
	details, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if _, err := tx.NewInsert().Model(&adoptionRow{AdoptedAt: now(), Prefix: AdoptedPrefix, Details: string(details)}).Exec(ctx); err != nil {
		return fmt.Errorf("record adoption: %w", err)
	}
	return nil
}

// dropUnusedMigrationTables drops bun/migrate's tables when they are there
// with nothing applied (Inspect said DBReference): an earlier authnzrv that
// did not know adoption made them before failing on the reference's tables.
func dropUnusedMigrationTables(ctx context.Context, tx bun.Tx, sv Survey) error {
	for _, t := range migrationTables() {
		if sv.has(t) {
			if _, err := tx.ExecContext(ctx, "DROP TABLE ?", bun.Ident(t)); err != nil {
				return fmt.Errorf("drop unused %s: %w", t, err)
			}
		}
	}
	return nil
}

// adoptedName returns the name an object gets: AdoptedPrefix + name, cut
// to limit bytes (PostgreSQL identifiers have at most 63).
func adoptedName(name string, limit int) string {
	n := AdoptedPrefix + name
	if limit > 0 && len(n) > limit {
		n = n[:limit]
	}
	return n
}
