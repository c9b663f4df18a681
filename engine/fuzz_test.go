package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/authnzrv/authnzrv/engine"
)

// FuzzParseSharedWith: target_sharedwith comes from the client. Parsing
// never panics, "no list" is exactly ""/"none", and a parsed list prints
// back to the same ids.
func FuzzParseSharedWith(f *testing.F) {
	for _, s := range []string{"", "none", " NoNe ", "2,5", " 5 , +6 ,1_0", "5,x", "5,", ",", "1__0", "-3", "99999999999999999999", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, present, err := engine.ParseSharedWith(s)
		empty := strings.ToLower(strings.TrimSpace(s))
		if (empty == "" || empty == "none") != !present {
			t.Fatalf("%q: present %v", s, present)
		}
		if err != nil {
			if ids != nil {
				t.Fatalf("%q: ids %v with error", s, ids)
			}
			return
		}
		if !present {
			return
		}
		if len(ids) != strings.Count(s, ",")+1 {
			t.Fatalf("%q: %d ids", s, len(ids))
		}
		parts := make([]string, len(ids))
		for i, id := range ids {
			parts[i] = strconv.FormatInt(id, 10)
		}
		again, _, err := engine.ParseSharedWith(strings.Join(parts, ","))
		if err != nil || !slices.Equal(again, ids) {
			t.Fatalf("%q: %v reparsed as %v %v", s, ids, again, err)
		}
	})
}

// FuzzAccessSharedWith: for any shared-with value the compiled policy the
// server uses agrees with the plain-Go procedure.
func FuzzAccessSharedWith(f *testing.F) {
	e := newEngine(f, engine.Options{NoDecisionCache: true})
	m, err := engine.ParseModel(engine.DefaultModel())
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "None", "2", "7", " 7 , 9", "5,x", "+7", "0_7"} {
		f.Add(s, int64(7), int64(9), "dataset", "authenticated", "view")
	}
	f.Fuzz(func(t *testing.T, shared string, user, owner int64, item, role, action string) {
		in := engine.AccessInput{UserID: user, Role: role, Action: action, TargetName: item, TargetOwner: owner, TargetVisibility: "shared", TargetSharedWith: shared}
		d, err := e.Access(context.Background(), in)
		if _, known := m.RolePolicy[role]; !known {
			if !errors.Is(err, engine.ErrUnknownRole) {
				t.Fatalf("%+v: %v", in, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("%+v: %v", in, err)
		}
		if want := engine.Decide(m, in); d.Allowed != want {
			t.Fatalf("%+v: engine %+v, plain Go %v", in, d, want)
		}
	})
}

// FuzzParseModel: a model file is user input. Parsing never panics; a model
// it accepts compiles to Rego that parses and compiles.
func FuzzParseModel(f *testing.F) {
	f.Add(engine.DefaultModel())
	f.Add([]byte(`{"roles": ["superuser", "anonymous", "locked"], "items": ["x"], "actions": ["a"], "visibilities": ["public"],
		"item_policy": {"x": {"valid_role_actions": ["a"], "valid_visibilities": ["public"], "invalid_roles": []}},
		"role_policy": {"anonymous": {"can_own_items": ["x"], "allowed_actions_for_owned": ["a"], "allowed_actions_for_other": {"public": ["a"]}}}}`))
	f.Add([]byte(`{"roles": "x"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := engine.ParseModel(data)
		if err != nil {
			return
		}
		c := engine.Compile(m, "fuzz.json")
		modules := map[string]*ast.Module{}
		for name, text := range c.Files() {
			mod, err := ast.ParseModuleWithOpts(name, text, ast.ParserOptions{RegoVersion: ast.RegoV1})
			if err != nil {
				t.Fatalf("%s does not parse: %v", name, err)
			}
			modules[name] = mod
		}
		comp := ast.NewCompiler()
		if comp.Compile(modules); comp.Failed() {
			t.Fatalf("compiled model does not compile: %v", comp.Errors)
		}
	})
}

// FuzzLimitValue: value_to_check is any JSON from the client. Limit never
// panics, and malformed JSON is an error, not a decision.
func FuzzLimitValue(f *testing.F) {
	e := newEngine(f, engine.Options{ModelFile: "../testdata/permissions/custom-permissions-model.json"})
	for _, v := range []string{"1", "-1.5", `"42"`, `" 1_0 "`, `"inf"`, `"nan"`, "1e400", "true", "null", `{"a":1}`, "[", ""} {
		f.Add("staff", "karma", v)
		f.Add("member", "uploads", v)
	}
	f.Fuzz(func(t *testing.T, role, name, value string) {
		d, err := e.Limit(context.Background(), engine.LimitInput{Role: role, LimitName: name, Value: json.RawMessage(value)})
		if err != nil {
			if d.Allowed {
				t.Fatalf("allowed with error %v", err)
			}
			return
		}
		if d.Reason == "" {
			t.Fatal("no reason")
		}
	})
}
