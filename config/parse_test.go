package config_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authnzrv/authnzrv/config"
)

// booleanCases are the spellings in testdata/booleans.json.
type booleanCases struct {
	True    []string `json:"true"`
	False   []string `json:"false"`
	Refused []string `json:"refused"`
}

func readBooleans(t *testing.T) booleanCases {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "booleans.json"))
	if err != nil {
		t.Fatal(err)
	}
	var bc booleanCases
	if err := json.Unmarshal(data, &bc); err != nil {
		t.Fatal(err)
	}
	if len(bc.True) == 0 || len(bc.False) == 0 || len(bc.Refused) == 0 {
		t.Fatal("testdata/booleans.json lacks cases")
	}
	return bc
}

// boolItems are the boolean items with their variables and flags.
var boolItems = []struct{ name, env, flag string }{
	{"debugmode", "AUTHNZERVER_DEBUGMODE", "--debugmode"},
	{"metrics", "AUTHNZERVER_METRICS", "--metrics"},
	{"pwnedcheck", "AUTHNZERVER_PWNEDCHECK", "--pwnedcheck"},
	{"emailtlsverify", "AUTHNZERVER_EMAILTLSVERIFY", "--emailtlsverify"},
	{"adopt", "AUTHNZERVER_ADOPT", "--adopt"},
	{"bergson", "AUTHNZERVER_BERGSON", "--bergson"},
}

// boolField reads a boolean item's field.
func boolField(c *config.Config, name string) bool {
	return map[string]bool{"debugmode": c.DebugMode, "metrics": c.Metrics, "pwnedcheck": c.PwnedCheck,
		"emailtlsverify": c.EmailTLSVerify, "adopt": c.Adopt, "bergson": c.Bergson}[name]
}

// TestLoadBooleanSpellings: every accepted spelling, through every boolean
// item, from the environment and from the flag; every refused one fails with
// the item and the source named.
func TestLoadBooleanSpellings(t *testing.T) {
	t.Parallel()
	bc := readBooleans(t)
	type tc struct {
		spelling string
		want     bool
		refused  bool
	}
	var cases []tc
	for _, s := range bc.True {
		cases = append(cases, tc{s, true, false})
	}
	for _, s := range bc.False {
		cases = append(cases, tc{s, false, false})
	}
	for _, s := range bc.Refused {
		cases = append(cases, tc{s, false, true})
	}
	for _, it := range boolItems {
		for _, c := range cases {
			for _, viaFlag := range []bool{false, true} {
				via := "env"
				if viaFlag {
					via = "flag"
				}
				t.Run(fmt.Sprintf("%s %s %q", it.name, via, c.spelling), func(t *testing.T) {
					t.Parallel()
					var args, environ []string
					if viaFlag {
						args = []string{it.flag + "=" + c.spelling}
					} else {
						environ = []string{it.env + "=" + c.spelling}
					}
					cfg, err := load(t, args, append(environ, required...))
					if c.refused {
						src := "env " + it.env
						if viaFlag {
							src = "flag " + it.flag
						}
						want := fmt.Sprintf("%s: %s: %q is not a boolean", it.name, src, strings.TrimSpace(c.spelling))
						if err == nil || !strings.HasPrefix(err.Error(), want) {
							t.Fatalf("err %v, want %q", err, want)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if got := boolField(cfg, it.name); got != c.want {
						t.Fatalf("%s=%q gave %v", it.name, c.spelling, got)
					}
				})
			}
		}
	}
}

// TestConfigParseBool: the parser alone.
func TestConfigParseBool(t *testing.T) {
	t.Parallel()
	bc := readBooleans(t)
	for want, list := range map[bool][]string{true: bc.True, false: bc.False} {
		for _, s := range list {
			if got, err := config.ParseBool(s); err != nil || got != want {
				t.Errorf("ParseBool(%q) = %v, %v; want %v", s, got, err, want)
			}
		}
	}
	for _, s := range append(bc.Refused, "") {
		if _, err := config.ParseBool(s); err == nil {
			t.Errorf("ParseBool(%q) accepted", s)
		}
	}
}

// TestLoadBooleanRegressions: the two inversions the reference's "only 1 is
// true" rule caused in authnzrv before strict booleans.
func TestLoadBooleanRegressions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		environ []string
		check   func(*config.Config) bool
	}{
		{"--metrics true turns metrics on", []string{"--metrics", "true"}, nil, func(c *config.Config) bool { return c.Metrics }},
		{"AUTHNZERVER_EMAILTLSVERIFY=true keeps verification on", nil, []string{"AUTHNZERVER_EMAILTLSVERIFY=true"}, func(c *config.Config) bool { return c.EmailTLSVerify }},
		{"AUTHNZERVER_EMAILTLSVERIFY=false turns verification off", nil, []string{"AUTHNZERVER_EMAILTLSVERIFY=false"}, func(c *config.Config) bool { return !c.EmailTLSVerify }},
		{"--metrics false turns metrics off", []string{"--metrics=false"}, nil, func(c *config.Config) bool { return !c.Metrics }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := loadValid(t, tc.args, append(tc.environ, required...))
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Fatalf("wrong value: metrics %v emailtlsverify %v", c.Metrics, c.EmailTLSVerify)
			}
		})
	}
}

