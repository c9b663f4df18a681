package config_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/spf13/pflag"

	"github.com/authnzrv/authnzrv/config"
)

const key = "uQ0D2Mz_Xpm3Hn5ehwJb8BVcgGJdfoXU2p-2vvENJeM="

// load parses args as command-line flags and resolves the configuration.
func load(t *testing.T, args, environ []string) (*config.Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	config.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return config.Load(fs, environ, "/home/someone")
}

var required = []string{"AUTHNZERVER_AUTHDB=sqlite:///x.sqlite", "AUTHNZERVER_SECRET=" + key, "AUTHNZERVER_PIISALT=salt"}

func TestResolution(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte("\n"+key+"\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(dir, "env")
	if err := os.WriteFile(envFile, []byte("# comment\n; other comment\n\nauthnzerver_authdb = sqlite:///from-file.sqlite\nAUTHNZERVER_SECRET: "+key+"\nAUTHNZERVER_PIISALT=\"quoted\"\nAUTHNZERVER_PORT=9000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		environ []string
		check   func(*config.Config) string
	}{
		{"defaults", nil, required, func(c *config.Config) string {
			if c.Port != 13431 || c.Listen != "127.0.0.1" || c.AllowedHosts != "localhost;127.0.0.1" || c.SessionExpiry != 30 ||
				c.UserLockTries != 10 || c.UserLockTime != 3600 || c.Workers != 4 || c.EmailPort != 25 || c.DebugMode ||
				c.EmailSender != "Authnzerver <authnzerver@localhost>" || c.Argon2Params != "m=65536,t=3,p=4" {
				return "defaults differ from config.md"
			}
			return ""
		}},
		{"flag used without env", []string{"--port=8000", "--listen=0.0.0.0"}, required, func(c *config.Config) string {
			if c.Port != 8000 || c.Listen != "0.0.0.0" {
				return "flags not applied"
			}
			return ""
		}},
		{"environment beats the command line", []string{"--port=8000"}, append([]string{"AUTHNZERVER_PORT=8001"}, required...), func(c *config.Config) string {
			if c.Port != 8001 {
				return "env did not win"
			}
			return ""
		}},
		{"PORT beats AUTHNZERVER_PORT", nil, append([]string{"AUTHNZERVER_PORT=8001", "PORT=8002"}, required...), func(c *config.Config) string {
			if c.Port != 8002 {
				return "PORT did not win"
			}
			return ""
		}},
		{"blank value uses the default", nil, append([]string{"AUTHNZERVER_LISTEN=   "}, required...), func(c *config.Config) string {
			if c.Listen != "127.0.0.1" {
				return "blank not defaulted"
			}
			return ""
		}},
		{"debugmode only 1 is on", nil, append([]string{"AUTHNZERVER_DEBUGMODE=true"}, required...), func(c *config.Config) string {
			if c.DebugMode {
				return "'true' turned debug on"
			}
			return ""
		}},
		{"secret from a file under [[basedir]]", nil, []string{"AUTHNZERVER_BASEDIR=" + dir, "AUTHNZERVER_AUTHDB=sqlite:///[[basedir]]/db.sqlite", "AUTHNZERVER_SECRET=[[basedir]]/secret", "AUTHNZERVER_PIISALT=[[homedir]]/nofile"}, func(c *config.Config) string {
			if c.Secret != key {
				return "secret not read from file: " + c.Secret
			}
			if c.PIISalt != "/home/someone/nofile" {
				return "salt not literal: " + c.PIISalt
			}
			if c.AuthDB != "sqlite:///"+dir+"/db.sqlite" || c.BaseDir != dir {
				return "basedir not expanded: " + c.AuthDB
			}
			return ""
		}},
		{"envfile replaces the environment", []string{"--envfile=" + envFile}, []string{"AUTHNZERVER_LISTEN=10.0.0.1", "AUTHNZERVER_AUTHDB=sqlite:///env.sqlite"}, func(c *config.Config) string {
			if c.AuthDB != "sqlite:///from-file.sqlite" || c.Listen != "127.0.0.1" || c.Port != 9000 {
				return "envfile not sole source: " + c.AuthDB + " " + c.Listen
			}
			if c.PIISalt != `"quoted"` {
				return "quotes not kept: " + c.PIISalt
			}
			return ""
		}},
		{"missing envfile is ignored", []string{"--envfile=" + filepath.Join(dir, "absent")}, required, func(c *config.Config) string {
			if c.EnvFile != "" || c.AuthDB != "sqlite:///x.sqlite" {
				return "absent envfile changed something"
			}
			return ""
		}},
		{"admin credentials only from the process environment", []string{"--envfile=" + envFile}, []string{"AUTHNZERVER_ADMIN_EMAIL=a@b.c", "AUTHNZERVER_ADMIN_PASSWORD=pw"}, func(c *config.Config) string {
			if c.AdminEmail != "a@b.c" || c.AdminPassword != "pw" {
				return "admin values lost"
			}
			return ""
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(t, tc.args, tc.environ)
			if err != nil {
				t.Fatal(err)
			}
			if msg := tc.check(c); msg != "" {
				t.Fatal(msg)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		want    string
	}{
		{"no authdb", []string{"AUTHNZERVER_SECRET=" + key, "AUTHNZERVER_PIISALT=s"}, "authdb: required"},
		{"no secret", []string{"AUTHNZERVER_AUTHDB=sqlite:///x", "AUTHNZERVER_PIISALT=s"}, "secret: required"},
		{"no salt", []string{"AUTHNZERVER_AUTHDB=sqlite:///x", "AUTHNZERVER_SECRET=" + key}, "piisalt: required"},
		{"port not an int", append([]string{"PORT=http"}, required...), "port: \"http\" is not an integer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, nil, tc.environ)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		environ []string
		want    string // "" = valid
	}{
		{"valid", required, ""},
		{"secret not Fernet", []string{"AUTHNZERVER_AUTHDB=sqlite:///x", "AUTHNZERVER_PIISALT=s", "AUTHNZERVER_SECRET=direct text"}, "secret: not a Fernet key"},
		{"secret too short", []string{"AUTHNZERVER_AUTHDB=sqlite:///x", "AUTHNZERVER_PIISALT=s", "AUTHNZERVER_SECRET=" + key[:40] + "===="}, "secret:"},
		{"mysql accepted", []string{"AUTHNZERVER_AUTHDB=mysql+pymysql://u@h/db", "AUTHNZERVER_PIISALT=s", "AUTHNZERVER_SECRET=" + key}, ""},
		{"mysql without database", []string{"AUTHNZERVER_AUTHDB=mysql+pymysql://u:pw@h/", "AUTHNZERVER_PIISALT=s", "AUTHNZERVER_SECRET=" + key}, "authdb: MySQL URL has no database name"},
		{"unknown database refused", []string{"AUTHNZERVER_AUTHDB=oracle://u@h/db", "AUTHNZERVER_PIISALT=s", "AUTHNZERVER_SECRET=" + key}, "authdb: unsupported database"},
		{"half TLS", append([]string{"AUTHNZERVER_TLSCERTFILE=/etc/hostname"}, required...), "give both"},
		{"missing permissions file", append([]string{"AUTHNZERVER_PERMISSIONS=" + dir + "/none.json"}, required...), "permissions:"},
		{"policies not a dir", append([]string{"AUTHNZERVER_POLICIES=" + dir + "/nodir"}, required...), "policies:"},
		{"bad rate limits", append([]string{"AUTHNZERVER_RATELIMITS=ipaddr:lots"}, required...), "ratelimits: ipaddr"},
		{"rate limits none", append([]string{"AUTHNZERVER_RATELIMITS=None"}, required...), ""},
		{"bad email security", append([]string{"AUTHNZERVER_EMAILSECURITY=ssl3"}, required...), "emailsecurity"},
		{"zero workers", append([]string{"AUTHNZERVER_WORKERS=0"}, required...), "workers"},
		{"redis URL", append([]string{"AUTHNZERVER_REDIS=http://x"}, required...), "redis:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(t, nil, tc.environ)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err %v, want %q", err, tc.want)
			case err != nil && (strings.Contains(err.Error(), "direct text") || strings.Contains(err.Error(), "\n")):
				t.Fatalf("error echoes the secret or spans lines: %q", err)
			}
		})
	}
}

func TestParseDBURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in             string
		driver, dsn    string
		wantErrContain string
	}{
		{"sqlite:////abs/path/db.sqlite", "sqlite", "/abs/path/db.sqlite", ""},
		{"sqlite:///rel/db.sqlite", "sqlite", "rel/db.sqlite", ""},
		{"sqlite:///:memory:", "sqlite", ":memory:", ""},
		{"postgresql://postgres@127.0.0.1:5432/test", "postgres", "postgres://postgres@127.0.0.1:5432/test", ""},
		{"postgresql+psycopg2://u:p@db:5432/auth?sslmode=disable", "postgres", "postgres://u:p@db:5432/auth?sslmode=disable", ""},
		{"postgres://u@h/db", "postgres", "postgres://u@h/db", ""},
		{"postgres://u@h/", "", "", "no database name"},
		{"sqlite://x.sqlite", "", "", "sqlite:///"},
		{"oracle://u@h/db", "", "", "unsupported"},
		{"just a path", "", "", "not a database URL"},

		// MySQL and MariaDB, as SQLAlchemy spells them.
		{"mysql://root@127.0.0.1:13306/auth", "mysql", "root@tcp(127.0.0.1:13306)/auth?charset=utf8mb4&parseTime=true", ""},
		{"mysql+pymysql://u:p@db.example.org:3307/auth", "mysql", "u:p@tcp(db.example.org:3307)/auth?charset=utf8mb4&parseTime=true", ""},
		{"mysql+mysqldb://u:p@db/auth", "mysql", "u:p@tcp(db:3306)/auth?charset=utf8mb4&parseTime=true", ""},
		{"mariadb://u@localhost/auth", "mysql", "u@tcp(localhost:3306)/auth?charset=utf8mb4&parseTime=true", ""},
		{"mariadb+pymysql://u:p@[::1]:3306/auth", "mysql", "u:p@tcp([::1]:3306)/auth?charset=utf8mb4&parseTime=true", ""},
		{"MySQL+PyMySQL://u@h/auth", "mysql", "u@tcp(h:3306)/auth?charset=utf8mb4&parseTime=true", ""},
		{"mysql://u:p@/auth?unix_socket=/run/mysqld/mysqld.sock", "mysql", "u:p@unix(/run/mysqld/mysqld.sock)/auth?charset=utf8mb4&parseTime=true", ""},
		{"mysql://u@ignored:1/auth?unix_socket=/tmp/m.sock&charset=utf8", "mysql", "u@unix(/tmp/m.sock)/auth?charset=utf8&parseTime=true", ""},
		{"mysql://u@h/auth?charset=latin1", "mysql", "u@tcp(h:3306)/auth?charset=latin1&parseTime=true", ""},
		// Percent-escapes are decoded; the DSN takes the password as it is.
		{"mysql://u%40x:p%40ss%2Fw%3Ad@h/auth", "mysql", "u@x:p@ss/w:d@tcp(h:3306)/auth?charset=utf8mb4&parseTime=true", ""},
		{"mysql://h/auth", "mysql", "tcp(h:3306)/auth?charset=utf8mb4&parseTime=true", ""},
		{"mysql://x", "", "", "no database name"},
		{"mysql://u@h/", "", "", "no database name"},
		{"mysql://u@/auth", "", "", "no host"},
		{"mysql://u@h:0/auth", "", "", "not a TCP port"},
		{"mysql://u@h:70000/auth", "", "", "not a TCP port"},
		{"mysql://u@h/auth?sslmode=disable", "", "", `unsupported MySQL URL parameter "sslmode"`},
		{"mysql://u@h/auth?unix_socket=relative.sock", "", "", "absolute path"},
		{"mysql://u@h/auth?charset=utf8mb4-x", "", "", "not a character set name"},
		{"mysql://u@h/auth?charset=utf8mb4;drop", "", "", "malformed MySQL URL query"},
		{"mysql://:p@h/auth", "", "", "no user name"},
		{"mysql://u:p@h:port/auth", "", "", "malformed MySQL URL"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			u, err := config.ParseDBURL(tc.in)
			if tc.wantErrContain != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrContain) {
					t.Fatalf("err %v, want %q", err, tc.wantErrContain)
				}
				return
			}
			if err != nil || u.Driver != tc.driver || u.DSN != tc.dsn {
				t.Fatalf("got %+v, %v; want %s %s", u, err, tc.driver, tc.dsn)
			}
			if tc.driver == "mysql" {
				cfg, err := mysql.ParseDSN(u.DSN)
				if err != nil || !cfg.ParseTime || cfg.Loc != time.UTC {
					t.Fatalf("driver reads %q as %+v, %v", u.DSN, cfg, err)
				}
			}
		})
	}
}

