package identity_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// TestDoubleQuotedIdentifiers: raw SQL may quote an identifier with double
// quotes ("desc" is a keyword) on every database.
func TestDoubleQuotedIdentifiers(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		ctx := context.Background()
		s := open(t, db)
		if _, err := s.DB().NewRaw(`INSERT INTO roles (name, "desc") VALUES (?, ?)`, "staff", "Staff role").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		var desc string
		if err := s.DB().NewRaw(`SELECT "desc" FROM roles WHERE name = ?`, "staff").Scan(ctx, &desc); err != nil || desc != "Staff role" {
			t.Fatalf("desc %q %v", desc, err)
		}
	})
}

// TestOpenMySQLSettings: whatever the DSN leaves out or says, a MySQL
// connection parses times in UTC, counts matched rows, runs in strict mode
// with ANSI_QUOTES and UTC, and uses utf8mb4; a DSN's own sql_mode and
// charset win.
func TestOpenMySQLSettings(t *testing.T) {
	base := identitytest.MySQL(t)
	cfg, err := mysql.ParseDSN(base.DSN)
	if err != nil {
		t.Fatal(err)
	}
	bare := cfg.Clone()
	bare.ParseTime = false
	bare.Loc = time.Local
	bare.Params = nil
	tests := []struct {
		name                  string
		params                map[string]string
		wantMode, wantCharset string
		wantZone              string
		wantModeMissing       string
	}{
		{name: "bare DSN", wantMode: "ANSI_QUOTES,STRICT_ALL_TABLES", wantCharset: "utf8mb4", wantZone: "+00:00"},
		{name: "DSN sets sql_mode and charset", params: map[string]string{"sql_mode": "'STRICT_TRANS_TABLES'", "charset": "utf8mb3"},
			wantMode: "STRICT_TRANS_TABLES", wantModeMissing: "ANSI_QUOTES", wantCharset: "utf8mb3", wantZone: "+00:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c := bare.Clone()
			c.Params = tc.params
			db, err := identity.Open(ctx, identity.DriverMySQL, c.FormatDSN())
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var mode, charset, zone string
			if err := db.QueryRowContext(ctx, "SELECT @@SESSION.sql_mode, @@SESSION.character_set_client, @@SESSION.time_zone").Scan(&mode, &charset, &zone); err != nil {
				t.Fatal(err)
			}
			for _, m := range strings.Split(tc.wantMode, ",") {
				if !strings.Contains(","+mode+",", ","+m+",") {
					t.Errorf("sql_mode %q lacks %s", mode, m)
				}
			}
			if tc.wantModeMissing != "" && strings.Contains(mode, tc.wantModeMissing) {
				t.Errorf("sql_mode %q has %s", mode, tc.wantModeMissing)
			}
			if charset != tc.wantCharset || zone != tc.wantZone {
				t.Errorf("charset %q, time zone %q; want %q, %q", charset, zone, tc.wantCharset, tc.wantZone)
			}
			var now time.Time
			if err := db.QueryRowContext(ctx, "SELECT CAST('2030-01-02 03:04:05.123456' AS DATETIME(6))").Scan(&now); err != nil {
				t.Fatalf("DATETIME into time.Time: %v", err)
			}
			if !now.Equal(time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)) {
				t.Errorf("read %v", now)
			}
			conn, err := db.Conn(ctx) // temporary tables live on one connection
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.ExecContext(ctx, "CREATE TEMPORARY TABLE u (k INT PRIMARY KEY, v INT)"); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(ctx, "INSERT INTO u VALUES (1, 1)"); err != nil {
				t.Fatal(err)
			}
			res, err := conn.ExecContext(ctx, "UPDATE u SET v = 1 WHERE k = 1")
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				t.Errorf("an update to the same value affected %d rows, want 1 (matched)", n)
			}
		})
	}
}

// TestOpenErrorsHidePassword: a failed MySQL open says why without the
// password.
func TestOpenErrorsHidePassword(t *testing.T) {
	t.Parallel()
	const pw = "Sup3rS3cretPw"
	for _, dsn := range []string{
		"u:" + pw + "@tcp(127.0.0.1:1)/db?timeout=2s", // nothing listens on port 1
		"u:" + pw + "@tcp(127.0.0.1:1/db",             // unterminated address
		"u:" + pw + "@tcp(127.0.0.1:1)/db?parseTime=maybe",
	} {
		_, err := identity.Open(context.Background(), identity.DriverMySQL, dsn)
		if err == nil {
			t.Fatalf("%q opened", dsn)
		}
		if strings.Contains(err.Error(), pw) || !strings.HasPrefix(err.Error(), "identity: ") {
			t.Fatalf("error %q", err)
		}
	}
}