// TestLoadRanges: each integer item's bounds, just inside and just outside.
func TestLoadRanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env   string
		value string
		want  string // "" = accepted
	}{
		{"PORT", "0", ""}, // documented: any free port
		{"PORT", "1", ""},
		{"PORT", "65535", ""},
		{"PORT", "65536", "port: env PORT: 65536 is above the maximum 65535"},
		{"PORT", "-1", "port: env PORT: -1 is below the minimum 0"},
		{"AUTHNZERVER_WORKERS", "0", "workers: env AUTHNZERVER_WORKERS: 0 is below the minimum 1"},
		{"AUTHNZERVER_WORKERS", "1", ""},
		{"AUTHNZERVER_USERLOCKTRIES", "0", "userlocktries: env AUTHNZERVER_USERLOCKTRIES: 0 is below the minimum 1"},
		{"AUTHNZERVER_USERLOCKTRIES", "1", ""},
		{"AUTHNZERVER_USERLOCKTIME", "0", "userlocktime: env AUTHNZERVER_USERLOCKTIME: 0 is below the minimum 1"},
		{"AUTHNZERVER_USERLOCKTIME", "1", ""},
		{"AUTHNZERVER_USERLOCKTIME", "2147483648", "userlocktime: env AUTHNZERVER_USERLOCKTIME: 2147483648 is above the maximum 2147483647"},
		{"AUTHNZERVER_SESSIONEXPIRY", "-1", "sessionexpiry: env AUTHNZERVER_SESSIONEXPIRY: -1 is below the minimum 0"},
		{"AUTHNZERVER_SESSIONEXPIRY", "0", ""},
		{"AUTHNZERVER_MAXBODYSIZE", "1023", "maxbodysize: env AUTHNZERVER_MAXBODYSIZE: 1023 is below the minimum 1024"},
		{"AUTHNZERVER_MAXBODYSIZE", "1024", ""},
		{"AUTHNZERVER_REQUESTTTL", "-1", "requestttl: env AUTHNZERVER_REQUESTTTL: -1 is below the minimum 0"},
		{"AUTHNZERVER_REQUESTTTL", "0", ""},
		{"AUTHNZERVER_HASHBUDGET", "0", "hashbudget: env AUTHNZERVER_HASHBUDGET: 0 is below the minimum 1"},
		{"AUTHNZERVER_HASHBUDGET", "1", ""},
		{"AUTHNZERVER_EMAILPORT", "0", "emailport: env AUTHNZERVER_EMAILPORT: 0 is below the minimum 1"},
		{"AUTHNZERVER_EMAILPORT", "587", ""},
		{"AUTHNZERVER_EMAILPORT", "65536", "emailport: env AUTHNZERVER_EMAILPORT: 65536 is above the maximum 65535"},
		{"AUTHNZERVER_CACHETTL", "-1", "cachettl: env AUTHNZERVER_CACHETTL: -1 is below the minimum 0"},
		{"AUTHNZERVER_CACHETTL", "0", ""},
		{"AUTHNZERVER_MAXCONNS", "0", "maxconns: env AUTHNZERVER_MAXCONNS: 0 is below the minimum 1"},
		{"AUTHNZERVER_MAXCONNS", "1", ""},
		{"AUTHNZERVER_IDLETIMEOUT", "0", "idletimeout: env AUTHNZERVER_IDLETIMEOUT: 0 is below the minimum 1"},
		{"AUTHNZERVER_IDLETIMEOUT", "1", ""},
		{"AUTHNZERVER_HAWKNONCEEXPIRY", "0", "hawknonceexpiry: env AUTHNZERVER_HAWKNONCEEXPIRY: 0 is below the minimum 1"},
		{"AUTHNZERVER_HAWKNONCEEXPIRY", "1", ""},
		{"AUTHNZERVER_PORT", "99999999999999999999", `port: env AUTHNZERVER_PORT: "99999999999999999999" is not an integer`},
	}
	for _, tc := range tests {
		t.Run(tc.env+"="+tc.value, func(t *testing.T) {
			t.Parallel()
			_, err := loadValid(t, nil, append([]string{tc.env + "=" + tc.value}, required...))
			checkErr(t, err, tc.want)
		})
	}
}

