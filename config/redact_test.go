package config_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/authnzrv/authnzrv/config"
)

// secrets are values that must never appear in any rendering.
var secrets = []string{
	key, "zluVVzIxxOQjGEVfdLQsMxiC-HP5jPNcg1uTMuaLMuc=", "ADLuILIwODzGuhR__k_3HINfA3YsQ2g645VqqO7_JHQ=",
	"pepper-salt-env", "pepper-salt-file", "smtp-pass-flag", "smtp-pass-file",
	"db-pass-env", "db-pass-file", "db-query-pass", "redis-pass-flag", "redis-pass-env", "otel-pass",
	"documented-secretkey-value", "admin-pass-file",
}

// TestLoadRedaction: with secrets given through every source, so that they
// disagree, no rendering (disagreement lines, notes, values, origins)
// holds a secret.
func TestLoadRedaction(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := writeFile(t, dir, "b.env", strings.Join([]string{
		"AUTHNZERVER_SECRET=ADLuILIwODzGuhR__k_3HINfA3YsQ2g645VqqO7_JHQ=",
		"AUTHNZERVER_PIISALT=pepper-salt-file",
		"AUTHNZERVER_EMAILPASS=smtp-pass-file",
		"AUTHNZERVER_AUTHDB=postgresql://u:db-pass-file@127.0.0.1:5432/test",
		"AUTHNZERVER_ADMIN_PASSWORD=admin-pass-file",
	}, "\n")+"\n")
	args := []string{"--envfile", f, "--secret", "zluVVzIxxOQjGEVfdLQsMxiC-HP5jPNcg1uTMuaLMuc=", "--emailpass=smtp-pass-flag",
		"--redis=redis://:redis-pass-flag@127.0.0.1:6379/0"}
	environ := []string{
		"AUTHNZERVER_SECRET=" + key, "AUTHNZERVER_PIISALT=pepper-salt-env",
		"AUTHNZERVER_AUTHDB=postgresql://u:db-pass-env@127.0.0.1:5432/test?sslpassword=db-query-pass",
		"AUTHNZERVER_REDIS=rediss://user:redis-pass-env@127.0.0.1:6380/0",
		"AUTHNZERVER_OTLPENDPOINT=https://collector:otel-pass@otel.example/v1/traces",
		"AUTHNZERVER_SECRETKEY=documented-secretkey-value",
	}
	c, err := loadValid(t, args, environ)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range c.Provenance.Disagreements {
		out = append(out, d.String())
	}
	for _, n := range c.Provenance.Notes() {
		out = append(out, n.Text)
	}
	for _, v := range c.Provenance.Values {
		out = append(out, v.Display(), v.Origin())
	}
	all := strings.Join(out, "\n")
	for _, s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("a rendering holds the secret %q", s)
		}
	}
	for _, want := range []string{
		"secret: flag --secret=[redacted] wins over env AUTHNZERVER_SECRET ([redacted]), envfile " + f + " ([redacted])",
		"piisalt: env AUTHNZERVER_PIISALT=[redacted] wins over envfile " + f + " ([redacted])",
		"emailpass: flag --emailpass=[redacted] wins over envfile " + f + " ([redacted])",
		"authdb: env AUTHNZERVER_AUTHDB=postgresql://u:xxxxx@127.0.0.1:5432/test?sslpassword=xxxxx wins over envfile " + f + " (postgresql://u:xxxxx@127.0.0.1:5432/test)",
		"redis: flag --redis=redis://:xxxxx@127.0.0.1:6379/0 wins over env AUTHNZERVER_REDIS (rediss://user:xxxxx@127.0.0.1:6380/0)",
		"https://collector:xxxxx@otel.example/v1/traces",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("renderings lack %q:\n%s", want, all)
		}
	}
	// The values themselves are intact for the server.
	if c.Secret != "zluVVzIxxOQjGEVfdLQsMxiC-HP5jPNcg1uTMuaLMuc=" || c.EmailPass != "smtp-pass-flag" || !strings.Contains(c.AuthDB, "db-pass-env") {
		t.Fatal("redaction changed the configuration")
	}
}

