package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/authnzrv/authnzrv/config"
	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// customModel is the repository's own custom model example, which has no
// "authenticated" role.
const customModel = "../../testdata/permissions/custom-permissions-model.json"

// modelWithout writes the default model less the given roles (from roles,
// role_policy and every item's invalid_roles) to a new file in dir.
func modelWithout(t *testing.T, dir string, drop ...string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(engine.DefaultModel(), &m); err != nil {
		t.Fatal(err)
	}
	keep := func(list []any) []any {
		return slices.DeleteFunc(list, func(v any) bool { return slices.Contains(drop, v.(string)) })
	}
	m["roles"] = keep(m["roles"].([]any))
	for _, r := range drop {
		delete(m["role_policy"].(map[string]any), r)
	}
	for _, rule := range m["item_policy"].(map[string]any) {
		rule := rule.(map[string]any)
		if ir, ok := rule["invalid_roles"].([]any); ok {
			rule["invalid_roles"] = keep(ir)
		}
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	path := filepath.Join(dir, fmt.Sprintf("model-%d.json", time.Now().UnixNano()))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.ParseModel(b); err != nil {
		t.Fatalf("modelWithout%v is not a valid model: %v", drop, err)
	}
	return path
}

// buildFrom resolves env as the server does and builds it (build: every
// start check, then the writes), logging to io.Discard.
func buildFrom(t *testing.T, env []string) (*services, error) {
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

// TestStartRefusesCustomModelWithoutAuthenticated (issue 16 item 5a, the
// issue's own case): started with the repository's custom model, which has
// no "authenticated" role, the server used to start and then fail e-mail
// verification with HTTP 400 and a foreign-key error; now the start stops
// with one line naming the missing role and the policy that assigns it,
// before it writes anything.
func TestStartRefusesCustomModelWithoutAuthenticated(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "auth.sqlite")
	env := []string{"AUTHNZERVER_AUTHDB=sqlite:///" + dbPath, "AUTHNZERVER_SECRET=" + configKey, "AUTHNZERVER_PIISALT=salt",
		"AUTHNZERVER_BASEDIR=" + dir, "AUTHNZERVER_PORT=0", "AUTHNZERVER_PERMISSIONS=" + customModel}
	r := cli(t, env, "")
	want := `authnzrv: policies: permissions model custom-permissions-model.json: no role "authenticated" (assigned by policy authnzrv.roles on verify-email): add it to "roles"`
	if r.code != exitFailed || !strings.HasPrefix(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("exit %d, stderr %q; want 1 and one line starting %q", r.code, r.stderr, want)
	}
	if _, err := os.Stat(dbPath); !os.IsNotExist(err) {
		t.Fatalf("the database was written: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".authnzerver-admin-credentials*")); len(m) != 0 {
		t.Fatalf("credentials written: %v", m)
	}
}

// TestStartRefusesModelDroppingHeldRoles (item 5b at start): on a database
// whose users hold roles the model does not define, the start stops with
// the count of such users per role, on every database kind; the same
// database starts with a model that keeps them.
func TestStartRefusesModelDroppingHeldRoles(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		st := serverReady(t, db)
		ctx := context.Background()
		for i, role := range []string{"staff", "staff", "staff"} {
			u := &identity.User{SystemID: fmt.Sprintf("sys-%d", i), Password: "plain$x", Email: fmt.Sprintf("s%d@example.org", i),
				UserRole: role, IsActive: true, EmailVerified: true}
			if err := st.InsertUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		dir := t.TempDir()
		env := append(cliEnv(t, db), "AUTHNZERVER_PORT=0", "AUTHNZERVER_RATELIMITS=none")
		_, err := buildFrom(t, append(slices.Clone(env), "AUTHNZERVER_PERMISSIONS="+modelWithout(t, dir, "staff")))
		want := `users still hold roles it does not define: "staff" (3 users); keep the roles, or give those users another role first`
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "policies: permissions model model-") {
			t.Fatalf("start: %v\nwant: %s", err, want)
		}
		if _, err := buildFrom(t, append(slices.Clone(env), "AUTHNZERVER_PERMISSIONS="+modelWithout(t, dir, "staff", "authenticated"))); err == nil ||
			!strings.Contains(err.Error(), `no role "authenticated"`) {
			t.Fatalf("a model without a role the server assigns: %v", err)
		}
		if _, err := buildFrom(t, env); err != nil {
			t.Fatalf("the default model: %v", err)
		}
	})
}