// checkErr fails unless err is nil (want "") or is exactly want.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("refused: %v", err)
	case want != "" && err == nil:
		t.Fatalf("accepted, want %q", want)
	case want != "" && err.Error() != want:
		t.Fatalf("err %q\nwant %q", err, want)
	}
}

// TestLoadEnumerations: choices in any case, stored lower-cased; others refused.
func TestLoadEnumerations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		env  string
		want string // "" = accepted
		got  func(*config.Config) string
		norm string
	}{
		{nil, "AUTHNZERVER_REDISFAILURE=Closed", "", func(c *config.Config) string { return c.RedisFailure }, "closed"},
		{nil, "AUTHNZERVER_REDISFAILURE=half", `redisfailure: env AUTHNZERVER_REDISFAILURE: "half" is not one of open, closed`, nil, ""},
		{[]string{"--emailsecurity=TLS"}, "", "", func(c *config.Config) string { return c.EmailSecurity }, "tls"},
		{nil, "AUTHNZERVER_EMAILSECURITY=none", "", func(c *config.Config) string { return c.EmailSecurity }, "none"},
		{nil, "AUTHNZERVER_EMAILSECURITY=ssl", `emailsecurity: env AUTHNZERVER_EMAILSECURITY: "ssl" is not one of starttls, tls, none`, nil, ""},
		{[]string{"--logformat", "JSON"}, "", "", func(c *config.Config) string { return c.LogFormat }, "json"},
		{nil, "AUTHNZERVER_LOGFORMAT=text", "", func(c *config.Config) string { return c.LogFormat }, "text"},
		{[]string{"--logformat=xml"}, "", `logformat: flag --logformat: "xml" is not one of text, json`, nil, ""},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " ")+tc.env, func(t *testing.T) {
			t.Parallel()
			environ := required
			if tc.env != "" {
				environ = append([]string{tc.env}, required...)
			}
			c, err := loadValid(t, tc.args, environ)
			checkErr(t, err, tc.want)
			if tc.got != nil && tc.got(c) != tc.norm {
				t.Fatalf("stored %q, want %q", tc.got(c), tc.norm)
			}
		})
	}
}

// TestLoadURLs: redis, otlpendpoint and authdb accept only their schemes, with
// a host; the errors mask passwords.
func TestLoadURLs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env  string
		want string // "" = accepted
	}{
		{"AUTHNZERVER_REDIS=redis://127.0.0.1:6379/0", ""},
		{"AUTHNZERVER_REDIS=rediss://:pw@cache.example:6380/1", ""},
		{"AUTHNZERVER_REDIS=http://127.0.0.1:6379", `redis: env AUTHNZERVER_REDIS: "http://127.0.0.1:6379" is not a redis:// or rediss:// URL with a host`},
		{"AUTHNZERVER_REDIS=127.0.0.1:6379", `redis: env AUTHNZERVER_REDIS: "127.0.0.1:6379" is not a redis:// or rediss:// URL with a host`},
		{"AUTHNZERVER_REDIS=redis:///0", `redis: env AUTHNZERVER_REDIS: "redis:///0" is not a redis:// or rediss:// URL with a host`},
		{"AUTHNZERVER_REDIS=unix://:hunter2@/run/redis.sock", `redis: env AUTHNZERVER_REDIS: "unix://:xxxxx@/run/redis.sock" is not a redis:// or rediss:// URL with a host`},
		{"AUTHNZERVER_OTLPENDPOINT=http://127.0.0.1:4318/v1/traces", ""},
		{"AUTHNZERVER_OTLPENDPOINT=https://otel.example/v1/traces", ""},
		{"AUTHNZERVER_OTLPENDPOINT=grpc://127.0.0.1:4317", `otlpendpoint: env AUTHNZERVER_OTLPENDPOINT: "grpc://127.0.0.1:4317" is not a http:// or https:// URL with a host`},
		{"AUTHNZERVER_OTLPENDPOINT=localhost:4318", `otlpendpoint: env AUTHNZERVER_OTLPENDPOINT: "localhost:4318" is not a http:// or https:// URL with a host`},
		{"AUTHNZERVER_AUTHDB=postgresql://u:pw@127.0.0.1:5432/test", ""},
		{"AUTHNZERVER_AUTHDB=postgresql://u:pw@127.0.0.1:5432/", "authdb: env AUTHNZERVER_AUTHDB: PostgreSQL URL has no database name"},
		{"AUTHNZERVER_AUTHDB=oracle://u:pw@h/db", `authdb: env AUTHNZERVER_AUTHDB: unsupported database "oracle" (want sqlite, postgresql, mysql or mariadb)`},
	}
	for _, tc := range tests {
		t.Run(tc.env, func(t *testing.T) {
			t.Parallel()
			_, err := loadValid(t, nil, append(append([]string{}, required...), tc.env))
			checkErr(t, err, tc.want)
		})
	}
}

