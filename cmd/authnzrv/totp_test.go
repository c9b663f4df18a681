package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	potp "github.com/pquerna/otp/totp"

	"github.com/authnzrv/authnzrv/client"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// TestServedTOTPSurvivesRestart: on the served binary, a user turns TOTP
// on; the secret is sealed in the database under a key derived from the
// server secret, so that after a restart with the same secret the login
// asks for the second factor and a code from the authenticator opens it.
func TestServedTOTPSurvivesRestart(t *testing.T) {
	bin := binary(t)
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		const key = "uQ0D2Mz_Xpm3Hn5ehwJb8BVcgGJdfoXU2p-2vvENJeM="
		dir := t.TempDir()
		secretFile := filepath.Join(dir, "secret")
		saltFile := filepath.Join(dir, "salt")
		if err := os.WriteFile(secretFile, []byte(key+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(saltFile, []byte("a salt for the totp test\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		port := freePort(t)
		env := []string{
			"AUTHNZERVER_BASEDIR=" + dir, "AUTHNZERVER_AUTHDB=" + db.URL, "AUTHNZERVER_SECRET=" + secretFile,
			"AUTHNZERVER_PIISALT=" + saltFile, "AUTHNZERVER_LISTEN=127.0.0.1", "AUTHNZERVER_PORT=" + fmt.Sprint(port),
			"AUTHNZERVER_ALLOWEDHOSTS=localhost;127.0.0.1", "AUTHNZERVER_ADMIN_EMAIL=boss@example.org",
			"AUTHNZERVER_ADMIN_PASSWORD=the boss password 1!", "AUTHNZERVER_ARGON2PARAMS=m=1024,t=1,p=1",
		}
		c, err := client.New(fmt.Sprintf("http://127.0.0.1:%d", port), key)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		do := func(request string, body map[string]any) *client.Reply {
			t.Helper()
			r, err := c.Do(ctx, request, body)
			if err != nil {
				t.Fatalf("%s: %v", request, err)
			}
			return r
		}
		session := func(userID any) string {
			t.Helper()
			r := do("session-new", map[string]any{"ip_address": "127.0.0.1", "user_agent": "totp", "user_id": userID,
				"expires": time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04:05.000000"), "extra_info_json": nil})
			if !r.Success {
				t.Fatalf("session-new: %+v", r)
			}
			return r.Response["session_token"].(string)
		}
		const email, pw = "totp.e2e@example.org", "aROwQin9L8nNtPTEMLXd"

		cmd := start(t, bin, port, env)
		r := do("user-new", map[string]any{"full_name": "Totp User", "email": email, "password": pw})
		if !r.Success {
			t.Fatalf("user-new: %+v", r)
		}
		uid := r.Response["user_id"]
		if r := do("user-set-emailverified", map[string]any{"email": email}); !r.Success {
			t.Fatalf("verify: %+v", r)
		}
		tok := session(uid)
		r = do("user-totp-enroll", map[string]any{"session_token": tok, "password": pw})
		secret, _ := r.Response["secret"].(string)
		if !r.Success || secret == "" {
			t.Fatalf("enrol: %+v", r)
		}
		code, err := potp.GenerateCode(secret, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if r := do("user-totp-confirm", map[string]any{"session_token": tok, "code": code}); !r.Success {
			t.Fatalf("confirm: %+v", r)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("exit: %v", err)
		}

		// At rest: sealed, never the plain secret.
		bdb, err := identity.Open(ctx, db.Driver, db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		var sealed string
		err = bdb.NewRaw("SELECT secret FROM totp_secrets").Scan(ctx, &sealed)
		bdb.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sealed, "v1.") || strings.Contains(strings.ToUpper(sealed), secret) {
			t.Fatalf("stored secret %q", sealed)
		}

		// Restarted with the same secret: both factors log in.
		cmd = start(t, bin, port, env)
		r = do("user-login", map[string]any{"session_token": session(nil), "email": email, "password": pw})
		ch, _ := r.Response["challenge"].(string)
		if r.Success || r.Reason() != "second factor required" || ch == "" {
			t.Fatalf("login: %+v", r)
		}
		// The next step's code: the confirmation spent the current one.
		code, err = potp.GenerateCode(secret, time.Now().Add(30*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		r = do("user-login-totp", map[string]any{"challenge": ch, "code": code})
		if !r.Success || fmt.Sprint(r.Response["user_id"]) != fmt.Sprint(uid) {
			t.Fatalf("user-login-totp: %+v", r)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("exit: %v", err)
		}
	})
}