// health fetches GET /health as JSON.
func health(t *testing.T, url string) map[string]any {
	t.Helper()
	resp, err := http.Get(url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestReloadRefusesDroppedHeldRoleAndHealthShowsIt (items 5b and 5d, the
// issue's case): the running binary, its model file rewritten without a
// role a user holds and SIGHUP sent, refuses the reload with the count of
// such users, logs it, keeps the old policies and shows the refusal's line
// and time in /health's Policy-Reload; a model that keeps the role then
// reloads, and /health says ok.
func TestReloadRefusesDroppedHeldRoleAndHealthShowsIt(t *testing.T) {
	bin := sharedBinary(t)
	dir := t.TempDir()
	db := identitytest.SQLite(t)
	model := filepath.Join(dir, "model.json")
	if err := os.WriteFile(model, engine.DefaultModel(), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	env := []string{"AUTHNZERVER_AUTHDB=" + db.URL, "AUTHNZERVER_SECRET=" + configKey, "AUTHNZERVER_PIISALT=salt",
		"AUTHNZERVER_BASEDIR=" + dir, fmt.Sprintf("AUTHNZERVER_PORT=%d", port), "AUTHNZERVER_PERMISSIONS=" + model,
		"AUTHNZERVER_ARGON2PARAMS=m=1024,t=1,p=1", "AUTHNZERVER_RATELIMITS=none", "AUTHNZERVER_ADMIN_EMAIL=admin@example.org"}
	srv := launch(t, bin, env)
	srv.healthy(t, port)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	h := health(t, url)
	rev := h["Policy-Revision"]
	if pr, _ := h["Policy-Reload"].(map[string]any); pr["Outcome"] != "ok" || pr["At-Start"] != true || pr["Revision"] != rev {
		t.Fatalf("at start: %v", h)
	}
	if r := cli(t, env, "", "user", "add", "staffer@example.org", "--role", "staff", "--password", "a staff member's Pa55phrase"); r.code != 0 {
		t.Fatalf("user add: %s", r.all())
	}

	// waitReload polls /health until it shows a reload whose outcome is
	// want, at or after since.
	waitReload := func(since time.Time, want string) map[string]any {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			h := health(t, url)
			pr, _ := h["Policy-Reload"].(map[string]any)
			at, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(pr["Time"]))
			if pr["At-Start"] == false && !at.Before(since) && pr["Outcome"] == want {
				return h
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("no %s reload seen in /health:\n%s", want, srv.logText())
		return nil
	}
	before := time.Now().Add(-time.Second) // /health's time has the server's clock
	data, _ := os.ReadFile(modelWithout(t, t.TempDir(), "staff"))
	if err := os.WriteFile(model, data, 0o600); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Process.Signal(syscall.SIGHUP)
	h = waitReload(before, "refused")
	pr := h["Policy-Reload"].(map[string]any)
	wantErr := `permissions model model.json: users still hold roles it does not define: "staff" (1 user)`
	if pr["Outcome"] != "refused" || !strings.Contains(fmt.Sprint(pr["Error"]), wantErr) || h["Policy-Revision"] != rev ||
		pr["Revision"] != rev || h["Health-Ok"] != true {
		t.Fatalf("after the refused reload: %v", h)
	}
	if log := srv.logText(); !strings.Contains(log, "policy reload refused; the previous policies keep serving") || !strings.Contains(log, `\"staff\" (1 user)`) {
		t.Fatalf("the refusal is not logged:\n%s", log)
	}

	before = time.Now().Add(-time.Second)
	data = []byte(strings.Replace(string(engine.DefaultModel()), `"superuser",`, `"superuser", "auditor",`, 1))
	if err := os.WriteFile(model, data, 0o600); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Process.Signal(syscall.SIGHUP)
	h = waitReload(before, "ok")
	pr = h["Policy-Reload"].(map[string]any)
	if !strings.Contains(string(data), `"auditor"`) || pr["Error"] != "" || h["Policy-Revision"] == rev || pr["Revision"] != h["Policy-Revision"] {
		t.Fatalf("after the accepted reload: %v", h)
	}
	// The role the reload brought is in the database: users can be given it.
	if r := cli(t, env, "", "user", "set-role", "staffer@example.org", "auditor"); r.code != 0 {
		t.Fatalf("set-role to the reloaded model's new role: %s", r.all())
	}
	srv.stop(t)

	// A start with a model that gained a role adds it as well.
	data = []byte(strings.Replace(string(data), `"auditor",`, `"auditor", "reviewer",`, 1))
	if err := os.WriteFile(model, data, 0o600); err != nil {
		t.Fatal(err)
	}
	srv = launch(t, bin, env)
	srv.healthy(t, port)
	if r := cli(t, env, "", "user", "set-role", "staffer@example.org", "reviewer"); r.code != 0 {
		t.Fatalf("set-role to the new model's role after a start: %s", r.all())
	}
	if !strings.Contains(srv.logText(), "roles of the permissions model added to the database") {
		t.Fatalf("the added role is not logged:\n%s", srv.logText())
	}
	srv.stop(t)
}