// TestParseDBURLErrorsHidePassword: whatever is wrong with a URL, the error
// is one line naming authdb and does not contain the password.
func TestParseDBURLErrorsHidePassword(t *testing.T) {
	t.Parallel()
	const pw = "Sup3rS3cretPw"
	for _, in := range []string{
		"mysql://u:" + pw + "@h/",
		"mysql://u:" + pw + "@/auth",
		"mysql://u:" + pw + "@h:99999/auth",
		"mysql://u:" + pw + "@h:port/auth",
		"mysql://u:" + pw + "@h/auth?password=" + pw,
		"mysql://u:" + pw + "@h/auth?charset=" + pw + "-",
		"mysql://u:" + pw + "@h/auth?unix_socket=" + pw,
		"mysql://:" + pw + "@h/auth",
		"mariadb://u:" + pw + "@h/a%zz",
		"postgresql://u:" + pw + "@h/",
		"postgresql://u:" + pw + "@h:port/db",
		"nosuchdb://u:" + pw + "@h/db",
	} {
		_, err := config.ParseDBURL(in)
		if err == nil {
			t.Fatalf("%s: accepted", in)
		}
		msg := err.Error()
		if strings.Contains(msg, pw) || strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "authdb: ") {
			t.Fatalf("%s: error %q", in, msg)
		}
	}
}

