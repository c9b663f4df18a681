package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Input keys, made once (terms are never modified).
var (
	keyShared     = ast.StringTerm("shared")
	keyUserID     = ast.StringTerm("user_id")
	keyRole       = ast.StringTerm("role")
	keyAction     = ast.StringTerm("action")
	keyTarget     = ast.StringTerm("target_name")
	keyOwner      = ast.StringTerm("target_owner")
	keyVisibility = ast.StringTerm("target_visibility")
	keySharedWith = ast.StringTerm("target_sharedwith")
	keyMalformed  = ast.StringTerm("malformed")
	keyIDs        = ast.StringTerm("ids")
	keyLimitName  = ast.StringTerm("limit_name")
	keyValue      = ast.StringTerm("value")
	keyCast       = ast.StringTerm("cast")
	noList        = ast.ObjectTerm([2]*ast.Term{keyMalformed, ast.InternedTerm(false)}, [2]*ast.Term{keyIDs, ast.SetTerm()})
	badList       = ast.ObjectTerm([2]*ast.Term{keyMalformed, ast.InternedTerm(true)}, [2]*ast.Term{keyIDs, ast.SetTerm()})
)

// modelTerms makes a term of every name of the model.
func modelTerms(m *Model) map[string]*ast.Term {
	terms := map[string]*ast.Term{"": ast.InternedTerm("")}
	add := func(names ...string) {
		for _, n := range names {
			terms[n] = ast.StringTerm(n)
		}
	}
	if m == nil {
		return terms
	}
	add(m.Roles...)
	add(m.Items...)
	add(m.Actions...)
	add(m.Visibilities...)
	add(sortedKeys(m.RolePolicy)...)
	add(sortedKeys(m.ItemPolicy)...)
	for _, rr := range m.RolePolicy {
		add(sortedKeys(rr.Limits)...)
	}
	return terms
}

// term is s as a term: the revision's own for a name of the model.
func (r *revision) term(s string) *ast.Term {
	if t, ok := r.terms[s]; ok {
		return t
	}
	return ast.StringTerm(s)
}

// accessObject is the input of an access decision: the request's fields
// and, as "shared", its shared-with list parsed as the policy's
// parsed_shared would parse it ({"malformed": bool, "ids": set}).
func (r *revision) accessObject(in AccessInput) ast.Value {
	shared := noList
	if in.TargetSharedWith != "" {
		ids, _, err := ParseSharedWith(in.TargetSharedWith)
		switch {
		case err != nil:
			shared = badList
		case len(ids) > 0:
			idTerms := make([]*ast.Term, len(ids))
			for i, id := range ids {
				idTerms[i] = ast.InternedTerm(id)
			}
			shared = ast.ObjectTerm([2]*ast.Term{keyMalformed, ast.InternedTerm(false)}, [2]*ast.Term{keyIDs, ast.SetTerm(idTerms...)})
		}
	}
	return ast.NewObject(
		[2]*ast.Term{keyShared, shared},
		[2]*ast.Term{keyUserID, ast.InternedTerm(in.UserID)},
		[2]*ast.Term{keyRole, r.term(in.Role)},
		[2]*ast.Term{keyAction, r.term(in.Action)},
		[2]*ast.Term{keyTarget, r.term(in.TargetName)},
		[2]*ast.Term{keyOwner, ast.InternedTerm(in.TargetOwner)},
		[2]*ast.Term{keyVisibility, r.term(in.TargetVisibility)},
		[2]*ast.Term{keySharedWith, r.term(in.TargetSharedWith)},
	)
}

// value as sent, and as "cast" its Python int() and float() (casts).
func (r *revision) limitObject(in LimitInput) (ast.Value, error) {
	var val any
	if n, ok := jsonNumber(in.Value); ok {
		val = n // the usual case, without a decoder
	} else if len(in.Value) > 0 {
		dec := json.NewDecoder(bytes.NewReader(in.Value))
		dec.UseNumber()
		if err := dec.Decode(&val); err != nil {
			return nil, fmt.Errorf("%w: value_to_check: %w", ErrBadValue, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("%w: value_to_check: more than one JSON value", ErrBadValue)
		}
	}
	value, err := ast.InterfaceToValue(val)
	if err != nil {
		return nil, fmt.Errorf("%w: value_to_check: %w", ErrBadValue, err)
	}
	return ast.NewObject(
		[2]*ast.Term{keyRole, r.term(in.Role)},
		[2]*ast.Term{keyLimitName, r.term(in.LimitName)},
		[2]*ast.Term{keyValue, ast.NewTerm(value)},
		[2]*ast.Term{keyCast, ast.NewTerm(casts(val))},
	), nil
}

// jsonNumber reports whether b is one JSON number (whitespace around it
// allowed) and returns it.
func jsonNumber(b []byte) (json.Number, bool) {
	s := strings.Trim(string(b), " \t\r\n")
	i := 0
	digits := func() int {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - start
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return "", false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return "", false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return "", false
		}
	}
	return json.Number(s), i == len(s)
}
