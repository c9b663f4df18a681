package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// LimitInput is a user-check-limit question.
type LimitInput struct {
	Role      string
	LimitName string
	// Value is value_to_check as JSON.
	Value json.RawMessage
}

// Limit decides a user-check-limit question.
func (e *Engine) Limit(ctx context.Context, in LimitInput) (d Decision, err error) {
	start := time.Now()
	defer func() {
		e.observe(ctx, observation{kind: "limit", start: start, allowed: d.Allowed, rule: d.Rule, reason: d.Reason,
			err: err, input: func() string { return in.Role + "\x00" + in.LimitName + "\x00" + string(in.Value) }})
	}()
	r := e.cur.Load()
	obj, err := r.limitObject(in)
	if err != nil {
		return Decision{}, err
	}
	v, err := evalValue(ctx, r.limits, obj, withoutMemo)
	if err != nil {
		return Decision{}, err
	}
	outcome, _ := v.(string)
	d = limitDecision(outcome, in, r.model)
	switch outcome {
	case "unknown_role":
		return d, fmt.Errorf("%w %q", ErrUnknownRole, in.Role)
	case "no_limit", "passes", "fails":
		return d, nil
	}
	return Decision{}, fmt.Errorf("engine: unknown limit outcome %v", v)
}

// limitDecision is the decision of a limit outcome, worded with the
// request's details (the value as sent, the bound from the model).
func limitDecision(outcome string, in LimitInput, m *Model) Decision {
	shown := strings.TrimSpace(string(in.Value))
	if shown == "" {
		shown = "null"
	}
	bound, known := limitBound(m, in.Role, in.LimitName)
	d := Decision{Allowed: outcome == "passes" || outcome == "no_limit", Rule: outcome}
	switch {
	case outcome == "unknown_role":
		d.Reason = fmt.Sprintf("deny: unknown role '%s'", in.Role)
	case outcome == "no_limit":
		d.Reason = fmt.Sprintf("allow: role '%s' has no limit '%s'", in.Role, in.LimitName)
	case outcome == "passes" && known:
		d.Reason = fmt.Sprintf("allow: %s %s for role '%s' limit '%s'", shown, bound, in.Role, in.LimitName)
	case outcome == "passes":
		d.Reason = fmt.Sprintf("allow: %s passes limit '%s' of role '%s'", shown, in.LimitName, in.Role)
	case outcome == "fails" && known:
		d.Reason = fmt.Sprintf("deny: %s is not %s for role '%s' limit '%s'", shown, bound, in.Role, in.LimitName)
	case outcome == "fails":
		d.Reason = fmt.Sprintf("deny: %s fails limit '%s' of role '%s'", shown, in.LimitName, in.Role)
	default:
		d.Reason = "deny: " + outcome
	}
	return d
}

// limitBound words a limit of the model as "operator limit" ("lt 600"),
// for the reason of a decision; known is false when the model has no such
// limit (a policy of --policies decided).
func limitBound(m *Model, role, name string) (bound string, known bool) {
	if m == nil {
		return "", false
	}
	rr, ok := m.RolePolicy[role]
	if !ok {
		return "", false
	}
	l, ok := rr.Limits[name]
	if !ok {
		return "", false
	}
	lt, ok := m.Limits[l.Type]
	if !ok {
		return "", false
	}
	return lt.Operator + " " + l.Limit.String(), true
}
