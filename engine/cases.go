package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/authnzrv/authnzrv/engine/limiter"
)

// Decision case files (testdata/decisions/*.json), in the manner of
// Cerbos's test suites: a file pins decisions of one kind as data, and the
// Go tests, the generic policies' Rego tests and `authnzrv policy test
// --cases` all run the same files.
//
//	{"description": "...", "kind": "access" | "limit" | "admin" | "ratelimit",
//	 "model": "default", "configs": {name: ratelimits} (ratelimit only),
//	 "cases": [...]}
//
// An access case is {"name"?, "input": <user-check-access body>, "allowed":
// bool, "rule"?: verdict}; a limit case {"input": <user-check-limit body>,
// "allowed", "rule"?}; an admin case the flat fields of PinnedAdmin; a
// ratelimit case PinnedRate.

// CaseFile is a decision case file.
type CaseFile struct {
	Description string                    `json:"description"`
	Kind        string                    `json:"kind"`
	Model       string                    `json:"model"`
	Configs     map[string]map[string]int `json:"configs,omitempty"`
	Cases       []json.RawMessage         `json:"cases"`
}

// PinnedAccess is one pinned access decision.
type PinnedAccess struct {
	Name  string `json:"name,omitempty"`
	Input struct {
		UserID           int64   `json:"user_id"`
		UserRole         string  `json:"user_role"`
		Action           string  `json:"action"`
		TargetName       string  `json:"target_name"`
		TargetOwner      int64   `json:"target_owner"`
		TargetVisibility string  `json:"target_visibility"`
		TargetSharedWith *string `json:"target_sharedwith"`
	} `json:"input"`
	Allowed bool   `json:"allowed"`
	Rule    string `json:"rule,omitempty"`
}

// AccessInput is the case's question.
func (c PinnedAccess) AccessInput() AccessInput {
	in := AccessInput{UserID: c.Input.UserID, Role: c.Input.UserRole, Action: c.Input.Action, TargetName: c.Input.TargetName,
		TargetOwner: c.Input.TargetOwner, TargetVisibility: c.Input.TargetVisibility}
	if c.Input.TargetSharedWith != nil {
		in.TargetSharedWith = *c.Input.TargetSharedWith
	}
	return in
}

// PinnedLimit is one pinned limit decision.
type PinnedLimit struct {
	Name  string `json:"name,omitempty"`
	Input struct {
		UserRole     string          `json:"user_role"`
		LimitName    string          `json:"limit_name"`
		ValueToCheck json.RawMessage `json:"value_to_check"`
	} `json:"input"`
	Allowed bool   `json:"allowed"`
	Rule    string `json:"rule,omitempty"`
}

// PinnedAdmin is one pinned administrative decision: the question's fields
// and the deny code ("" = allowed).
type PinnedAdmin struct {
	Op         string   `json:"op"`
	ActorID    int64    `json:"actor_id,omitempty"`
	ActorRole  string   `json:"actor_role,omitempty"`
	Session    bool     `json:"session,omitempty"`
	TargetID   int64    `json:"target_id,omitempty"`
	TargetRole string   `json:"target_role,omitempty"`
	Active     bool     `json:"active,omitempty"`
	Verified   bool     `json:"verified,omitempty"`
	Keys       []string `json:"keys,omitempty"`
	NewRole    string   `json:"new_role,omitempty"`
	Action     string   `json:"action,omitempty"`
	Superusers int      `json:"superusers,omitempty"`
	Deny       string   `json:"deny"`
}

// AdminInput is the case's question.
func (c PinnedAdmin) AdminInput() AdminInput {
	return AdminInput{
		Op:     c.Op,
		Actor:  AdminUser{UserID: c.ActorID, Role: c.ActorRole, Session: c.Session},
		Target: AdminUser{UserID: c.TargetID, Role: c.TargetRole, Active: c.Active, Verified: c.Verified},
		Keys:   c.Keys, NewRole: c.NewRole, Action: c.Action, Superusers: c.Superusers,
	}
}

// PinnedRate is one pinned rate-limit decision.
type PinnedRate struct {
	Config       string   `json:"config"`
	Request      string   `json:"request"`
	Group        string   `json:"group"`
	EmailRequest bool     `json:"email_request"`
	Has          []string `json:"has"`
	Refuse       string   `json:"refuse"`
	Buckets      []struct {
		Kind      string `json:"kind"`
		PerMinute int    `json:"per_minute"`
		Burst     int    `json:"burst"`
	} `json:"buckets"`
}

// CaseFailure is a case whose decision differs from the pinned one.
type CaseFailure struct {
	Index int
	Case  string
	Got   string
	Want  string
}

func (f CaseFailure) String() string {
	return fmt.Sprintf("case %d %s: got %s, want %s", f.Index, f.Case, f.Got, f.Want)
}

// CaseReport is the outcome of a case file.
type CaseReport struct {
	Kind     string
	Cases    int
	Failures []CaseFailure
}

