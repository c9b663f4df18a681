package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Model is the JSON permissions model (permissions.md §1).
type Model struct {
	Roles        []string             `json:"roles"`
	Items        []string             `json:"items"`
	Actions      []string             `json:"actions"`
	Visibilities []string             `json:"visibilities"`
	Limits       map[string]LimitType `json:"limits"`
	ItemPolicy   map[string]ItemRule  `json:"item_policy"`
	RolePolicy   map[string]RoleRule  `json:"role_policy"`
}

// LimitType defines how a limit is compared.
type LimitType struct {
	Type     string `json:"type"`
	Operator string `json:"operator"`
}

// ItemRule constrains what can be granted on an item type.
type ItemRule struct {
	ValidRoleActions  []string `json:"valid_role_actions"`
	ValidVisibilities []string `json:"valid_visibilities"`
	InvalidRoles      []string `json:"invalid_roles"`
}

// RoleRule grants actions and sets limits for a role.
type RoleRule struct {
	Limits                 map[string]RoleLimit `json:"limits,omitempty"`
	CanOwnItems            []string             `json:"can_own_items"`
	AllowedActionsForOwned []string             `json:"allowed_actions_for_owned"`
	AllowedActionsForOther map[string][]string  `json:"allowed_actions_for_other"`
}

// RoleLimit is one limit of a role; an empty object means no limit.
type RoleLimit struct {
	Type  string      `json:"type,omitempty"`
	Limit json.Number `json:"limit,omitempty"`
}

// ModelError is a model problem at a JSON path.
type ModelError struct {
	Path    string
	Problem string
}

func (e ModelError) Error() string { return e.Path + ": " + e.Problem }

// ModelErrors are all the problems of a model.
type ModelErrors []ModelError

func (es ModelErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return "invalid permissions model: " + strings.Join(parts, "; ")
}

// ParseModel decodes and validates a model. Every problem is reported with
// its JSON path, e.g. "role_policy.wizard: unknown role (not in roles)".
func ParseModel(data []byte) (*Model, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("invalid permissions model: not a JSON object: %w", err)
	}
	var errs ModelErrors
	for _, k := range []string{"roles", "items", "actions", "visibilities", "item_policy", "role_policy"} {
		if _, ok := top[k]; !ok {
			errs = append(errs, ModelError{k, "missing"})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if errs = unknownKeys(data); len(errs) > 0 {
		return nil, errs
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m Model
	if err := dec.Decode(&m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, ModelErrors{{te.Field, fmt.Sprintf("is a JSON %s, want %s", te.Value, jsonKind(te.Type))}}
		}
		return nil, fmt.Errorf("invalid permissions model: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks that every name the policies use is declared and every
// limit is well-formed.
func (m *Model) Validate() error {
	var errs ModelErrors
	add := func(path, format string, a ...any) { errs = append(errs, ModelError{path, fmt.Sprintf(format, a...)}) }
	in := func(list []string, v string) bool { return slices.Contains(list, v) }
	for _, r := range []string{"superuser", "anonymous", "locked"} {
		if !in(m.Roles, r) {
			add("roles", "must contain %q", r)
		}
	}
	for _, name := range sortedKeys(m.Limits) {
		lt := m.Limits[name]
		p := "limits." + name
		if lt.Type != "int" && lt.Type != "float" {
			add(p+".type", "%q is not int or float", lt.Type)
		}
		if lt.Operator == "" {
			add(p, "limit type without operator")
		} else if lt.Operator != "gt" && lt.Operator != "lt" {
			add(p+".operator", "%q is not gt or lt", lt.Operator)
		}
	}
	for _, item := range sortedKeys(m.ItemPolicy) {
		rule := m.ItemPolicy[item]
		p := "item_policy." + item
		if !in(m.Items, item) {
			add(p, "unknown item (not in items)")
		}
		for i, a := range rule.ValidRoleActions {
			if !in(m.Actions, a) {
				add(fmt.Sprintf("%s.valid_role_actions[%d]", p, i), "action %q not in actions", a)
			}
		}
		for i, v := range rule.ValidVisibilities {
			if !in(m.Visibilities, v) {
				add(fmt.Sprintf("%s.valid_visibilities[%d]", p, i), "visibility %q not in visibilities", v)
			}
		}
		for i, r := range rule.InvalidRoles {
			if !in(m.Roles, r) {
				add(fmt.Sprintf("%s.invalid_roles[%d]", p, i), "role %q not in roles", r)
			}
		}
	}
	for _, role := range sortedKeys(m.RolePolicy) {
		rule := m.RolePolicy[role]
		p := "role_policy." + role
		if !in(m.Roles, role) {
			add(p, "unknown role (not in roles)")
		}
		for i, it := range rule.CanOwnItems {
			if !in(m.Items, it) {
				add(fmt.Sprintf("%s.can_own_items[%d]", p, i), "item %q not in items", it)
			}
		}
		for i, a := range rule.AllowedActionsForOwned {
			if !in(m.Actions, a) {
				add(fmt.Sprintf("%s.allowed_actions_for_owned[%d]", p, i), "action %q not in actions", a)
			}
		}
		for _, vis := range sortedKeys(rule.AllowedActionsForOther) {
			vp := p + ".allowed_actions_for_other." + vis
			if !in(m.Visibilities, vis) {
				add(vp, "visibility not in visibilities")
			}
			for i, a := range rule.AllowedActionsForOther[vis] {
				if !in(m.Actions, a) {
					add(fmt.Sprintf("%s[%d]", vp, i), "action %q not in actions", a)
				}
			}
		}
		for _, name := range sortedKeys(rule.Limits) {
			l := rule.Limits[name]
			lp := p + ".limits." + name
			if l.Type == "" && l.Limit == "" {
				continue // an empty limit: no limit
			}
			if _, ok := m.Limits[l.Type]; !ok {
				add(lp+".type", "limit type %q not in limits", l.Type)
			}
			if _, err := l.Limit.Float64(); err != nil {
				add(lp+".limit", "not a number")
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ErrUnknownRole is returned for a role the model does not define
// (user-check-access and user-check-limit answer "exception when checking
// the DB" for it, actions.md §8).
var ErrUnknownRole = errors.New("engine: unknown role")

// ErrMalformedList is a target_sharedwith value that is not a list of user
// ids.
var ErrMalformedList = errors.New("engine: malformed shared-with list")

// ErrBadValue is a value_to_check the limit policy cannot be asked about.
var ErrBadValue = errors.New("engine: unusable value")