func TestEnvFile(t *testing.T) {
	t.Run("write then load", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, ".env")
		if err := config.WriteEnvFile(path, map[string]string{"authdb": "sqlite:///" + dir + "/db.sqlite", "secret": key, "piisalt": "pepper", "port": "14000", "emailpass": ""}); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v %v, want 0600", st.Mode(), err)
		}
		data, _ := os.ReadFile(path)
		for _, line := range []string{"PORT=14000\n", "AUTHNZERVER_PORT=14000\n", "AUTHNZERVER_EMAILPASS=\n", "AUTHNZERVER_TLSCERTFILE=\n"} {
			if !strings.Contains(string(data), line) {
				t.Errorf("env file lacks %q", line)
			}
		}
		c, err := load(t, []string{"--envfile=" + path}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.Port != 14000 || c.Secret != key || c.PIISalt != "pepper" || c.Validate() != nil {
			t.Fatalf("round trip: %+v", c)
		}
	})
	bad := map[string]string{
		"duplicate key":  "A=1\na=2\n",
		"no separator":   "JUSTAKEY\n",
		"orphan indent":  "  continued\n",
		"empty key name": "=value\n",
	}
	for name, src := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := config.ParseEnvFile(src); err == nil {
				t.Fatalf("%q accepted", src)
			}
		})
	}
	t.Run("continuation lines", func(t *testing.T) {
		m, err := config.ParseEnvFile("A=one\n  two\nB : x:y\n")
		if err != nil || m["A"] != "one\ntwo" || m["B"] != "x:y" {
			t.Fatalf("%q %v", m, err)
		}
	})
}

