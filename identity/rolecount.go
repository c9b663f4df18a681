package identity

import (
	"context"
	"fmt"
)

// CountUsersByRole returns how many users (system users included) hold
// each role, by role name; roles no user holds are absent. It only reads,
// and works on the reference authnzerver's users table too (same table and
// column names), so a start can check a database before adopting it.
func (s *Store) CountUsersByRole(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		Role  string `bun:"user_role"`
		Count int    `bun:"n"`
	}
	err := s.db.NewSelect().TableExpr("users").ColumnExpr("user_role").ColumnExpr("COUNT(*) AS n").
		GroupExpr("user_role").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("identity: count users by role: %w", err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.Role] = r.Count
	}
	return out, nil
}
