package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/engine"
)

// setPath sets the value at path (object keys from the top) in a decoded
// JSON document, making the objects on the way.
func setPath(doc map[string]any, path []string, v any) {
	for _, k := range path[:len(path)-1] {
		next, ok := doc[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			doc[k] = next
		}
		doc = next
	}
	doc[path[len(path)-1]] = v
}

// TestModelUnknownKeysNamePath (issue 16 item 5c): a key the model format
// does not have, at any depth, refuses the model with its JSON path; names
// under maps (roles, items, limits) are checked as names; a wrong type
// names its path too. Cases: testdata/permissions/invalid/unknown-keys.json.
func TestModelUnknownKeysNamePath(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../testdata/permissions/invalid/unknown-keys.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []struct {
			Name  string
			Path  []string
			Value any
			Also  *struct {
				Path  []string
				Value any
			}
			Want []string
		}
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) == 0 {
		t.Fatal("no cases")
	}
	base, err := os.ReadFile("../testdata/permissions/default-permissions-model.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range file.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			var doc map[string]any
			if err := json.Unmarshal(base, &doc); err != nil {
				t.Fatal(err)
			}
			setPath(doc, tc.Path, tc.Value)
			if tc.Also != nil {
				setPath(doc, tc.Also.Path, tc.Also.Value)
			}
			b, _ := json.Marshal(doc)
			_, err := engine.ParseModel(b)
			if len(tc.Want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			for _, w := range tc.Want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestBundledModelsHaveOnlyKnownKeys: the repository's models and the
// reference's default model (as autosetup wrote it) pass the unknown-key
// check, so the check refuses nothing the reference accepts.
func TestBundledModelsHaveOnlyKnownKeys(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../testdata/permissions/*.json")
	ref, _ := filepath.Glob("../testdata/reference/autosetup/*/default-permissions-model.json")
	files = append(files, ref...)
	if len(files) < 3 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range append(files, "defaultmodel/default-permissions-model.json") {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := engine.ParseModel(b); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// admitServerRoles is the check the server makes: every role it assigns.
func admitServerRoles(_ context.Context, a engine.Admission) error {
	if missing := a.MissingRoles(); len(missing) > 0 {
		return fmt.Errorf("permissions model %s: no role %s", a.ModelName, strings.Join(missing, ", no role "))
	}
	return nil
}

// TestAssignedRolesOfTheBuiltinPolicy (item 5a): the role-assignment policy
// names "authenticated" (on verify-email) as the one literal role it can
// assign; every role it answers for a spread of inputs is either that or a
// role taken from the input, so the static reading misses none.
func TestAssignedRolesOfTheBuiltinPolicy(t *testing.T) {
	t.Parallel()
	e := newEngine(t, engine.Options{})
	got := e.AssignedRoles()
	want := []engine.AssignedRole{{Role: "authenticated", Ops: []string{"verify-email"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("AssignedRoles = %+v, want %+v", got, want)
	}
	literal := map[string]bool{}
	for _, a := range got {
		literal[a.Role] = true
	}
	ctx := context.Background()
	for _, op := range []string{"verify-email", "promote", ""} {
		for _, cur := range []string{"locked", "probe-current", "superuser"} {
			for _, prev := range [][]any{nil, {"probe-prev"}, {"locked"}, {"probe-prev", "locked"}, {5}, {"locked", "probe-prev"}} {
				role, d, err := e.AssignRole(ctx, engine.RoleInput{Op: op, CurrentRole: cur, PreviousRoles: prev})
				if err != nil || !d.Allowed {
					continue
				}
				fromInput := role == cur || slices.Contains(prev, any(role))
				if !fromInput && !literal[role] {
					t.Errorf("op %q current %q previous %v: assigned %q, which AssignedRoles does not list", op, cur, prev, role)
				}
			}
		}
	}
}

// TestCustomModelWithoutAuthenticatedRefused (item 5a, the case):
// the repository's own custom model has no "authenticated" role, which the
// server assigns when a sign-up's e-mail is verified; with the server's
// admission check it is refused at New with one line naming the role and
// where it comes from, and so is a reload to it, while the old set keeps
// serving.
func TestCustomModelWithoutAuthenticatedRefused(t *testing.T) {
	t.Parallel()
	custom := "../testdata/permissions/custom-permissions-model.json"
	_, err := engine.New(context.Background(), engine.Options{ModelFile: custom, Admit: admitServerRoles})
	const line = `permissions model %s: no role "authenticated" (assigned by policy authnzrv.roles on verify-email)`
	if want := fmt.Sprintf(line, "custom-permissions-model.json"); err == nil || err.Error() != want {
		t.Fatalf("New: %v\nwant: %s", err, want)
	}
	// Without the check (policy tooling) the model still loads.
	newEngine(t, engine.Options{ModelFile: custom})

	dir := t.TempDir()
	model := filepath.Join(dir, "model.json")
	copyFile(t, "../testdata/permissions/default-permissions-model.json", model)
	e := newEngine(t, engine.Options{ModelFile: model, Admit: admitServerRoles})
	before := e.Revision()
	copyFile(t, custom, model)
	if err := e.Reload(context.Background()); err == nil || err.Error() != fmt.Sprintf(line, "model.json") {
		t.Fatalf("Reload: %v", err)
	}
	if e.Revision() != before || !slices.Contains(e.Roles(), "authenticated") {
		t.Fatalf("the refused set serves: revision %s (was %s), roles %v", e.Revision(), before, e.Roles())
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestAdmitSeesEveryLoad: Options.Admit is asked at New, at every Reload
// and at Recheck, with the set's model, name and assigned roles; its
// refusal at a reload keeps the old set, and Recheck changes nothing.
func TestAdmitSeesEveryLoad(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []engine.Admission
	var refuse error
	admit := func(_ context.Context, a engine.Admission) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, a)
		return refuse
	}
	dir := t.TempDir()
	model := filepath.Join(dir, "model.json")
	copyFile(t, "../testdata/permissions/default-permissions-model.json", model)
	e := newEngine(t, engine.Options{ModelFile: model, Admit: admit})
	rev := e.Revision()
	if len(seen) != 1 || seen[0].ModelName != "model.json" || len(seen[0].Assigned) != 1 || seen[0].Model.Roles[0] != "superuser" {
		t.Fatalf("at New: %+v", seen)
	}
	refuse = errors.New("no")
	if err := e.Reload(context.Background()); err == nil || err.Error() != "no" {
		t.Fatalf("Reload: %v", err)
	}
	if err := e.Recheck(context.Background()); err == nil {
		t.Fatal("Recheck passed a refusal")
	}
	if len(seen) != 3 || e.Revision() != rev {
		t.Fatalf("asked %d times, revision %s (was %s)", len(seen), e.Revision(), rev)
	}
}

// TestLastLoadRecordsReloads (item 5d): LastLoad tells the start's load,
// then each reload's outcome at the injected clock's time: ok with the new
// revision, or refused with its one-line reason and the revision still
// serving.
func TestLastLoadRecordsReloads(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	tick := func() { mu.Lock(); now = now.Add(time.Minute); mu.Unlock() }
	dir := t.TempDir()
	model := filepath.Join(dir, "model.json")
	copyFile(t, "../testdata/permissions/default-permissions-model.json", model)
	e := newEngine(t, engine.Options{ModelFile: model, Now: clock})
	start := e.LastLoad()
	if start.Reload || start.Err != "" || !start.Time.Equal(clock()) || start.Revision != e.Revision() {
		t.Fatalf("at start: %+v", start)
	}
	tick()
	copyFile(t, "../testdata/permissions/custom-permissions-model.json", model)
	if err := e.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	ok := e.LastLoad()
	if !ok.Reload || ok.Err != "" || !ok.Time.Equal(clock()) || ok.Revision == start.Revision || ok.Revision != e.Revision() {
		t.Fatalf("after a reload: %+v", ok)
	}
	tick()
	os.WriteFile(model, []byte(`{"roles": ["superuser"], "extra": 1}`), 0o600)
	if err := e.Reload(context.Background()); err == nil {
		t.Fatal("a broken model reloaded")
	}
	bad := e.LastLoad()
	if !bad.Reload || bad.Err == "" || strings.Contains(bad.Err, "\n") || !bad.Time.Equal(clock()) || bad.Revision != ok.Revision {
		t.Fatalf("after a refused reload: %+v", bad)
	}
	if !strings.Contains(bad.Err, "model.json") {
		t.Errorf("the reason does not name the model: %q", bad.Err)
	}
}