// TestLoadErrorsNeverHoldSecrets: failures about secret items or URLs do not
// repeat them.
func TestLoadErrorsNeverHoldSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		environ []string
	}{
		{"secret not a key", nil, []string{"AUTHNZERVER_AUTHDB=sqlite:///x", "AUTHNZERVER_PIISALT=s", "AUTHNZERVER_SECRET=pepper-salt-env"}},
		{"secret not a key from the flag", []string{"--secret=smtp-pass-flag"}, []string{"AUTHNZERVER_AUTHDB=sqlite:///x", "AUTHNZERVER_PIISALT=s"}},
		{"bad database URL with a password", nil, []string{"AUTHNZERVER_AUTHDB=oracle://u:db-pass-env@h/db", "AUTHNZERVER_PIISALT=s", "AUTHNZERVER_SECRET=" + key}},
		{"PostgreSQL URL without a database", nil, []string{"AUTHNZERVER_AUTHDB=postgresql://u:db-pass-env@h/", "AUTHNZERVER_PIISALT=s", "AUTHNZERVER_SECRET=" + key}},
		{"redis URL with a password and a bad scheme", nil, append([]string{"AUTHNZERVER_REDIS=http://:redis-pass-env@h"}, required...)},
		{"otlp URL with a password and a bad scheme", nil, append([]string{"AUTHNZERVER_OTLPENDPOINT=ftp://u:otel-pass@h"}, required...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadValid(t, tc.args, tc.environ)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error holds %q: %v", s, err)
				}
			}
		})
	}
}

// TestConfigRedactURL: passwords in user information and credential query
// parameters are masked; everything else is kept.
func TestConfigRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"postgresql://u:p@h:5432/db", "postgresql://u:xxxxx@h:5432/db"},
		{"postgresql+psycopg2://u:p%40ss@h/db?sslmode=disable", "postgresql+psycopg2://u:xxxxx@h/db?sslmode=disable"},
		{"postgres://u@h/db?password=p&sslmode=require", "postgres://u@h/db?password=xxxxx&sslmode=require"},
		{"postgres://u@h/db?sslmode=require&PassWord=p#frag", "postgres://u@h/db?sslmode=require&PassWord=xxxxx#frag"},
		{"redis://:p@h:6379/0", "redis://:xxxxx@h:6379/0"},
		{"redis://:p@ss/w#rd@h:6379/0", "redis://:xxxxx@h:6379/0"},
		{"rediss://user@h:6380", "rediss://user@h:6380"},
		{"sqlite:////abs/db.sqlite", "sqlite:////abs/db.sqlite"},
		{"http://127.0.0.1:4318/v1/traces?token=t", "http://127.0.0.1:4318/v1/traces?token=xxxxx"},
		{"not a url", "not a url"},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			if got := config.RedactURL(tc.in); got != tc.want {
				t.Fatalf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzRedactURL: whatever password net/url finds in a URL, the redacted
// form does not hold it.
func FuzzRedactURL(f *testing.F) {
	f.Add("postgresql://u:p@h/db")
	f.Add("redis://:pw@h:6379/0?password=x")
	f.Add("redis://a:b:c@d@e/f")
	f.Fuzz(func(t *testing.T, s string) {
		r := config.RedactURL(s)
		u, err := url.Parse(s)
		if err != nil || u.User == nil {
			return
		}
		if p, ok := u.User.Password(); ok && len(p) >= 6 && !strings.Contains("xxxxx", p) && strings.Contains(r, ":"+p+"@") {
			t.Fatalf("RedactURL(%q) = %q keeps the password %q", s, r, p)
		}
		for k, vs := range u.Query() {
			if k == "password" {
				for _, v := range vs {
					if len(v) >= 6 && strings.Contains(r, "password="+v) && v != "xxxxx" {
						t.Fatalf("RedactURL(%q) = %q keeps the password parameter", s, r)
					}
				}
			}
		}
	})
}

// FuzzParseBool: ParseBool accepts exactly the documented spellings.
func FuzzParseBool(f *testing.F) {
	for _, s := range []string{"1", "0", "Yes", "off", "2", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := config.ParseBool(s)
		if err != nil {
			return
		}
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "1", "true", "yes", "on":
			if !b {
				t.Fatalf("%q gave false", s)
			}
		case "0", "false", "no", "off":
			if b {
				t.Fatalf("%q gave true", s)
			}
		default:
			t.Fatalf("%q accepted", s)
		}
	})
}