// TestLoadPaths: files named by items must exist when set (checked by Validate,
// naming the source); [[basedir]] and [[homedir]] are replaced.
func TestLoadPaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := writeFile(t, dir, "exists.json", "{}")
	missing := filepath.Join(dir, "missing.json")
	tests := []struct {
		name    string
		args    []string
		environ []string
		want    string // "" = accepted
	}{
		{"permissions exists", nil, []string{"AUTHNZERVER_PERMISSIONS=" + file}, ""},
		{"permissions missing", nil, []string{"AUTHNZERVER_PERMISSIONS=" + missing}, "permissions: env AUTHNZERVER_PERMISSIONS: " + missing + " is not a readable file"},
		{"permissions is a directory", []string{"--permissions", dir}, nil, "permissions: flag --permissions: " + dir + " is not a readable file"},
		{"tls files exist", nil, []string{"AUTHNZERVER_TLSCERTFILE=" + file, "AUTHNZERVER_TLSCERTKEY=" + file}, ""},
		{"tls key missing", nil, []string{"AUTHNZERVER_TLSCERTFILE=" + file, "AUTHNZERVER_TLSCERTKEY=" + missing}, "tls_cert_key: env AUTHNZERVER_TLSCERTKEY: " + missing + " is not a readable file"},
		{"hawksenders exists under [[basedir]]", nil, []string{"AUTHNZERVER_BASEDIR=" + dir, "AUTHNZERVER_HAWKSENDERS=[[basedir]]/exists.json"}, ""},
		{"hawksenders missing", []string{"--hawksenders=" + missing}, nil, "hawksenders: flag --hawksenders: " + missing + " is not a readable file"},
		{"oauthproviders exists", nil, []string{"AUTHNZERVER_OAUTHPROVIDERS=" + file}, ""},
		{"oauthproviders missing", nil, []string{"AUTHNZERVER_OAUTHPROVIDERS=" + missing}, "oauthproviders: env AUTHNZERVER_OAUTHPROVIDERS: " + missing + " is not a readable file"},
		{"policies directory exists", nil, []string{"AUTHNZERVER_POLICIES=" + dir}, ""},
		{"policies is a file", nil, []string{"AUTHNZERVER_POLICIES=" + file}, "policies: env AUTHNZERVER_POLICIES: " + file + " is not a directory"},
		{"decisionlog stderr", nil, []string{"AUTHNZERVER_DECISIONLOG=stderr"}, ""},
		{"decisionlog new file", nil, []string{"AUTHNZERVER_DECISIONLOG=" + filepath.Join(dir, "decisions.log")}, ""},
		{"decisionlog in a missing directory", nil, []string{"AUTHNZERVER_DECISIONLOG=" + filepath.Join(dir, "no", "decisions.log")},
			"decisionlog: env AUTHNZERVER_DECISIONLOG: " + filepath.Join(dir, "no", "decisions.log") + ": directory " + filepath.Join(dir, "no") + " does not exist"},
		{"decisionlog is a directory", nil, []string{"AUTHNZERVER_DECISIONLOG=" + dir}, "decisionlog: env AUTHNZERVER_DECISIONLOG: " + dir + " is not a regular file"},
		{"emailtemplates need not exist", nil, []string{"AUTHNZERVER_EMAILTEMPLATES=" + missing}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadValid(t, tc.args, append(tc.environ, required...))
			checkErr(t, err, tc.want)
		})
	}
}
