package identity

import (
	"strings"
	"testing"
)

// TestRenameIndexSQL: the CREATE INDEX texts SQLite keeps get the new name,
// whatever the quoting; anything else is refused.
func TestRenameIndexSQL(t *testing.T) {
	cases := []struct {
		sql, name, want string
	}{
		{`CREATE INDEX ix_users_full_name ON "authnzerver_users" (full_name)`, "ix_users_full_name",
			`CREATE INDEX "authnzerver_ix_users_full_name" ON "authnzerver_users" (full_name)`},
		{`CREATE UNIQUE INDEX ix_users_system_id ON "authnzerver_users" (system_id)`, "ix_users_system_id",
			`CREATE UNIQUE INDEX "authnzerver_ix_users_system_id" ON "authnzerver_users" (system_id)`},
		{`create index if not exists "odd ""name""" on t(x)`, `odd "name"`, `create index if not exists "authnzerver_odd ""name""" on t(x)`},
		{"CREATE INDEX `bq` ON t (x)", "bq", "CREATE INDEX \"authnzerver_bq\" ON t (x)"},
		{"CREATE INDEX [br] ON\nt (x)", "br", "CREATE INDEX \"authnzerver_br\" ON\nt (x)"},
		{`CREATE INDEX other ON t (x)`, "ix", ""},
		{`CREATE TABLE ix (x)`, "ix", ""},
	}
	for _, tc := range cases {
		got, err := renameIndexSQL(tc.sql, tc.name, adoptedName(tc.name, 0))
		if (err != nil) != (tc.want == "") || got != tc.want {
			t.Errorf("%q: %q %v, want %q", tc.sql, got, err, tc.want)
		}
	}
}

// FuzzRenameIndexSQL: index definitions read from a database never make
// renameIndexSQL panic, and a rename keeps the statement's tail.
func FuzzRenameIndexSQL(f *testing.F) {
	f.Add(`CREATE INDEX ix_a ON "t" (a)`, "ix_a")
	f.Add(`CREATE UNIQUE INDEX "x""y" ON t(a)`, `x"y`)
	f.Fuzz(func(t *testing.T, sql, name string) {
		to := adoptedName(name, 0)
		got, err := renameIndexSQL(sql, name, to)
		if err != nil {
			return
		}
		m := createIndexRE.FindStringSubmatch(sql)
		if m == nil || !strings.HasSuffix(got, m[3]) || !strings.HasPrefix(got, m[1]) {
			t.Fatalf("%q → %q: the statement around the name changed", sql, got)
		}
		if _, err := renameIndexSQL(got, to, "again"); err != nil {
			t.Fatalf("%q → %q does not name %q: %v", sql, got, to, err)
		}
	})
}

// TestAdoptedName: names get the prefix, cut to PostgreSQL's limit.
func TestAdoptedName(t *testing.T) {
	long := strings.Repeat("n", 60)
	if got := adoptedName(long, 63); len(got) != 63 || !strings.HasPrefix(got, AdoptedPrefix) {
		t.Fatalf("%q", got)
	}
	if got := adoptedName("users", 0); got != "authnzerver_users" {
		t.Fatalf("%q", got)
	}
}
