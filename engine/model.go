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
// limit is well-formed. Every problem is reported with its JSON path.
func (m *Model) Validate() error {
	c := &modelCheck{m: m}
	for _, r := range []string{"superuser", "anonymous", "locked"} {
		if !slices.Contains(m.Roles, r) {
			c.add("roles", "must contain %q", r)
		}
	}
	for _, name := range sortedKeys(m.Limits) {
		c.limitType("limits."+name, m.Limits[name])
	}
	for _, item := range sortedKeys(m.ItemPolicy) {
		c.itemRule("item_policy."+item, item, m.ItemPolicy[item])
	}
	for _, role := range sortedKeys(m.RolePolicy) {
		c.roleRule("role_policy."+role, role, m.RolePolicy[role])
	}
	if len(c.errs) > 0 {
		return c.errs
	}
	return nil
}

// modelCheck collects the problems of a model.
type modelCheck struct {
	m    *Model
	errs ModelErrors
}

func (c *modelCheck) add(path, format string, a ...any) {
	c.errs = append(c.errs, ModelError{path, fmt.Sprintf(format, a...)})
}

// each reports every element of list not in declared, as "what %q not in
// where" at path[i].
func (c *modelCheck) each(path string, list, declared []string, what, where string) {
	for i, v := range list {
		if !slices.Contains(declared, v) {
			c.add(fmt.Sprintf("%s[%d]", path, i), "%s %q not in %s", what, v, where)
		}
	}
}

// limitType checks one entry of limits.
func (c *modelCheck) limitType(p string, lt LimitType) {
	if lt.Type != "int" && lt.Type != "float" {
		c.add(p+".type", "%q is not int or float", lt.Type)
	}
	switch lt.Operator {
	case "gt", "lt":
	case "":
		c.add(p, "limit type without operator")
	default:
		c.add(p+".operator", "%q is not gt or lt", lt.Operator)
	}
}

// itemRule checks one entry of item_policy.
func (c *modelCheck) itemRule(p, item string, rule ItemRule) {
	m := c.m
	if !slices.Contains(m.Items, item) {
		c.add(p, "unknown item (not in items)")
	}
	c.each(p+".valid_role_actions", rule.ValidRoleActions, m.Actions, "action", "actions")
	c.each(p+".valid_visibilities", rule.ValidVisibilities, m.Visibilities, "visibility", "visibilities")
	c.each(p+".invalid_roles", rule.InvalidRoles, m.Roles, "role", "roles")
}

// roleRule checks one entry of role_policy.
func (c *modelCheck) roleRule(p, role string, rule RoleRule) {
	m := c.m
	if !slices.Contains(m.Roles, role) {
		c.add(p, "unknown role (not in roles)")
	}
	c.each(p+".can_own_items", rule.CanOwnItems, m.Items, "item", "items")
	c.each(p+".allowed_actions_for_owned", rule.AllowedActionsForOwned, m.Actions, "action", "actions")
	for _, vis := range sortedKeys(rule.AllowedActionsForOther) {
		vp := p + ".allowed_actions_for_other." + vis
		if !slices.Contains(m.Visibilities, vis) {
			c.add(vp, "visibility not in visibilities")
		}
		c.each(vp, rule.AllowedActionsForOther[vis], m.Actions, "action", "actions")
	}
	for _, name := range sortedKeys(rule.Limits) {
		l, lp := rule.Limits[name], p+".limits."+name
		if l.Type == "" && l.Limit == "" {
			continue // an empty limit: no limit
		}
		if _, ok := m.Limits[l.Type]; !ok {
			c.add(lp+".type", "limit type %q not in limits", l.Type)
		}
		if _, err := l.Limit.Float64(); err != nil {
			c.add(lp+".limit", "not a number")
		}
	}
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
