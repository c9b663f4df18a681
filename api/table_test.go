package api

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// specRequests is testdata/spec/requests.json: the argument schema of every
// request type as ../shared/spec/actions.md gives it.
type specRequests struct {
	Requests map[string]struct {
		Args   []specArg `json:"args"`
		Kwargs []specArg `json:"kwargs"`
	} `json:"requests"`
}

type specArg struct {
	Name  string   `json:"name"`
	Types []string `json:"types"`
}

// TestRequestTableMatchesSpec: every request type of the spec has exactly
// one entry, with the spec's arguments in the spec's order and types.
func TestRequestTableMatchesSpec(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../testdata/spec/requests.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec specRequests
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	if len(spec.Requests) != 38 {
		t.Fatalf("the spec lists %d request types, want 38", len(spec.Requests))
	}
	// authnzrv's own request types, with the same description.
	b, err = os.ReadFile("../testdata/spec/extensions.json")
	if err != nil {
		t.Fatal(err)
	}
	var ext specRequests
	if err := json.Unmarshal(b, &ext); err != nil {
		t.Fatal(err)
	}
	for name, r := range ext.Requests {
		if _, dup := spec.Requests[name]; dup {
			t.Errorf("%s is in the spec and in extensions.json", name)
		}
		spec.Requests[name] = r
	}
	count := map[string]int{}
	for _, r := range requestTable() {
		count[r.name]++
		if _, own := ext.Requests[r.name]; own != r.extension {
			t.Errorf("%s: marked as an extension %v, listed in extensions.json %v", r.name, r.extension, own)
		}
	}
	for name := range spec.Requests {
		if count[name] != 1 {
			t.Errorf("%s has %d table entries, want 1", name, count[name])
		}
	}
	idx, err := requestIndex()
	if err != nil {
		t.Fatal(err)
	}
	for name, rt := range idx {
		want, ok := spec.Requests[name]
		if !ok {
			t.Errorf("%s is in the table but not in the spec", name)
			continue
		}
		var args, kwargs []specArg
		for _, f := range rt.spec.fields {
			a := specArg{Name: f.name, Types: f.types}
			if f.kwarg {
				kwargs = append(kwargs, a)
			} else {
				args = append(args, a)
			}
		}
		if !argsEqual(args, want.Args) {
			t.Errorf("%s args = %v, spec %v", name, args, want.Args)
		}
		if !argsEqual(kwargs, want.Kwargs) {
			t.Errorf("%s kwargs = %v, spec %v", name, kwargs, want.Kwargs)
		}
		if !slices.Contains([]string{groupIP, groupUser, groupSession, groupAPIKey, groupInternal}, rt.group) {
			t.Errorf("%s: unknown rate-limit group %q", name, rt.group)
		}
		if rt.emailKey != "" && !slices.ContainsFunc(rt.spec.fields, func(f argField) bool { return f.name == rt.emailKey }) {
			t.Errorf("%s: e-mail bucket key %q is not an argument", name, rt.emailKey)
		}
		if rt.summary == "" {
			t.Errorf("%s has no summary", name)
		}
	}
}

func argsEqual(a, b []specArg) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !slices.Equal(a[i].Types, b[i].Types) {
			return false
		}
	}
	return true
}
