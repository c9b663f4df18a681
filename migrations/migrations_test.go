package migrations_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/authnzrv/authnzrv/migrations"
)

var dialects = []struct{ name, dir string }{{"sqlite", "sqlite"}, {"pg", "postgres"}, {"mysql", "mysql"}}

// TestForKeepsDialectsInStep: every dialect has the same migrations, by
// name and in order, and an unknown dialect is an error.
func TestForKeepsDialectsInStep(t *testing.T) {
	t.Parallel()
	var want []string
	for _, d := range dialects {
		ms, err := migrations.For(d.name)
		if err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		var names []string
		for _, m := range ms.Sorted() {
			if m.Up == nil || m.Down == nil {
				t.Fatalf("%s: migration %s lacks an up or a down", d.name, m.Name)
			}
			names = append(names, m.Name+" "+m.Comment)
		}
		if len(names) == 0 {
			t.Fatalf("%s: no migrations", d.name)
		}
		if want == nil {
			want = names
		} else if !slices.Equal(names, want) {
			t.Fatalf("%s migrations %v, want %v (as %s)", d.name, names, want, dialects[0].name)
		}
	}
	if _, err := migrations.For("mssql"); err == nil {
		t.Fatal("unknown dialect accepted")
	}
}

var (
	createTable = regexp.MustCompile(`(?is)CREATE TABLE (\w+) \((.*?)\n\)`)
	createIndex = regexp.MustCompile(`(?i)CREATE INDEX (\w+) ON (\w+) \(([^)]*)\)`)
	columnName  = regexp.MustCompile("^\\s*[\"`]?(\\w+)[\"`]?\\s")
)

// schema reads the tables (table → sorted column names) and indexes
// ("name table(columns)") that a dialect's up migrations create.
func schema(t *testing.T, dir string) (map[string][]string, []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.up.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("%s: no up migrations (%v)", dir, err)
	}
	tables := map[string][]string{}
	var indexes []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range createTable.FindAllStringSubmatch(string(b), -1) {
			var cols []string
			for _, line := range strings.Split(m[2], "\n") {
				c := columnName.FindStringSubmatch(line)
				if c == nil || slices.Contains([]string{"FOREIGN", "PRIMARY", "UNIQUE", "CONSTRAINT", "KEY", "INDEX", "CHECK"}, strings.ToUpper(c[1])) {
					continue
				}
				cols = append(cols, c[1])
			}
			slices.Sort(cols)
			tables[m[1]] = cols
		}
		for _, m := range createIndex.FindAllStringSubmatch(string(b), -1) {
			indexes = append(indexes, m[1]+" "+m[2]+"("+strings.ReplaceAll(m[3], " ", "")+")")
		}
	}
	slices.Sort(indexes)
	return tables, indexes
}

// TestSameSchemaInEveryDialect: the tables, their columns and the indexes
// are the same in every dialect's SQL.
func TestSameSchemaInEveryDialect(t *testing.T) {
	t.Parallel()
	wantTables, wantIndexes := schema(t, dialects[0].dir)
	if len(wantTables) < 7 {
		t.Fatalf("read only %d tables from %s: %v", len(wantTables), dialects[0].dir, wantTables)
	}
	for _, d := range dialects[1:] {
		tables, indexes := schema(t, d.dir)
		if len(tables) != len(wantTables) {
			t.Errorf("%s: tables %v, want %v", d.dir, tables, wantTables)
		}
		for name, cols := range wantTables {
			if !slices.Equal(tables[name], cols) {
				t.Errorf("%s: table %s has columns %v, want %v", d.dir, name, tables[name], cols)
			}
		}
		if !slices.Equal(indexes, wantIndexes) {
			t.Errorf("%s: indexes %v, want %v", d.dir, indexes, wantIndexes)
		}
	}
}

// TestMySQLTablesAreInnoDBUTF8MB4: every MySQL table names its engine and
// character set (the server's defaults may be MyISAM or latin1), and no
// timestamp column loses its microseconds.
func TestMySQLTablesAreInnoDBUTF8MB4(t *testing.T) {
	t.Parallel()
	err := fs.WalkDir(os.DirFS("mysql"), ".", func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(path, ".up.sql") {
			return err
		}
		b, err := os.ReadFile(filepath.Join("mysql", path))
		if err != nil {
			return err
		}
		s := string(b)
		for _, m := range regexp.MustCompile(`(?is)CREATE TABLE (\w+) \(.*?\n\)([^;]*);`).FindAllStringSubmatch(s, -1) {
			if !strings.Contains(m[2], "ENGINE=InnoDB") || !strings.Contains(m[2], "CHARSET=utf8mb4") {
				t.Errorf("%s: table %s options %q", path, m[1], m[2])
			}
		}
		if regexp.MustCompile(`(?i)\b(TIMESTAMP|DATETIME)\b[^(]`).MatchString(s) {
			t.Errorf("%s: a TIMESTAMP or DATETIME without (6)", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
