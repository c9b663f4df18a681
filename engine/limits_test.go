package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/authnzrv/authnzrv/engine"
)

// plainLimit is permissions.md §6 in plain Go, written from the spec for
// these tests: ok reports the decision, unknown an unknown role. Only the
// value forms listed in limitValues are handled.
func plainLimit(m *engine.Model, role, name, raw string) (ok, unknown bool) {
	rr, known := m.RolePolicy[role]
	if !known {
		return false, true
	}
	rule, has := rr.Limits[name]
	if !has || (rule.Type == "" && rule.Limit == "") {
		return true, false
	}
	lt := m.Limits[rule.Type]
	limit, _ := strconv.ParseFloat(rule.Limit.String(), 64)
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return false, false
	}
	var value float64
	switch x := v.(type) {
	case bool:
		value = map[bool]float64{true: 1, false: 0}[x]
	case float64:
		value = x
	case string:
		s := strings.TrimSpace(x)
		if strings.Contains(s, "__") || strings.HasPrefix(s, "_") || strings.HasSuffix(s, "_") {
			return false, false // underscores only between digits
		}
		s = strings.ReplaceAll(s, "_", "")
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return false, false
		}
		if lt.Type == "int" && (strings.ContainsAny(s, ".eEnN") || math.IsInf(f, 0)) {
			return false, false // int("4.5"), int("1e3"), int("inf") fail
		}
		value = f
	default:
		return false, false
	}
	if lt.Type == "int" {
		value, limit = math.Trunc(value), math.Trunc(limit)
	}
	switch lt.Operator {
	case "gt":
		return value > limit, false
	case "lt":
		return value < limit, false
	}
	return false, false
}

// limitValues are value_to_check forms; generic marks those the generic
// Rego policy handles too (it has no infinities or NaN).
var limitValues = []struct {
	raw     string
	generic bool
}{
	{"0", true}, {"1", true}, {"-1", true}, {"4", true}, {"5", true}, {"5.9", true}, {"6", true},
	{"0.4", true}, {"0.5", true}, {"0.6", true}, {"-0.9", true}, {"99", true}, {"99.99", true},
	{"100", true}, {"100.5", true}, {"499", true}, {"500", true}, {"999", true}, {"1000", true},
	{"1e3", true}, {"99999", true}, {"100000", true}, {"599", true}, {"600", true}, {"6000", true},
	{"60000", true}, {"499999.9", true}, {"500000", true}, {"5000000", true}, {"100000000", true},
	{"true", true}, {"false", true}, {"null", true}, {`"42"`, true}, {`" 7 "`, true}, {`"+5"`, true},
	{`"-3"`, true}, {`"1_000"`, true}, {`"4.5"`, true}, {`"1e3"`, true}, {`"0.75"`, true},
	{`"x"`, true}, {`""`, true}, {`"1__0"`, true}, {"[1]", true}, {`{"a": 1}`, true},
	{`"inf"`, false}, {`"-Infinity"`, false}, {`"nan"`, false},
}

// TestLimitEquivalence: every role × limit name (plus unknown ones) ×
// value form decides the same in the compiled Rego the server uses, the
// generic Rego and plain Go.
func TestLimitEquivalence(t *testing.T) {
	for _, file := range []string{"default-permissions-model.json", "custom-permissions-model.json"} {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join("..", "testdata", "permissions", file)
			m := loadModel(t, path)
			e := newEngine(t, engine.Options{ModelFile: path})
			oracle := genericPolicy(t, m, "limits")
			roles := append(m.Roles, "nobody-role")
			names := []string{"no-such-limit"}
			for _, rr := range m.RolePolicy {
				for n := range rr.Limits {
					names = append(names, n)
				}
			}
			n, allowed := 0, 0
			for _, role := range roles {
				for _, name := range names {
					for _, v := range limitValues {
						d, err := e.Limit(context.Background(), engine.LimitInput{Role: role, LimitName: name, Value: json.RawMessage(v.raw)})
						want, unknown := plainLimit(m, role, name, v.raw)
						if unknown != errors.Is(err, engine.ErrUnknownRole) || (!unknown && err != nil) {
							t.Fatalf("%s %s %s: error %v", role, name, v.raw, err)
						}
						if d.Allowed != want || d.Reason == "" {
							t.Fatalf("%s %s %s: compiled %+v, plain Go %v", role, name, v.raw, d, want)
						}
						if v.generic {
							var val any
							_ = json.Unmarshal([]byte(v.raw), &val)
							rs, err := oracle.Eval(context.Background(), rego.EvalInput(map[string]any{"role": role, "limit_name": name, "value": val}))
							if err != nil || len(rs) != 1 {
								t.Fatalf("generic: %v %v", rs, err)
							}
							g := rs[0].Expressions[0].Value.(map[string]any)
							if g["allowed"] != want {
								t.Fatalf("%s %s %s: generic %v, plain Go %v", role, name, v.raw, g, want)
							}
						}
						n++
						if want {
							allowed++
						}
					}
				}
			}
			t.Logf("%d cases, %d allowed", n, allowed)
			if allowed == 0 || allowed == n {
				t.Fatal("degenerate table")
			}
		})
	}
}

