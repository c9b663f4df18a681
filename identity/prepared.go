package identity

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"

	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/schema"
)

// The reads every request makes (a user by id, a session or API key by
// token digest) run as prepared statements: database/sql prepares each once
// per pooled connection, where a query built per call would be parsed by
// the database every time (17 % of the CPU of an apikey-verify round trip
// on SQLite). Only equality on a key is left to SQL; time conditions are
// checked in Go on the row, which keeps the time encoding the ORM chose.

// stmtKey names a prepared statement: a model type and its key column.
type stmtKey struct {
	model  reflect.Type
	column string
}

// stmt returns the prepared statement "SELECT <model's columns> FROM
// <model's table> WHERE <column> = ?" for the bun model pointed to by
// model, preparing it on first use.
func (s *Store) stmt(ctx context.Context, model any, column string) (*sql.Stmt, error) {
	k := stmtKey{reflect.TypeOf(model), column}
	if st, ok := s.stmts.Load(k); ok {
		return st.(*sql.Stmt), nil
	}
	t := s.db.Table(k.model.Elem())
	cols := make([]string, len(t.Fields))
	for i, f := range t.Fields {
		cols[i] = string(f.SQLName)
	}
	quote := string(s.db.Dialect().IdentQuote())
	// The driver's own placeholder: the statement is prepared by the
	// database, not formatted by bun.
	placeholder := "?" // SQLite, MySQL
	if s.db.Dialect().Name() == dialect.PG {
		placeholder = "$1"
	}
	query := "SELECT " + strings.Join(cols, ", ") + " FROM " + string(t.SQLName) + " WHERE " + quote + column + quote + " = " + placeholder
	st, err := s.db.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("identity: prepare %s: %w", query, err)
	}
	if prev, loaded := s.stmts.LoadOrStore(k, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// getByKey scans the row of dest's table whose key column equals value into
// dest (a pointer to a bun model); sql.ErrNoRows when there is none.
func (s *Store) getByKey(ctx context.Context, dest any, key string, value any) error {
	st, err := s.stmt(ctx, dest, key)
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(ctx, value)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := s.db.ScanRow(ctx, rows, dest); err != nil {
		return err
	}
	return rows.Close()
}

// sessionWithUser reads a session and its user in one prepared query (the
// session may have expired: the caller checks).
func (s *Store) sessionWithUser(ctx context.Context, digest string) (*SessionInfo, error) {
	st, sf, uf, err := s.joinStmt(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, digest)
	if err != nil {
		return nil, fmt.Errorf("identity: select session: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("identity: select session: %w", err)
		}
		return nil, ErrNotFound
	}
	vals := make([]any, len(sf)+len(uf))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, fmt.Errorf("identity: scan session: %w", err)
	}
	var si SessionInfo
	sv, uv := reflect.ValueOf(&si.Session).Elem(), reflect.ValueOf(&si.User).Elem()
	for i, f := range sf {
		if err := f.ScanValue(sv, vals[i]); err != nil {
			return nil, fmt.Errorf("identity: scan session %s: %w", f.Name, err)
		}
	}
	for i, f := range uf {
		if err := f.ScanValue(uv, vals[len(sf)+i]); err != nil {
			return nil, fmt.Errorf("identity: scan user %s: %w", f.Name, err)
		}
	}
	return &si, rows.Close()
}

// joinKey names the prepared session-and-user statement.
type joinKey struct{}

// joinStmt prepares "SELECT <session columns>, <user columns> FROM sessions
// JOIN users ... WHERE token_hash = ?" once.
func (s *Store) joinStmt(ctx context.Context) (*sql.Stmt, []*schema.Field, []*schema.Field, error) {
	st := s.db.Table(reflect.TypeFor[Session]())
	ut := s.db.Table(reflect.TypeFor[User]())
	if v, ok := s.stmts.Load(joinKey{}); ok {
		return v.(*sql.Stmt), st.Fields, ut.Fields, nil
	}
	cols := make([]string, 0, len(st.Fields)+len(ut.Fields))
	for _, f := range st.Fields {
		cols = append(cols, "s."+string(f.SQLName))
	}
	for _, f := range ut.Fields {
		cols = append(cols, "u."+string(f.SQLName))
	}
	placeholder := "?"
	if s.db.Dialect().Name() == dialect.PG {
		placeholder = "$1"
	}
	query := "SELECT " + strings.Join(cols, ", ") + " FROM sessions s JOIN users u ON u.user_id = s.user_id WHERE s.token_hash = " + placeholder
	stmt, err := s.db.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("identity: prepare %s: %w", query, err)
	}
	if prev, loaded := s.stmts.LoadOrStore(joinKey{}, stmt); loaded {
		stmt.Close()
		stmt = prev.(*sql.Stmt)
	}
	return stmt, st.Fields, ut.Fields, nil
}
