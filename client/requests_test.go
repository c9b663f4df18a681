package client_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/client"
	"github.com/authnzrv/authnzrv/client/frontend/frontendtest"
)

func expires() string {
	return time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04:05.000000")
}

// mustOK fails the test unless the call succeeded.
func mustOK(t *testing.T, what string, r *client.Reply, err error) *client.Reply {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !r.Success {
		t.Fatalf("%s: success false: %s %q", what, r.Reason(), r.Messages)
	}
	return r
}

// TestTypedSessionCalls: session-new and session-exists through the typed
// calls against a real server; the required arguments with null values
// (user_id, extra_info_json) are sent as null.
func TestTypedSessionCalls(t *testing.T) {
	t.Parallel()
	srv := frontendtest.New(t)
	ctx := context.Background()
	r, err := srv.Client.SessionNew(ctx, client.SessionNewArgs{IPAddress: "203.0.113.7", UserAgent: "typed/1.0", Expires: expires()})
	mustOK(t, "session-new", r, err)
	token, _ := r.Response["session_token"].(string)
	if len(token) != 43 {
		t.Fatalf("session_token %q, want 43 characters", token)
	}
	r, err = srv.Client.SessionExists(ctx, client.SessionExistsArgs{SessionToken: token})
	mustOK(t, "session-exists", r, err)
	info, _ := r.Response["session_info"].(map[string]any)
	if info["user_id"] != float64(2) || info["user_agent"] != "typed/1.0" {
		t.Fatalf("session_info = %v, want the anonymous user's session with our user agent", info)
	}
	r, err = srv.Client.SessionExists(ctx, client.SessionExistsArgs{SessionToken: token + "x"})
	if err != nil || r.Success || r.Reason() != "session does not exist or expired" {
		t.Fatalf("session-exists of an unknown token: %+v, %v", r, err)
	}
}

// TestTypedLoginFlow: sign-up with a kwarg, verification, login (which
// ends the session it was given, as docs/requests.md says) and a new
// session for the user.
func TestTypedLoginFlow(t *testing.T) {
	t.Parallel()
	srv := frontendtest.New(t)
	ctx := context.Background()
	c := srv.Client
	r, err := c.UserNew(ctx, client.UserNewArgs{FullName: "Typed User", Email: "typed@example.org",
		Password: frontendtest.GoodPassword, SystemID: "typed-system-id"})
	mustOK(t, "user-new", r, err)
	if r.Response["system_id"] != "typed-system-id" {
		t.Fatalf("system_id = %v, want the kwarg's value", r.Response["system_id"])
	}
	r, err = c.UserSetEmailVerified(ctx, client.UserSetEmailVerifiedArgs{Email: "typed@example.org"})
	mustOK(t, "user-set-emailverified", r, err)
	r, err = c.SessionNew(ctx, client.SessionNewArgs{IPAddress: "203.0.113.7", UserAgent: "typed/1.0", Expires: expires()})
	mustOK(t, "session-new", r, err)
	anon, _ := r.Response["session_token"].(string)
	r, err = c.UserLogin(ctx, client.UserLoginArgs{SessionToken: anon, Email: "typed@example.org", Password: frontendtest.GoodPassword})
	mustOK(t, "user-login", r, err)
	uid, _ := r.Response["user_id"].(float64)
	if uid < 4 {
		t.Fatalf("user_id = %v", r.Response["user_id"])
	}
	r, err = c.SessionExists(ctx, client.SessionExistsArgs{SessionToken: anon})
	if err != nil || r.Success {
		t.Fatalf("the session given to user-login still exists: %+v, %v", r, err)
	}
	r, err = c.SessionNew(ctx, client.SessionNewArgs{IPAddress: "203.0.113.7", UserAgent: "typed/1.0", UserID: int64(uid), Expires: expires()})
	mustOK(t, "session-new for the user", r, err)
	r, err = c.UserPassCheck(ctx, client.UserPassCheckArgs{SessionToken: r.Response["session_token"].(string), Password: frontendtest.GoodPassword})
	mustOK(t, "user-passcheck", r, err)
}

// TestTypedArgumentsValidated: typed calls go through the server's
// validation like any other; a Float kwarg passes a "float" spec that a
// whole float64 would fail.
func TestTypedArgumentsValidated(t *testing.T) {
	t.Parallel()
	srv := frontendtest.New(t)
	ctx := context.Background()
	r, err := srv.Client.SessionNew(ctx, client.SessionNewArgs{IPAddress: "203.0.113.7", UserAgent: strings.Repeat("a", 2049), Expires: expires()})
	if err != nil {
		t.Fatal(err)
	}
	inner, _ := r.Response["response"].(map[string]any)
	if r.Success || inner["failure_reason"] != "invalid request parameters" {
		t.Fatalf("a 2049-character user_agent: %+v, want a validation failure", r)
	}
	r, err = srv.Client.UserValidatePass(ctx, client.UserValidatePassArgs{Password: frontendtest.GoodPassword,
		Email: "v@example.org", FullName: "V", MaxCharacterFrequency: 1})
	mustOK(t, "user-validatepass with max_character_frequency 1.0", r, err)
	r, err = srv.Client.Do(ctx, "user-validatepass", map[string]any{"password": frontendtest.GoodPassword,
		"email": "v@example.org", "full_name": "V", "max_character_frequency": 1})
	if err != nil || r.Success {
		t.Fatalf("a JSON integer for a float kwarg was accepted: %+v, %v", r, err)
	}
}

func TestFloatJSON(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   float64
		want string
	}{
		{1, "1.0"},
		{0, "0.0"},
		{-3, "-3.0"},
		{0.3, "0.3"},
		{1e21, "1e+21"},
		{1.5e-7, "1.5e-07"},
	}
	for _, tc := range cases {
		b, err := json.Marshal(client.Float(tc.in))
		if err != nil || string(b) != tc.want {
			t.Errorf("Float(%v) = %s, %v; want %s", tc.in, b, err, tc.want)
		}
	}
	if _, err := json.Marshal(client.Float(math.NaN())); err == nil {
		t.Error("Float(NaN) encoded without an error")
	}
}
