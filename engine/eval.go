package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/open-policy-agent/opa/ast"
	"github.com/open-policy-agent/opa/topdown"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
)

var noMetrics = rego.EvalMetrics(metrics.NoOp())

// neverCancel spares each evaluation the goroutine that watches its
// context: decisions are short and the request's own deadline bounds the
// whole request.
var neverCancel = rego.EvalExternalCancel(topdown.NewCancel())

// noMemo is a cache of rule values that keeps nothing. The compiled access
// and limit policies evaluate each rule about once per decision, so OPA's
// per-evaluation memo of rule values costs more than it saves there (a
// fifth of the allocations, 8-13 % of the time); the rate-limit policy,
// which refers to its rules many times, keeps the memo.
type noMemo struct{}

func (noMemo) Push()                         {}
func (noMemo) Pop()                          {}
func (noMemo) Get(ast.Ref) (*ast.Term, bool) { return nil, false }
func (noMemo) Put(ast.Ref, *ast.Term)        {}
func (noMemo) Keys() []ast.Ref               { return nil }

// Whether an evaluation keeps OPA's memo of rule values.
const (
	withMemo    = true
	withoutMemo = false
)

var noMemoCache = rego.EvalVirtualCache(noMemo{})

// evalValue runs a prepared query and returns its single value.
func evalValue(ctx context.Context, pq rego.PreparedEvalQuery, input ast.Value, memo bool) (any, error) {
	var rs rego.ResultSet
	var err error
	if memo {
		rs, err = pq.Eval(ctx, rego.EvalParsedInput(input), noMetrics, neverCancel)
	} else {
		rs, err = pq.Eval(ctx, rego.EvalParsedInput(input), noMetrics, neverCancel, noMemoCache)
	}
	if err != nil {
		return nil, fmt.Errorf("engine: eval: %w", err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, errors.New("engine: the policy gave no decision")
	}
	return rs[0].Expressions[0].Value, nil
}

// eval runs a prepared query whose value is an object.
func eval(ctx context.Context, pq rego.PreparedEvalQuery, input ast.Value) (map[string]any, error) {
	x, err := evalValue(ctx, pq, input, withMemo)
	if err != nil {
		return nil, err
	}
	v, ok := x.(map[string]any)
	if !ok {
		return nil, errors.New("engine: the policy's decision is not an object")
	}
	return v, nil
}