// ParseCaseFile reads a decision case file.
func ParseCaseFile(b []byte) (*CaseFile, error) {
	var f CaseFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("engine: case file: %w", err)
	}
	switch f.Kind {
	case "access", "limit", "admin", "ratelimit":
	default:
		return nil, fmt.Errorf("engine: case file: unknown kind %q (want access, limit, admin or ratelimit)", f.Kind)
	}
	if len(f.Cases) == 0 {
		return nil, fmt.Errorf("engine: case file has no cases")
	}
	return &f, nil
}

// RunCases decides every case of f with engines made from base (one per
// configuration of a ratelimit file) and reports the cases that differ.
func RunCases(ctx context.Context, base Options, f *CaseFile) (*CaseReport, error) {
	rep := &CaseReport{Kind: f.Kind, Cases: len(f.Cases)}
	engines := map[string]*Engine{}
	engineFor := func(config string) (*Engine, error) {
		if e, ok := engines[config]; ok {
			return e, nil
		}
		o := base
		if f.Kind == "ratelimit" {
			conf, ok := f.Configs[config]
			if !ok && config != "" {
				return nil, fmt.Errorf("engine: case file: no configuration %q", config)
			}
			o.RateLimits = conf
		}
		e, err := New(ctx, o)
		if err != nil {
			return nil, err
		}
		engines[config] = e
		return e, nil
	}
	for i, raw := range f.Cases {
		name, got, want, err := runCase(ctx, f.Kind, raw, engineFor)
		if err != nil {
			return nil, fmt.Errorf("engine: case %d: %w", i, err)
		}
		if got != want {
			rep.Failures = append(rep.Failures, CaseFailure{Index: i, Case: name, Got: got, Want: want})
		}
	}
	return rep, nil
}

// runCase decides one case and renders the decision and the pinned one
// comparably.
func runCase(ctx context.Context, kind string, raw json.RawMessage, engineFor func(string) (*Engine, error)) (name, got, want string, err error) {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	switch kind {
	case "access":
		var c PinnedAccess
		if err := dec.Decode(&c); err != nil {
			return "", "", "", err
		}
		e, err := engineFor("")
		if err != nil {
			return "", "", "", err
		}
		in := c.AccessInput()
		d, _ := e.Access(ctx, in)
		return caseName(c.Name, in), verdictText(d.Allowed, d.Rule, c.Rule != ""), verdictText(c.Allowed, c.Rule, c.Rule != ""), nil
	case "limit":
		var c PinnedLimit
		if err := dec.Decode(&c); err != nil {
			return "", "", "", err
		}
		e, err := engineFor("")
		if err != nil {
			return "", "", "", err
		}
		in := LimitInput{Role: c.Input.UserRole, LimitName: c.Input.LimitName, Value: c.Input.ValueToCheck}
		d, _ := e.Limit(ctx, in)
		return caseName(c.Name, in.Role+" "+in.LimitName+" "+string(in.Value)), verdictText(d.Allowed, d.Rule, c.Rule != ""),
			verdictText(c.Allowed, c.Rule, c.Rule != ""), nil
	case "admin":
		var c PinnedAdmin
		if err := dec.Decode(&c); err != nil {
			return "", "", "", err
		}
		e, err := engineFor("")
		if err != nil {
			return "", "", "", err
		}
		d, err := e.Admin(ctx, c.AdminInput())
		if err != nil {
			return "", "", "", err
		}
		deny := d.Rule
		if d.Allowed {
			deny = ""
		}
		return fmt.Sprintf("%+v", c.AdminInput()), "deny=" + deny, "deny=" + c.Deny, nil
	default: // ratelimit
		var c PinnedRate
		if err := dec.Decode(&c); err != nil {
			return "", "", "", err
		}
		e, err := engineFor(c.Config)
		if err != nil {
			return "", "", "", err
		}
		req := limiter.Request{Type: c.Request, Group: c.Group, EmailRequest: c.EmailRequest, ClientIP: "ip"}
		for _, h := range c.Has {
			switch h {
			case "email":
				req.Email = "em"
			case "user":
				req.UserID = 7
			case "session":
				req.Session = "se"
			case "apikey":
				req.APIKey = "ak"
			}
		}
		d, err := e.RateLimits(ctx, req)
		if err != nil {
			return "", "", "", err
		}
		var gotB, wantB []string
		for _, b := range d.Buckets {
			kind, _, _ := strings.Cut(b.Key, ":")
			gotB = append(gotB, fmt.Sprintf("%s/%d/%d", kind, b.PerMinute, b.Burst))
		}
		for _, b := range c.Buckets {
			wantB = append(wantB, fmt.Sprintf("%s/%d/%d", b.Kind, b.PerMinute, b.Burst))
		}
		name := fmt.Sprintf("%s %s %v", c.Config, c.Request, c.Has)
		return name, fmt.Sprintf("refuse=%q buckets=%v", d.Refuse, gotB), fmt.Sprintf("refuse=%q buckets=%v", c.Refuse, wantB), nil
	}
}

func caseName(name string, in any) string {
	if name != "" {
		return name
	}
	return fmt.Sprintf("%+v", in)
}

func verdictText(allowed bool, rule string, withRule bool) string {
	s := fmt.Sprintf("allowed=%t", allowed)
	if withRule {
		s += " rule=" + rule
	}
	return s
}
