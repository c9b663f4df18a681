package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run executes the policy command in process.
func runPolicy(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(append([]string{"policy"}, args...))
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestPolicyImportThenTest(t *testing.T) {
	t.Parallel()
	for _, model := range []string{"default-permissions-model.json", "custom-permissions-model.json"} {
		t.Run(model, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			out, _, err := runPolicy(t, "", "import", filepath.Join("..", "..", "testdata", "permissions", model), "-o", dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"access.rego", "access_test.rego", "limits.rego", "limits_test.rego"} {
				if !strings.Contains(out, filepath.Join(dir, f)) {
					t.Fatalf("%s not written: %s", f, out)
				}
			}
			// The generated tests pin the decision table and pass (coverage
			// measured on the smaller model only: it is several times slower).
			args := []string{"test", dir}
			if model == "custom-permissions-model.json" {
				args = append(args, "--threshold", "90")
			}
			out, _, err = runPolicy(t, "", args...)
			if err != nil || !strings.Contains(out, "0 failed") || strings.Contains(out, "coverage") != (len(args) > 2) {
				t.Fatalf("policy test: %v\n%s", err, out)
			}
			// A decision changed by hand is caught by the generated tests.
			src, _ := os.ReadFile(filepath.Join(dir, "access.rego"))
			broken := strings.Replace(string(src), "parsed_shared.ids[2]", "parsed_shared.ids[3]", 1)
			if broken == string(src) {
				t.Fatal("the rule to break is not in the generated policy")
			}
			os.WriteFile(filepath.Join(dir, "access.rego"), []byte(broken), 0o644)
			if out, _, err = runPolicy(t, "", "test", dir); err == nil || !strings.Contains(out, "test_decision_table") {
				t.Fatalf("broken policy passed: %v\n%s", err, out)
			}
		})
	}
}

func TestPolicyImportRejects(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"roles": ["superuser", "anonymous", "locked"], "items": ["x"], "actions": ["view"], "visibilities": ["public"],
		"limits": {"max": {"type": "int"}},
		"item_policy": {"x": {"valid_role_actions": ["fly"], "valid_visibilities": ["public"], "invalid_roles": []}},
		"role_policy": {"wizard": {"can_own_items": [], "allowed_actions_for_owned": [], "allowed_actions_for_other": {}}}}`), 0o600)
	_, stderr, err := runPolicy(t, "", "import", bad, "-o", filepath.Join(dir, "out"))
	if err == nil {
		t.Fatal("bad model imported")
	}
	for _, want := range []string{"limits.max: limit type without operator", `item_policy.x.valid_role_actions[0]: action "fly" not in actions`, "role_policy.wizard: unknown role"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestPolicyTestBuiltins(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "policies")
	out, _, err := runPolicy(t, "", "test", dir)
	if err != nil || !strings.HasSuffix(out, " passed, 0 failed\n") {
		t.Fatalf("%v\n%s", err, out)
	}
	// A threshold measures coverage and fails below it.
	out, _, err = runPolicy(t, "", "test", dir, "--threshold", "100.5")
	if err == nil || !strings.Contains(err.Error(), "is below the threshold 100.50%") || !strings.Contains(out, "0 failed, coverage ") {
		t.Fatalf("threshold over 100: %v\n%s", err, out)
	}
}

func TestPolicyEval(t *testing.T) {
	out, _, err := runPolicy(t, "", "eval", "--user-id", "2", "--role", "authenticated", "--action", "view",
		"--target-name", "dataset", "--target-owner", "1", "--visibility", "shared", "--shared-with", "2,5,6")
	if err != nil || !strings.Contains(out, `"allowed":true`) {
		t.Fatalf("%v %s", err, out)
	}
	batch := strings.Join([]string{
		`{"user_id": 2, "user_role": "staff", "action": "view", "target_name": "collection", "target_owner": 1, "target_visibility": "private", "target_sharedwith": ""}`,
		`{"user_id": 1, "user_role": "superuser", "limit_name": "max_requests", "value_to_check": 100}`,
		`{"user_id": 3, "user_role": "locked", "limit_name": "max_requests", "value_to_check": 0}`,
		`{"user_id": 1, "user_role": "wizard", "action": "view", "target_name": "dataset", "target_owner": 1, "target_visibility": "public", "target_sharedwith": ""}`,
		`not json`,
		// The server's argument rules: a boolean is not an integer (the
		// server refuses it too), and every argument is required.
		`{"user_id": true, "user_role": "superuser", "action": "view", "target_name": "dataset", "target_owner": 1, "target_visibility": "public", "target_sharedwith": ""}`,
		`{"user_role": "superuser", "limit_name": "max_requests", "value_to_check": 100}`,
	}, "\n")
	out, _, err = runPolicy(t, batch, "eval", "--batch")
	if err == nil || err.Error() != "eval --batch: 4 of 7 questions could not be decided (lines 4, 5, 6, 7)" {
		t.Fatalf("batch with error lines: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []bool{false, true, false, false, false, false, false}
	if len(lines) != len(want) {
		t.Fatalf("%d lines: %s", len(lines), out)
	}
	for i, l := range lines {
		var r struct {
			Allowed bool
			Rule    string
			Reason  string
			Error   string
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.Allowed != want[i] || (r.Reason == "" && r.Error == "") || (r.Error == "" && r.Rule == "") {
			t.Errorf("line %d: %s", i+1, l)
		}
	}
	if !strings.Contains(lines[3], "unknown role") || !strings.Contains(lines[4], "not a JSON object") ||
		!strings.Contains(lines[5], "user-check-access has invalid parameters: user_id: ") ||
		!strings.Contains(lines[6], "user-check-limit has invalid parameters: user_id: missing") {
		t.Fatalf("errors not reported: %s", out)
	}
	// The custom model applies as for the server.
	out, _, err = runPolicy(t, "", "eval", "--permissions", filepath.Join("..", "..", "testdata", "permissions", "custom-permissions-model.json"),
		"--input", `{"user_id": 4, "user_role": "member", "action": "write", "target_name": "document", "target_owner": 4, "target_visibility": "private", "target_sharedwith": ""}`)
	if err != nil || !strings.Contains(out, `"allowed":true`) {
		t.Fatalf("custom model: %v %s", err, out)
	}
}

// TestPolicyEvalBatchExitCodes: `policy eval --batch` answers every line,
// then exits 1 when any line could not be decided, 0 otherwise.
func TestPolicyEvalBatchExitCodes(t *testing.T) {
	t.Parallel()
	good := `{"user_id": 1, "user_role": "superuser", "limit_name": "max_requests", "value_to_check": 100}`
	tests := []struct {
		name  string
		stdin string
		code  int
		lines int
		err   string
	}{
		{"all decided", good + "\n\n" + good + "\n", 0, 2, ""},
		{"a denial is a decision", `{"user_id": 3, "user_role": "locked", "limit_name": "max_requests", "value_to_check": 0}`, 0, 1, ""},
		{"error lines", good + "\nnot json\n" + good + "\n[1]\n", 1, 4, "authnzrv: eval --batch: 2 of 4 questions could not be decided (lines 2, 4)\n"},
		{"empty input", "", 0, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := cli(t, nil, tc.stdin, "policy", "eval", "--batch")
			if r.code != tc.code || strings.Count(r.stdout, "\n") != tc.lines || r.stderr != tc.err {
				t.Fatalf("exit %d, %d lines, stderr %q; want %d, %d, %q", r.code, strings.Count(r.stdout, "\n"), r.stderr, tc.code, tc.lines, tc.err)
			}
		})
	}
}
