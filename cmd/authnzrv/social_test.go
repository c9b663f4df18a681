package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/authnzrv/authnzrv/client"
	"github.com/authnzrv/authnzrv/config"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// buildServices builds the server in process from env, as a start does.
func buildServices(t *testing.T, env []string) (*services, error) {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	config.RegisterFlags(fs)
	cfg, err := config.Load(fs, env, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := build(context.Background(), cfg, newLogger(context.Background(), io.Discard, cfg))
	if err == nil {
		t.Cleanup(s.close)
	}
	return s, err
}

// TestServeSocialProviders: with --oauthproviders the server loads the
// providers file and serves the social login types with it; a file it
// cannot use stops the start with one line naming the setting and the
// problem, quoting no secret; without the setting the types answer that
// social login is not configured.
func TestServeSocialProviders(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "providers.json")
	doc, _ := json.Marshal(map[string]any{"providers": map[string]any{"github": map[string]any{
		"kind": "github", "client_id": "Iv1.serve", "client_secret": "serve-s3cr3t",
		"redirect_url": "https://app.example/auth/github/callback", "auth_url": "https://github.example/login/oauth/authorize",
	}}})
	if err := os.WriteFile(good, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	base := append(cliEnv(t, identitytest.SQLite(t)), "AUTHNZERVER_RATELIMITS=none")

	t.Run("configured", func(t *testing.T) {
		t.Parallel()
		s, err := buildServices(t, append(base[:len(base):len(base)], "AUTHNZERVER_OAUTHPROVIDERS="+good))
		if err != nil {
			t.Fatal(err)
		}
		r := socialStart(t, s, "github")
		u, err := url.Parse(r.Response["authorization_url"].(string))
		if !r.Success || err != nil || u.Host != "github.example" || u.Query().Get("client_id") != "Iv1.serve" ||
			u.Query().Get("state") != r.Response["state"] {
			t.Fatalf("user-social-start: %+v", r)
		}
		if r := socialStart(t, s, "google"); r.Success || r.Reason() != "unknown provider" {
			t.Fatalf("unknown provider: %+v", r)
		}
	})
	t.Run("not configured", func(t *testing.T) {
		t.Parallel()
		s, err := buildServices(t, append(cliEnv(t, identitytest.SQLite(t)), "AUTHNZERVER_RATELIMITS=none"))
		if err != nil {
			t.Fatal(err)
		}
		if r := socialStart(t, s, "github"); r.Success || r.Reason() != "social login is not configured" {
			t.Fatalf("without providers: %+v", r)
		}
	})
	for _, name := range []string{"err-unknown-kind.json", "err-syntax-in-secret.json", "err-missing-redirect.json", "err-secret-file-missing.json"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			file, err := filepath.Abs(filepath.Join("../../testdata/social/parse", name))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := os.ReadFile(file)
			_, err = buildServices(t, append(cliEnv(t, identitytest.SQLite(t)), "AUTHNZERVER_OAUTHPROVIDERS="+file))
			if err == nil {
				t.Fatal("the start went on")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "oauthproviders: social: providers file") || strings.Contains(msg, "\n") {
				t.Fatalf("error %q: want one line about the providers file", msg)
			}
			if strings.Contains(string(raw), "s3cr3t") && strings.Contains(msg, "s3cr3t") {
				t.Fatalf("error %q quotes a secret", msg)
			}
		})
	}
}

// socialStart sends user-social-start with a new anonymous session.
func socialStart(t *testing.T, s *services, provider string) *client.Reply {
	t.Helper()
	srv := httptest.NewServer(s.api)
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, configKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sess, err := c.Do(ctx, "session-new", map[string]any{"ip_address": "203.0.113.9", "user_agent": "test", "user_id": nil,
		"expires": "2099-01-01T00:00:00.000000", "extra_info_json": nil})
	if err != nil || !sess.Success {
		t.Fatalf("session-new: %+v %v", sess, err)
	}
	r, err := c.Do(ctx, "user-social-start", map[string]any{"provider": provider, "session_token": sess.Response["session_token"]})
	if err != nil {
		t.Fatal(err)
	}
	return r
}