func FuzzParseEnvFile(f *testing.F) {
	f.Add("A=1\n# c\nB: 2\n  more\n")
	f.Add("=\n")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := config.ParseEnvFile(s)
		if err != nil {
			return
		}
		for k := range m {
			if k == "" || k != strings.ToUpper(k) {
				t.Fatalf("bad key %q", k)
			}
		}
	})
}

func FuzzParseDBURL(f *testing.F) {
	f.Add("sqlite:////a/b.sqlite")
	f.Add("postgresql://u@h:5432/db")
	f.Add("mysql+pymysql://u:p@h:3306/db?charset=utf8mb4")
	f.Add("mariadb://u:p%40@/db?unix_socket=/run/mysqld/mysqld.sock")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := config.ParseDBURL(s)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "authdb: ") || strings.Contains(msg, "\n") {
				t.Fatalf("error %q", msg)
			}
			if pu, perr := url.Parse(strings.TrimSpace(s)); perr == nil && pu.User != nil {
				if pw, ok := pu.User.Password(); ok && len(pw) >= 6 && strings.Contains(msg, pw) {
					t.Fatalf("error %q shows the password", msg)
				}
			}
			return
		}
		switch u.Driver {
		case "sqlite", "postgres":
		case "mysql":
			// Whatever was accepted, the driver reads it back.
			if _, err := mysql.ParseDSN(u.DSN); err != nil {
				t.Fatalf("%q gave DSN %q the driver rejects: %v", s, u.DSN, err)
			}
		default:
			t.Fatalf("driver %q", u.Driver)
		}
	})
}
