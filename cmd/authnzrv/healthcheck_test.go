package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/authnzrv/authnzrv/config"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// healthServer runs the real API server in process on a migrated SQLite
// database, with env's settings; it returns its address and the services
// (whose database a test may close to break the health probe).
func healthServer(t *testing.T, env []string) (*httptest.Server, *services) {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	config.RegisterFlags(fs)
	cfg, err := config.Load(fs, env, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := build(context.Background(), cfg, newLogger(context.Background(), io.Discard, cfg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	srv := httptest.NewServer(s.api)
	t.Cleanup(srv.Close)
	return srv, s
}

// TestHealthcheck asks a real server's GET /health: exit 0 with one line on
// stdout when Health-Ok, 1 with one line on stderr otherwise.
func TestHealthcheck(t *testing.T) {
	t.Parallel()
	db := identitytest.SQLite(t)
	env := slices.Concat(cliEnv(t, db), []string{"AUTHNZERVER_ALLOWEDHOSTS=auth.example.org", "AUTHNZERVER_RATELIMITS=none"})
	healthy, _ := healthServer(t, env)
	plain, _ := healthServer(t, append(cliEnv(t, identitytest.SQLite(t)), "AUTHNZERVER_RATELIMITS=none"))
	broken, brokenServices := healthServer(t, append(cliEnv(t, identitytest.SQLite(t)), "AUTHNZERVER_RATELIMITS=none"))
	brokenServices.store.DB().Close()
	hu, _ := url.Parse(healthy.URL)
	_, port, _ := net.SplitHostPort(hu.Host)
	notHealth := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notHealth.Close)
	closed := freePort(t)

	tests := []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"configured address, Host from allowedhosts", slices.Concat(env, []string{"AUTHNZERVER_PORT=" + port, "AUTHNZERVER_LISTEN=0.0.0.0"}), nil, 0,
			"healthy: http://127.0.0.1:" + port + "/health says Health-Ok\n"},
		{"--url", nil, []string{"--url", broken.URL + "/health"}, 1, "answered HTTP 500, Health-Ok false"},
		{"--url without a path", nil, []string{"--url", plain.URL}, 0, "healthy: " + plain.URL + "/health says Health-Ok\n"},
		{"--url to a host the server does not allow", nil, []string{"--url", healthy.URL + "/health"}, 1, "answered HTTP 404 without Health-Ok"},
		{"not an authnzrv", nil, []string{"--url", notHealth.URL}, 1, "answered HTTP 404 without Health-Ok"},
		{"nothing listening", slices.Concat(env, []string{fmt.Sprintf("AUTHNZERVER_PORT=%d", closed)}), nil, 1, "did not answer"},
		{"bad --url", nil, []string{"--url", "ftp://example.org/"}, 2, "is not an http:// or https:// URL"},
		{"port 0", slices.Concat(env, []string{"AUTHNZERVER_PORT=0"}), nil, 1, "give --url"},
		{"arguments", nil, []string{"now"}, 2, `unknown command "now"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := cli(t, tc.env, "", append([]string{"healthcheck", "--timeout", "3s"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.all(), tc.want) || strings.Count(r.all(), "\n") != 1 {
				t.Fatalf("exit %d %q; want %d with %q on one line", r.code, r.all(), tc.code, tc.want)
			}
		})
	}
}

// FuzzParseHealth: any answer is judged without panicking, and only an HTTP
// 200 whose JSON says "Health-Ok": true passes.
func FuzzParseHealth(f *testing.F) {
	f.Add(200, []byte(`{"Health-Ok": true, "Workers": {}}`))
	f.Add(500, []byte(`{"Health-Ok": false}`))
	f.Add(200, []byte(`{"Health-Ok": "yes"}`))
	f.Add(200, []byte(`[]`))
	f.Add(404, []byte(`<html>`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		err := parseHealth(status, body)
		if err == nil && (status != 200 || !strings.Contains(string(body), "true")) {
			t.Fatalf("passed: %d %q", status, body)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("two lines: %q", err)
		}
	})
}
