package engine_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/authnzrv/authnzrv/engine"
	"github.com/open-policy-agent/opa/v1/rego"
)

// TestDecisionCases runs every case file of testdata/decisions through the
// engine (the compiled policies the server decides with): the reference's
// pinned access and limit cases, the administrative decisions of the former
// Go rules, and the rate-limit decisions of the former policy.
func TestDecisionCases(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../testdata/decisions/*.json")
	if err != nil || len(files) < 4 {
		t.Fatalf("case files: %v %v", files, err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := engine.ParseCaseFile(b)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := engine.RunCases(context.Background(), engine.Options{}, f)
			if err != nil {
				t.Fatal(err)
			}
			for i, fail := range rep.Failures {
				if i == 20 {
					break
				}
				t.Error(fail)
			}
			if len(rep.Failures) > 0 {
				t.Fatalf("%d of %d cases differ", len(rep.Failures), rep.Cases)
			}
		})
	}
}

// TestDecisionCasesGeneric: the generic policies (the oracle the compiled
// form is tested against) decide the pinned access and limit cases the
// same way.
func TestDecisionCasesGeneric(t *testing.T) {
	t.Parallel()
	m, err := engine.ParseModel(engine.DefaultModel())
	if err != nil {
		t.Fatal(err)
	}
	access, limits := generic(t, m), genericPolicy(t, m, "limits")
	for name, pq := range map[string]rego.PreparedEvalQuery{"access-pinned.json": access, "limits-pinned.json": limits} {
		b, err := os.ReadFile("../testdata/decisions/" + name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := engine.ParseCaseFile(b)
		if err != nil {
			t.Fatal(err)
		}
		for i, raw := range f.Cases {
			var input map[string]any
			var want bool
			if f.Kind == "access" {
				var c engine.PinnedAccess
				if err := json.Unmarshal(raw, &c); err != nil {
					t.Fatal(err)
				}
				in := c.AccessInput()
				input = map[string]any{"user_id": in.UserID, "role": in.Role, "action": in.Action, "target_name": in.TargetName,
					"target_owner": in.TargetOwner, "target_visibility": in.TargetVisibility, "target_sharedwith": c.Input.TargetSharedWith}
				want = c.Allowed
			} else {
				var c engine.PinnedLimit
				if err := json.Unmarshal(raw, &c); err != nil {
					t.Fatal(err)
				}
				var v any
				if err := json.Unmarshal(c.Input.ValueToCheck, &v); err != nil {
					t.Fatal(err)
				}
				input = map[string]any{"role": c.Input.UserRole, "limit_name": c.Input.LimitName, "value": v}
				want = c.Allowed
			}
			got := genericAllowed(t, pq, input)
			if got != want {
				t.Errorf("%s case %d %v: generic policy allowed=%t, want %t", name, i, input, got, want)
			}
		}
	}
}

// genericAllowed evaluates a generic policy's decision on a raw input.
func genericAllowed(t testing.TB, pq rego.PreparedEvalQuery, input map[string]any) bool {
	t.Helper()
	rs, err := pq.Eval(context.Background(), rego.EvalInput(input))
	if err != nil || len(rs) != 1 {
		t.Fatalf("generic: %v %v", rs, err)
	}
	v := rs[0].Expressions[0].Value.(map[string]any)
	allowed, _ := v["allowed"].(bool)
	return allowed
}