// TestLimitReasons: the reason names the limit and operator that decided.
func TestLimitReasons(t *testing.T) {
	e := newEngine(t, engine.Options{})
	tests := []struct {
		role, name, value string
		want              string
	}{
		{"superuser", "max_requests", "100", "allow: 100 lt 5000000 for role 'superuser' limit 'max_requests'"},
		{"locked", "max_requests", "0", "deny: 0 is not lt 0 for role 'locked' limit 'max_requests'"},
		{"staff", "nope", "1", "allow: role 'staff' has no limit 'nope'"},
		{"wizard", "max_requests", "1", "deny: unknown role 'wizard'"},
	}
	for _, tc := range tests {
		d, _ := e.Limit(context.Background(), engine.LimitInput{Role: tc.role, LimitName: tc.name, Value: json.RawMessage(tc.value)})
		if d.Reason != tc.want {
			t.Errorf("%s %s %s: reason %q, want %q", tc.role, tc.name, tc.value, d.Reason, tc.want)
		}
	}
}

// TestAccessReasons: the reason names the rule that decided.
func TestAccessReasons(t *testing.T) {
	e := newEngine(t, engine.Options{})
	type c = engine.AccessInput
	tests := []struct {
		in   c
		want string
	}{
		{c{2, "staff", "list", "collection", 1, "private", ""}, "allow: role 'staff' may 'list' a 'private' 'collection' owned by another user"},
		{c{2, "staff", "view", "collection", 1, "private", ""}, "deny: not granted: role 'staff' may not 'view' a 'private' 'collection' owned by another user"},
		{c{2, "authenticated", "view", "dataset", 1, "shared", "5,6"}, "deny: visibility gate closed: user 2 may not see a 'shared' 'dataset' of user 1 (shared with '5,6')"},
		{c{2, "authenticated", "view", "object", 2, "public", ""}, "deny: not granted: role 'authenticated' may not 'view' a 'public' 'object' it owns"},
		{c{2, "wizard", "view", "object", 2, "public", ""}, "deny: unknown role 'wizard'"},
	}
	for _, tc := range tests {
		for range 2 { // the second answer comes from the cache
			d, _ := e.Access(context.Background(), tc.in)
			if d.Reason != tc.want {
				t.Errorf("%+v: reason %q, want %q", tc.in, d.Reason, tc.want)
			}
		}
	}
}

// TestCasts pins Python's int() and float() on value_to_check forms.
func TestCasts(t *testing.T) {
	tests := []struct {
		raw       string
		i         int64
		iok       bool
		f         float64
		fok       bool
		inf, nan_ bool
	}{
		{raw: "42.9", i: 42, iok: true, f: 42.9, fok: true},
		{raw: "-42.9", i: -42, iok: true, f: -42.9, fok: true},
		{raw: "true", i: 1, iok: true, f: 1, fok: true},
		{raw: `" 1_000 "`, i: 1000, iok: true, f: 1000, fok: true},
		{raw: `"4.5"`, f: 4.5, fok: true},
		{raw: `"1e3"`, f: 1000, fok: true},
		{raw: `"1_0.2_5"`, f: 10.25, fok: true},
		{raw: `"5."`, f: 5, fok: true},
		{raw: `"-INF"`, fok: true, inf: true},
		{raw: `"nan"`, fok: true, nan_: true},
		{raw: "1e400", fok: true, inf: true},
		{raw: "100000000000000000000", i: math.MaxInt64, iok: true, f: 1e20, fok: true},
		{raw: `"-100000000000000000000"`, i: math.MinInt64, iok: true, f: -1e20, fok: true},
		{raw: `"1__0"`},
		{raw: `"_1"`},
		{raw: `"0x10"`},
		{raw: "null"},
		{raw: "[1]"},
	}
	for _, tc := range tests {
		dec := json.NewDecoder(strings.NewReader(tc.raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		i, iok := engine.PyInt(v)
		f, fok := engine.PyFloat(v)
		if iok != tc.iok || (iok && i != tc.i) {
			t.Errorf("int(%s) = %d %v", tc.raw, i, iok)
		}
		switch {
		case fok != tc.fok:
			t.Errorf("float(%s) ok %v", tc.raw, fok)
		case tc.inf && !math.IsInf(f, 0), tc.nan_ && !math.IsNaN(f):
			t.Errorf("float(%s) = %v", tc.raw, f)
		case fok && !tc.inf && !tc.nan_ && f != tc.f:
			t.Errorf("float(%s) = %v, want %v", tc.raw, f, tc.f)
		}
	}
}
