package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// hawkQuery is the Hawk sender access decision (policies/authnzrv/hawk).
const hawkQuery = "data.authnzrv.hawk.decision"

// HawkInput asks the Hawk policy whether a sender whose request signature
// verified may call a path of the Bergson Authenticator REST API.
type HawkInput struct {
	// Sender is the Hawk id.
	Sender string
	// Path is the request path (the /v1/account/... path an unversioned
	// alias stands for).
	Path string
}

// Hawk decides a Hawk sender's access to a path. The decision's Rule is
// "allowed" or "denied", its Reason the policy's words.
func (e *Engine) Hawk(ctx context.Context, in HawkInput) (d Decision, err error) {
	start := time.Now()
	defer func() {
		e.observe(ctx, observation{kind: "hawk", start: start, allowed: d.Allowed, rule: d.Rule, reason: d.Reason,
			err: err, input: func() string { return fmt.Sprint(in) }})
	}()
	obj := ast.NewObject(
		[2]*ast.Term{ast.InternedTerm("sender"), ast.StringTerm(in.Sender)},
		[2]*ast.Term{ast.InternedTerm("path"), ast.StringTerm(in.Path)},
	)
	v, err := eval(ctx, e.cur.Load().hawk, obj)
	if err != nil {
		return Decision{}, err
	}
	allowed, ok := v["allowed"].(bool)
	reason, _ := v["reason"].(string)
	if !ok {
		return Decision{}, errors.New("engine: the Hawk decision has no allowed flag")
	}
	rule := "denied"
	if allowed {
		rule = "allowed"
	}
	return Decision{Allowed: allowed, Rule: rule, Reason: reason}, nil
}

// hawkData is the Hawk policy's data: each sender's endpoint list (never
// its key).
func hawkData(senders map[string][]string) map[string]any {
	out := make(map[string]any, len(senders))
	for name, eps := range senders {
		list := make([]any, len(eps))
		for i, ep := range eps {
			list[i] = ep
		}
		out[name] = map[string]any{"endpoints": list}
	}
	return map[string]any{"senders": out}
}
