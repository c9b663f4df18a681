package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/format"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/engine/limiter"
	"github.com/authnzrv/authnzrv/policies"
)

func newEngine(t testing.TB, o engine.Options) *engine.Engine {
	t.Helper()
	e, err := engine.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func loadModel(t testing.TB, path string) *engine.Model {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := engine.ParseModel(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// generic prepares the hand-written generic access policy over a model:
// the oracle the compiled form is tested against.
func generic(t testing.TB, m *engine.Model) rego.PreparedEvalQuery {
	return genericPolicy(t, m, "access")
}

// genericPolicy prepares the decision of the generic policy
// policies/authnzrv/generic/<name>/<name>.rego with the model m as
// data.authnzrv.model.
func genericPolicy(t testing.TB, m *engine.Model, name string) rego.PreparedEvalQuery {
	t.Helper()
	src, err := policies.FS.ReadFile("authnzrv/generic/" + name + "/" + name + ".rego")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	var model any
	if err := json.Unmarshal(b, &model); err != nil {
		t.Fatal(err)
	}
	store := inmem.NewFromObject(map[string]any{"authnzrv": map[string]any{"model": model}})
	pq, err := rego.New(rego.Query("data.authnzrv.generic."+name+".decision"), rego.Module(name+".rego", string(src)),
		rego.Store(store)).PrepareForEval(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return pq
}

func genericDecision(t testing.TB, pq rego.PreparedEvalQuery, in engine.AccessInput) engine.Decision {
	t.Helper()
	rs, err := pq.Eval(context.Background(), rego.EvalInput(map[string]any{
		"user_id": in.UserID, "role": in.Role, "action": in.Action, "target_name": in.TargetName,
		"target_owner": in.TargetOwner, "target_visibility": in.TargetVisibility, "target_sharedwith": in.TargetSharedWith,
	}))
	if err != nil || len(rs) != 1 {
		t.Fatalf("generic: %v %v", rs, err)
	}
	v := rs[0].Expressions[0].Value.(map[string]any)
	return engine.Decision{Allowed: v["allowed"].(bool), Reason: v["reason"].(string)}
}

// TestEquivalence: for every enumerated case of a model, the compiled Rego
// the server uses, the generic Rego and the plain-Go procedure agree (the
// two Rego forms on the reason too).
func TestEquivalence(t *testing.T) {
	for _, file := range []string{"default-permissions-model.json", "custom-permissions-model.json"} {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join("..", "testdata", "permissions", file)
			m := loadModel(t, path)
			e := newEngine(t, engine.Options{ModelFile: path})
			oracle := generic(t, m)
			cases := engine.EnumerateAccess(m)
			if len(cases) < 1000 {
				t.Fatalf("only %d cases", len(cases))
			}
			allowed := 0
			for _, c := range cases {
				got, err := e.Access(context.Background(), c.In)
				if _, known := m.RolePolicy[c.In.Role]; known == errors.Is(err, engine.ErrUnknownRole) || (known && err != nil) {
					t.Fatalf("%+v: err %v", c.In, err)
				}
				want := genericDecision(t, oracle, c.In)
				// The compiled policy names fewer deny rules than the generic one.
				switch want.Reason {
				case "granted", "unknown role", "visibility gate closed":
				default:
					want.Reason = "not granted"
				}
				if got.Rule != want.Reason || got.Allowed != want.Allowed || got.Allowed != c.Allowed {
					t.Fatalf("%+v:\n compiled %+v\n generic  %+v\n plain Go %v", c.In, got, want, c.Allowed)
				}
				if got.Allowed {
					allowed++
				}
			}
			t.Logf("%d cases, %d allowed", len(cases), allowed)
			if allowed == 0 || allowed == len(cases) {
				t.Fatal("degenerate table")
			}
		})
	}
}

// TestPinnedAccess: permissions.md §5.2 through the engine.
func TestPinnedAccess(t *testing.T) {
	e := newEngine(t, engine.Options{})
	type c = engine.AccessInput
	tests := []struct {
		in   c
		want bool
	}{
		{c{2, "anonymous", "view", "collection", 1, "public", ""}, true},
		{c{2, "anonymous", "create", "collection", 1, "public", ""}, false},
		{c{2, "anonymous", "view", "collection", 1, "shared", "2,5,6"}, false},
		{c{2, "authenticated", "view", "dataset", 1, "shared", "2,5,6"}, true},
		{c{2, "authenticated", "view", "dataset", 1, "shared", "5,6"}, false},
		{c{2, "staff", "view", "collection", 1, "shared", "5,6"}, true},
		{c{2, "superuser", "view", "user", 2, "private", ""}, false},
		{c{2, "superuser", "view", "user", 1, "private", ""}, true},
		{c{2, "locked", "view", "collection", 1, "public", ""}, false},
	}
	for _, tc := range tests {
		d, err := e.Access(context.Background(), tc.in)
		if err != nil || d.Allowed != tc.want || d.Reason == "" {
			t.Errorf("%+v: %+v %v, want %v", tc.in, d, err, tc.want)
		}
	}
	if _, err := e.Access(context.Background(), c{1, "wizard", "view", "dataset", 1, "public", ""}); !errors.Is(err, engine.ErrUnknownRole) {
		t.Fatalf("unknown role: %v", err)
	}
}

func TestLimits(t *testing.T) {
	e := newEngine(t, engine.Options{})
	tests := []struct {
		role, name, value string
		want              bool
		err               error
	}{
		{"superuser", "max_requests", "100", true, nil},
		{"superuser", "max_requests", "100000000", false, nil},
		{"superuser", "max_requests_per_minute", "10000000", false, nil},
		{"anonymous", "nonexistent_limit_name", "5", true, nil},
		{"locked", "max_requests", "0", false, nil},
		{"authenticated", "max_requests", "499999.9", true, nil},
		{"authenticated", "max_requests", "500000", false, nil},
		{"authenticated", "max_requests", `"42"`, true, nil},
		{"authenticated", "max_requests", `"4.5"`, false, nil},
		{"authenticated", "max_requests", "true", true, nil},
		{"authenticated", "max_requests", `{"a": 1}`, false, nil},
		{"wizard", "max_requests", "1", false, engine.ErrUnknownRole},
	}
	for _, tc := range tests {
		d, err := e.Limit(context.Background(), engine.LimitInput{Role: tc.role, LimitName: tc.name, Value: json.RawMessage(tc.value)})
		if d.Allowed != tc.want || !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
			t.Errorf("%s %s %s: %+v %v", tc.role, tc.name, tc.value, d, err)
		}
	}
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	e := newEngine(t, engine.Options{RateLimits: map[string]int{"user-list": 10, "session": 120}})
	d, err := e.RateLimits(context.Background(), limiter.Request{Type: "user-list", Group: "user", ClientIP: "c1", UserID: 4})
	if err != nil {
		t.Fatal(err)
	}
	want := []limiter.Bucket{{Key: "ip:user-list:c1", PerMinute: 10, Burst: 10}, {Key: "user:4", PerMinute: 480, Burst: 480}}
	if len(d.Buckets) != 2 || d.Buckets[0] != want[0] || d.Buckets[1] != want[1] || d.Refuse != "" {
		t.Fatalf("%+v", d)
	}
	// Another client address: the same plan, its own bucket.
	d, _ = e.RateLimits(context.Background(), limiter.Request{Type: "user-list", Group: "user", ClientIP: "c2", UserID: 4})
	if d.Buckets[0].Key != "ip:user-list:c2" {
		t.Fatalf("%+v", d)
	}
	d, _ = e.RateLimits(context.Background(), limiter.Request{Type: "session-new", Group: "session", ClientIP: "c1"})
	if len(d.Buckets) != 1 || d.Buckets[0].PerMinute != 120 || d.Buckets[0].Burst != 150 {
		t.Fatalf("%+v", d)
	}
	d, _ = e.RateLimits(context.Background(), limiter.Request{Type: "user-lookup-email", Group: "user", EmailRequest: true, ClientIP: "c1"})
	if d.Refuse == "" {
		t.Fatal("e-mail type without e-mail admitted")
	}
	d, _ = e.RateLimits(context.Background(), limiter.Request{Type: "user-lookup-email", Group: "user", EmailRequest: true, ClientIP: "c1", Email: "e1"})
	if d.Refuse != "" || d.Buckets[0].Key != "email:user-lookup-email:e1" {
		t.Fatalf("%+v", d)
	}
}

func TestParseSharedWith(t *testing.T) {
	tests := []struct {
		in      string
		ids     []int64
		present bool
		bad     bool
	}{
		{"", nil, false, false}, {" NONE ", nil, false, false}, {"None", nil, false, false},
		{"2,5", []int64{2, 5}, true, false}, {" 5 , +6 ,1_0", []int64{5, 6, 10}, true, false},
		{"5,x", nil, true, true}, {"5,", nil, true, true}, {"1__0", nil, true, true},
	}
	for _, tc := range tests {
		ids, present, err := engine.ParseSharedWith(tc.in)
		if present != tc.present || (err != nil) != tc.bad || (!tc.bad && len(ids) != len(tc.ids)) {
			t.Errorf("%q: %v %v %v", tc.in, ids, present, err)
		}
		for i := range tc.ids {
			if !tc.bad && ids[i] != tc.ids[i] {
				t.Errorf("%q: %v", tc.in, ids)
			}
		}
	}
}

func TestDefaultModelEmbedded(t *testing.T) {
	b, err := os.ReadFile("../testdata/permissions/default-permissions-model.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(engine.DefaultModel()) {
		t.Fatal("engine/defaultmodel differs from testdata/permissions: copy it again")
	}
}

func TestModelValidation(t *testing.T) {
	tests := []struct {
		name, patch, want string
	}{
		{"unknown role in role_policy", `{"role_policy": {"wizard": {"can_own_items": [], "allowed_actions_for_owned": [], "allowed_actions_for_other": {}}}}`, "role_policy.wizard: unknown role"},
		{"action not in actions", `{"item_policy": {"object": {"valid_role_actions": ["fly"], "valid_visibilities": ["public"], "invalid_roles": []}}}`, "item_policy.object.valid_role_actions[0]: action \"fly\" not in actions"},
		{"limit type without operator", `{"limits": {"max": {"type": "int"}}}`, "limits.max: limit type without operator"},
		{"undefined limit type", `{"role_policy": {"staff": {"limits": {"x": {"type": "huge", "limit": 1}}, "can_own_items": [], "allowed_actions_for_owned": [], "allowed_actions_for_other": {}}}}`, "role_policy.staff.limits.x.type: limit type \"huge\" not in limits"},
		{"unknown visibility", `{"role_policy": {"staff": {"can_own_items": [], "allowed_actions_for_owned": [], "allowed_actions_for_other": {"secret": []}}}}`, "role_policy.staff.allowed_actions_for_other.secret: visibility not in visibilities"},
	}
	base := map[string]json.RawMessage{}
	if err := json.Unmarshal(engine.DefaultModel(), &base); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var patch map[string]map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tc.patch), &patch); err != nil {
				t.Fatal(err)
			}
			m := map[string]json.RawMessage{}
			for k, v := range base {
				m[k] = v
			}
			for k, sub := range patch {
				var cur map[string]json.RawMessage
				json.Unmarshal(m[k], &cur)
				for kk, vv := range sub {
					cur[kk] = vv
				}
				m[k], _ = json.Marshal(cur)
			}
			b, _ := json.Marshal(m)
			_, err := engine.ParseModel(b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := engine.ParseModel([]byte(`{"roles": []}`)); err == nil || !strings.Contains(err.Error(), "items: missing") {
		t.Fatalf("missing keys: %v", err)
	}
}

