package config_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
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

// writeFile writes content to dir/name (mode 0600) and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// loadValid loads and then validates, as the server's start does.
func loadValid(t *testing.T, args, environ []string) (*config.Config, error) {
	t.Helper()
	c, err := load(t, args, environ)
	if err != nil {
		return nil, err
	}
	return c, c.Validate()
}

// disagreements renders the disagreement lines of a loaded configuration.
func disagreements(c *config.Config) []string {
	var out []string
	for _, d := range c.Provenance.Disagreements {
		out = append(out, d.String())
	}
	return out
}

func TestLoadResolution(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "secret", "\n"+key+"\n\n")
	envFile := writeFile(t, dir, "env", "# comment\n; other comment\n\nauthnzerver_authdb = sqlite:///from-file.sqlite\nAUTHNZERVER_SECRET: "+key+"\nAUTHNZERVER_PIISALT=\"quoted\"\nAUTHNZERVER_PORT=9000\n")
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
		{"defaults of the new items", nil, required, func(c *config.Config) string {
			if c.RequestTTL != 120 || c.DecisionLog != "" || c.CacheTTL != 5 || !c.Adopt || c.MaxConns != 10000 ||
				c.IdleTimeout != 120 || c.LogFormat != "text" || c.Bergson || c.HawkSenders != "" || c.HawkNonceExpiry != 60 ||
				c.OAuthProviders != "" || c.TOTPIssuer != "authnzrv" || !c.Metrics || !c.EmailTLSVerify || c.PwnedCheck {
				return fmt.Sprintf("defaults differ from the brief: %+v", c)
			}
			return ""
		}},
		{"new items from the environment", nil, append([]string{"AUTHNZERVER_REQUESTTTL=0", "AUTHNZERVER_DECISIONLOG=stderr",
			"AUTHNZERVER_CACHETTL=0", "AUTHNZERVER_ADOPT=no", "AUTHNZERVER_MAXCONNS=50", "AUTHNZERVER_IDLETIMEOUT=30",
			"AUTHNZERVER_LOGFORMAT=JSON", "AUTHNZERVER_BERGSON=on", "AUTHNZERVER_HAWKSENDERS=[[basedir]]/hawk.json",
			"AUTHNZERVER_HAWKNONCEEXPIRY=90", "AUTHNZERVER_OAUTHPROVIDERS=[[homedir]]/oauth.json", "AUTHNZERVER_TOTPISSUER=Example Corp",
			"AUTHNZERVER_BASEDIR=" + dir}, required...), func(c *config.Config) string {
			if c.RequestTTL != 0 || c.DecisionLog != "stderr" || c.CacheTTL != 0 || c.Adopt || c.MaxConns != 50 ||
				c.IdleTimeout != 30 || c.LogFormat != "json" || !c.Bergson || c.HawkSenders != dir+"/hawk.json" ||
				c.HawkNonceExpiry != 90 || c.OAuthProviders != "/home/someone/oauth.json" || c.TOTPIssuer != "Example Corp" {
				return fmt.Sprintf("new items not read: %+v", c)
			}
			return ""
		}},
		{"flag used without env", []string{"--port=8000", "--listen=0.0.0.0"}, required, func(c *config.Config) string {
			if c.Port != 8000 || c.Listen != "0.0.0.0" {
				return "flags not applied"
			}
			return ""
		}},
		// The reference let the environment beat the command line; authnzrv
		// deliberately gives an explicit flag the last word (design.md §4).
		// This case pinned the old order and now pins the new one.
		{"command line beats the environment", []string{"--port=8000"}, append([]string{"AUTHNZERVER_PORT=8001"}, required...), func(c *config.Config) string {
			if c.Port != 8000 {
				return "flag did not win"
			}
			return ""
		}},
		{"blank value uses the default", nil, append([]string{"AUTHNZERVER_LISTEN=   "}, required...), func(c *config.Config) string {
			if c.Listen != "127.0.0.1" {
				return "blank not defaulted"
			}
			return ""
		}},
		// The reference took only "1" as true; "true" now means true (this
		// case pinned the old rule).
		{"debugmode true is on", nil, append([]string{"AUTHNZERVER_DEBUGMODE=true"}, required...), func(c *config.Config) string {
			if !c.DebugMode {
				return "'true' left debug off"
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
			if v, _ := c.Provenance.Lookup("secret"); v.File != dir+"/secret" || !strings.Contains(v.Origin(), "read from "+dir+"/secret") {
				return "provenance lacks the secret's file: " + v.Origin()
			}
			return ""
		}},
		// The reference let an env file hide the environment; now both are
		// read and the environment wins (this case pinned the old rule).
		{"envfile and environment are both read", []string{"--envfile=" + envFile}, []string{"AUTHNZERVER_LISTEN=10.0.0.1", "AUTHNZERVER_AUTHDB=sqlite:///env.sqlite"}, func(c *config.Config) string {
			if c.AuthDB != "sqlite:///env.sqlite" || c.Listen != "10.0.0.1" || c.Port != 9000 || c.Secret != key || c.EnvFile != envFile {
				return "environment and envfile not merged: " + c.AuthDB + " " + c.Listen
			}
			if c.PIISalt != `"quoted"` {
				return "quotes not kept: " + c.PIISalt
			}
			return ""
		}},
		{"admin credentials only from the process environment", []string{"--envfile=" + writeFile(t, dir, "admin.env", "AUTHNZERVER_ADMIN_EMAIL=file@b.c\nAUTHNZERVER_ADMIN_PASSWORD=filepw\n")}, append([]string{"AUTHNZERVER_ADMIN_EMAIL=a@b.c", "AUTHNZERVER_ADMIN_PASSWORD=pw"}, required...), func(c *config.Config) string {
			if c.AdminEmail != "a@b.c" || c.AdminPassword != "pw" {
				return "admin values lost"
			}
			return ""
		}},
		{"admin credentials never from an env file", []string{"--envfile=" + filepath.Join(dir, "admin.env")}, required, func(c *config.Config) string {
			if c.AdminEmail != "" || c.AdminPassword != "" {
				return "admin values read from the env file"
			}
			return ""
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
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

// TestLoadPrecedence: every combination of flag, environment and env file for
// one item; the winner, its recorded source and the disagreement line.
func TestLoadPrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := writeFile(t, dir, "b.env", "AUTHNZERVER_PORT=13432\n")
	both := writeFile(t, dir, "both.env", "PORT=13433\nAUTHNZERVER_PORT=13434\n")
	same := writeFile(t, dir, "same.env", "PORT=13433\nAUTHNZERVER_PORT=13433\n")
	env := func(kv ...string) []string { return append(kv, required...) }
	tests := []struct {
		name    string
		args    []string
		environ []string
		port    int
		source  string
		lines   []string
	}{
		{"default only", nil, env(), 13431, "default", nil},
		{"envfile only", []string{"--envfile", f}, env(), 13432, "envfile " + f, nil},
		{"env only", nil, env("AUTHNZERVER_PORT=13440"), 13440, "env AUTHNZERVER_PORT", nil},
		{"env beats envfile", []string{"--envfile", f}, env("AUTHNZERVER_PORT=13440"), 13440, "env AUTHNZERVER_PORT",
			[]string{"port: env AUTHNZERVER_PORT=13440 wins over envfile " + f + " (13432)"}},
		{"flag only", []string{"--port=13450"}, env(), 13450, "flag --port", nil},
		{"flag beats envfile", []string{"--port=13450", "--envfile", f}, env(), 13450, "flag --port",
			[]string{"port: flag --port=13450 wins over envfile " + f + " (13432)"}},
		{"flag beats env", []string{"--port", "13450"}, env("AUTHNZERVER_PORT=13440"), 13450, "flag --port",
			[]string{"port: flag --port=13450 wins over env AUTHNZERVER_PORT (13440)"}},
		{"flag beats env beats envfile", []string{"--port=13450", "--envfile=" + f}, env("AUTHNZERVER_PORT=13440"), 13450, "flag --port",
			[]string{"port: flag --port=13450 wins over env AUTHNZERVER_PORT (13440), envfile " + f + " (13432)"}},
		{"PORT beats AUTHNZERVER_PORT", nil, env("AUTHNZERVER_PORT=8001", "PORT=8002"), 8002, "env PORT",
			[]string{"port: env PORT=8002 wins over env AUTHNZERVER_PORT (8001)"}},
		{"PORT beats AUTHNZERVER_PORT in the envfile", []string{"--envfile", both}, env(), 13433, "envfile " + both,
			[]string{"port: envfile " + both + " PORT=13433 wins over envfile " + both + " AUTHNZERVER_PORT (13434)"}},
		{"envfile naming the port twice alike agrees", []string{"--envfile", same}, env(), 13433, "envfile " + same, nil},
		{"flag beats both envfile variables", []string{"--port=1", "--envfile", both}, env(), 1, "flag --port",
			[]string{"port: flag --port=1 wins over envfile " + both + " PORT (13433), envfile " + both + " AUTHNZERVER_PORT (13434)"}},
		{"agreeing sources do not disagree", []string{"--port=13440"}, env("AUTHNZERVER_PORT=13440"), 13440, "flag --port", nil},
		{"same number spelled differently agrees", []string{"--port=13440"}, env("AUTHNZERVER_PORT= 013440 "), 13440, "flag --port", nil},
		{"blank env falls back to the default over the envfile", []string{"--envfile", f}, env("AUTHNZERVER_PORT="), 13431, "env AUTHNZERVER_PORT",
			[]string{`port: env AUTHNZERVER_PORT="" (blank: the default) wins over envfile ` + f + " (13432)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := loadValid(t, tc.args, tc.environ)
			if err != nil {
				t.Fatal(err)
			}
			v, ok := c.Provenance.Lookup("port")
			if c.Port != tc.port || !ok || v.Source.String() != tc.source || v.Value != fmt.Sprint(tc.port) {
				t.Fatalf("port %d from %q (%+v), want %d from %q", c.Port, v.Source, v, tc.port, tc.source)
			}
			if got := disagreements(c); !slices.Equal(got, tc.lines) {
				t.Fatalf("disagreements\n got %q\nwant %q", got, tc.lines)
			}
		})
	}
}

// TestLoadPrecedenceEveryKind: the order holds for strings, booleans and
// choices too, and a flag given explicitly with the default's value still
// wins.
func TestLoadPrecedenceEveryKind(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := writeFile(t, dir, "b.env", "AUTHNZERVER_LISTEN=10.0.0.3\nAUTHNZERVER_METRICS=off\nAUTHNZERVER_REDISFAILURE=closed\n")
	tests := []struct {
		name    string
		args    []string
		environ []string
		want    string // listen metrics redisfailure
	}{
		{"envfile", []string{"--envfile", f}, nil, "10.0.0.3 false closed"},
		{"env over envfile", []string{"--envfile", f}, []string{"AUTHNZERVER_LISTEN=10.0.0.2", "AUTHNZERVER_METRICS=yes", "AUTHNZERVER_REDISFAILURE=Open"}, "10.0.0.2 true open"},
		{"flags over env", []string{"--envfile", f, "--listen=10.0.0.1", "--metrics=0", "--redisfailure=CLOSED"}, []string{"AUTHNZERVER_LISTEN=10.0.0.2", "AUTHNZERVER_METRICS=yes", "AUTHNZERVER_REDISFAILURE=open"}, "10.0.0.1 false closed"},
		{"flag equal to the default still wins", []string{"--envfile", f, "--listen=127.0.0.1", "--metrics=1", "--redisfailure=open"}, nil, "127.0.0.1 true open"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := loadValid(t, tc.args, append(tc.environ, required...))
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprintf("%s %v %s", c.Listen, c.Metrics, c.RedisFailure); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	badFile := writeFile(t, dir, "bad.env", "AUTHNZERVER_WORKERS=many\n")
	tests := []struct {
		name    string
		args    []string
		environ []string
		want    string
	}{
		{"no authdb", nil, []string{"AUTHNZERVER_SECRET=" + key, "AUTHNZERVER_PIISALT=s"}, "authdb: required (set AUTHNZERVER_AUTHDB or --authdb)"},
		{"no secret", nil, []string{"AUTHNZERVER_AUTHDB=sqlite:///x", "AUTHNZERVER_PIISALT=s"}, "secret: required"},
		{"no salt", nil, []string{"AUTHNZERVER_AUTHDB=sqlite:///x", "AUTHNZERVER_SECRET=" + key}, "piisalt: required"},
		{"blank secret names its source", nil, []string{"AUTHNZERVER_AUTHDB=sqlite:///x", "AUTHNZERVER_SECRET= ", "AUTHNZERVER_PIISALT=s"}, "secret: required, but env AUTHNZERVER_SECRET is blank"},
		{"port not an int", nil, append([]string{"PORT=http"}, required...), `port: env PORT: "http" is not an integer`},
		{"port not an int from the flag", []string{"--port=80x"}, required, `port: flag --port: "80x" is not an integer`},
		{"hexadecimal is not an integer", nil, append([]string{"AUTHNZERVER_MAXBODYSIZE=0x1000"}, required...), `maxbodysize: env AUTHNZERVER_MAXBODYSIZE: "0x1000" is not an integer`},
		{"fraction is not an integer", nil, append([]string{"AUTHNZERVER_USERLOCKTIME=1.5"}, required...), `userlocktime: env AUTHNZERVER_USERLOCKTIME: "1.5" is not an integer`},
		{"integer error names the envfile", []string{"--envfile=" + badFile}, required, `workers: envfile ` + badFile + ` (AUTHNZERVER_WORKERS): "many" is not an integer`},
		{"missing envfile", []string{"--envfile=" + filepath.Join(dir, "absent")}, required, "envfile: open " + filepath.Join(dir, "absent") + ": no such file or directory"},
		{"envfile is a directory", []string{"--envfile=" + dir}, required, "envfile: read " + dir},
		{"malformed envfile", []string{"--envfile=" + writeFile(t, dir, "dup.env", "A=1\na=2\n")}, required, "envfile " + dir + "/dup.env: line 2: duplicate key A"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, tc.args, tc.environ)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err %v, want one line with %q", err, tc.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name    string
		environ []string
		want    string // "" = valid
	}{
		{"valid", required, ""},
		{"secret not Fernet", []string{"AUTHNZERVER_AUTHDB=sqlite:///x", "AUTHNZERVER_PIISALT=s", "AUTHNZERVER_SECRET=direct text"}, "secret: env AUTHNZERVER_SECRET: not a Fernet key"},
		{"secret too short", []string{"AUTHNZERVER_AUTHDB=sqlite:///x", "AUTHNZERVER_PIISALT=s", "AUTHNZERVER_SECRET=" + key[:40] + "===="}, "secret:"},
		{"mysql accepted", []string{"AUTHNZERVER_AUTHDB=mysql+pymysql://u@h/db", "AUTHNZERVER_PIISALT=s", "AUTHNZERVER_SECRET=" + key}, ""},
		{"mysql without database", []string{"AUTHNZERVER_AUTHDB=mysql+pymysql://u:pw@h/", "AUTHNZERVER_PIISALT=s", "AUTHNZERVER_SECRET=" + key}, "authdb: env AUTHNZERVER_AUTHDB: MySQL URL has no database name"},
		{"unknown database refused", []string{"AUTHNZERVER_AUTHDB=oracle://u@h/db", "AUTHNZERVER_PIISALT=s", "AUTHNZERVER_SECRET=" + key}, "authdb: env AUTHNZERVER_AUTHDB: unsupported database"},
		{"half TLS", append([]string{"AUTHNZERVER_TLSCERTFILE=/etc/hostname"}, required...), "give both"},
		{"missing permissions file", append([]string{"AUTHNZERVER_PERMISSIONS=" + dir + "/none.json"}, required...), "permissions: env AUTHNZERVER_PERMISSIONS: " + dir + "/none.json is not a readable file"},
		{"policies not a dir", append([]string{"AUTHNZERVER_POLICIES=" + dir + "/nodir"}, required...), "policies:"},
		{"bad rate limits", append([]string{"AUTHNZERVER_RATELIMITS=ipaddr:lots"}, required...), "ratelimits: env AUTHNZERVER_RATELIMITS: ipaddr"},
		{"rate limits none", append([]string{"AUTHNZERVER_RATELIMITS=None"}, required...), ""},
		{"bad email security", append([]string{"AUTHNZERVER_EMAILSECURITY=ssl3"}, required...), "emailsecurity"},
		{"zero workers", append([]string{"AUTHNZERVER_WORKERS=0"}, required...), "workers: env AUTHNZERVER_WORKERS: 0 is below the minimum 1"},
		{"redis URL", append([]string{"AUTHNZERVER_REDIS=http://x"}, required...), "redis:"},
		{"totp issuer with a colon", append([]string{"AUTHNZERVER_TOTPISSUER=a:b"}, required...), "totpissuer:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
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

// TestConfigValidateHandBuilt: a Config made without Load is checked the same way,
// its errors naming only the item.
func TestConfigValidateHandBuilt(t *testing.T) {
	t.Parallel()
	c, err := load(t, nil, required)
	if err != nil {
		t.Fatal(err)
	}
	c.Provenance = nil
	c.Port = 70000
	if err := c.Validate(); err == nil || err.Error() != "port: 70000 is above the maximum 65535" {
		t.Fatalf("err %v", err)
	}
}

func TestConfigParseDBURL(t *testing.T) {
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
	t.Parallel()
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

// TestConfigRegisterFlags: one flag per item with the item's default and
// value name, plus --envfile and --confvars; --autosetup is the serving
// command's. GetString keeps working on string items (autosetup reads
// --basedir so).
func TestConfigRegisterFlags(t *testing.T) {
	t.Parallel()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	config.RegisterFlags(fs)
	for _, it := range config.Items() {
		f := fs.Lookup(it.Flag)
		if it.Name == "autosetup" {
			if f != nil {
				t.Error("RegisterFlags registered --autosetup")
			}
			continue
		}
		if f == nil {
			t.Errorf("no flag --%s", it.Flag)
			continue
		}
		if f.DefValue != it.Default || f.Value.Type() != it.ArgName() {
			t.Errorf("--%s: default %q type %q, want %q %q", it.Flag, f.DefValue, f.Value.Type(), it.Default, it.ArgName())
		}
		for _, e := range it.Env {
			if !strings.Contains(f.Usage, e) {
				t.Errorf("--%s: help does not name %s", it.Flag, e)
			}
		}
	}
	if err := fs.Parse([]string{"--basedir=/srv/a", "--port=1"}); err != nil {
		t.Fatal(err)
	}
	if s, err := fs.GetString("basedir"); err != nil || s != "/srv/a" {
		t.Fatalf("GetString(basedir) = %q, %v", s, err)
	}
	usage := fs.FlagUsages()
	for _, want := range []string{"--port int", "--metrics 1|0", "--redisfailure open|closed", "--envfile string"} {
		if !strings.Contains(usage, want) {
			t.Errorf("flag usage lacks %q", want)
		}
	}
}