// TestReload: a changed policy directory is picked up by Watch; a set that
// fails to compile or whose tests fail is refused and the old one serves.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("extra.rego", "package site\n\nanswer := 1\n")
	write("extra_test.rego", "package site_test\n\ntest_answer if data.site.answer == 1\n")
	e := newEngine(t, engine.Options{PolicyDir: dir})
	rev := e.Revision()
	ctx := context.Background()
	// A broken file is refused.
	write("extra.rego", "package site\n\nanswer := \n")
	if err := e.Reload(ctx); err == nil || e.Revision() != rev {
		t.Fatalf("broken policy accepted: %v", err)
	}
	// A failing test is refused.
	write("extra.rego", "package site\n\nanswer := 2\n")
	if err := e.Reload(ctx); err == nil || !strings.Contains(err.Error(), "test_answer") || e.Revision() != rev {
		t.Fatalf("failing test accepted: %v", err)
	}
	// A good change is swapped in; decisions keep working throughout.
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.WatchEvery(wctx, 20*time.Millisecond) }()
	time.Sleep(100 * time.Millisecond)
	write("extra_test.rego", "package site_test\n\ntest_answer if data.site.answer == 2\n")
	deadline := time.Now().Add(10 * time.Second)
	for e.Revision() == rev && time.Now().Before(deadline) {
		if _, err := e.Access(ctx, engine.AccessInput{UserID: 1, Role: "superuser", Action: "view", TargetName: "dataset", TargetOwner: 1, TargetVisibility: "public"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if e.Revision() == rev {
		t.Fatal("watch did not reload")
	}
	// A compiled model override from the directory replaces the model's.
	c := engine.Compile(loadModel(t, "../testdata/permissions/custom-permissions-model.json"), "custom")
	write("access.rego", c.Access)
	if err := e.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := e.Access(ctx, engine.AccessInput{UserID: 4, Role: "member", Action: "write", TargetName: "document", TargetOwner: 4, TargetVisibility: "private"})
	if err != nil || !d.Allowed {
		t.Fatalf("override not used: %+v %v", d, err)
	}
}

// TestCompiledRegoLayout: what `policy import` writes is formatted as opa
// fmt would, says it is generated, keeps lines within 120 characters, and
// the templates it is made from are complete packages on their own.
func TestCompiledRegoLayout(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"default-permissions-model.json", "custom-permissions-model.json"} {
		b, err := os.ReadFile("../testdata/permissions/" + file)
		if err != nil {
			t.Fatal(err)
		}
		m, err := engine.ParseModel(b)
		if err != nil {
			t.Fatal(err)
		}
		for name, src := range engine.Compile(m, file).Files() {
			formatted, err := format.SourceWithOpts(name, []byte(src), format.Opts{RegoVersion: ast.RegoV1, ParserOptions: &ast.ParserOptions{RegoVersion: ast.RegoV1}})
			if err != nil {
				t.Fatalf("%s %s: %v", file, name, err)
			}
			if string(formatted) != src {
				t.Errorf("%s %s: not formatted as opa fmt formats it", file, name)
			}
			if !strings.Contains(src, "DO NOT EDIT") {
				t.Errorf("%s %s: does not say it is generated", file, name)
			}
			for i, line := range strings.Split(src, "\n") {
				if len([]rune(line)) > 120 {
					t.Errorf("%s %s:%d: %d characters", file, name, i+1, len([]rune(line)))
				}
			}
		}
	}
	for _, name := range []string{"templates/access.rego", "templates/limits.rego"} {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		mod, err := ast.ParseModuleWithOpts(name, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
		if err != nil {
			t.Fatalf("%s is not a module: %v", name, err)
		}
		c := ast.NewCompiler().WithStrict(true)
		if c.Compile(map[string]*ast.Module{name: mod}); c.Failed() {
			t.Errorf("%s does not compile on its own: %v", name, c.Errors)
		}
	}
}
