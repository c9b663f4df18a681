// Package engine makes authnzrv's access, limit and rate-limit decisions
// with Rego (OPA v1, embedded). It loads the built-in policies of package
// policies, an optional directory of the user's own Rego, and the JSON
// permissions model, which it compiles into specialised Rego (see Compile).
// One prepared query per decision kind is made once per policy revision;
// Reload swaps in a new revision atomically after compiling it and running
// its tests, and keeps the old one when that fails.
package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/authnzrv/authnzrv/engine/limiter"
	"github.com/authnzrv/authnzrv/policies"
)

//go:embed defaultmodel/default-permissions-model.json
var defaultModel []byte

// DefaultModel returns the reference's default permissions model (JSON).
func DefaultModel() []byte { return bytes.Clone(defaultModel) }

// AccessInput is a user-check-access question.
type AccessInput struct {
	UserID           int64
	Role             string
	Action           string
	TargetName       string
	TargetOwner      int64
	TargetVisibility string
	// TargetSharedWith is the raw comma-separated list ("", "none", "2,5").
	TargetSharedWith string
}

// LimitInput is a user-check-limit question.
type LimitInput struct {
	Role      string
	LimitName string
	// Value is value_to_check as JSON.
	Value json.RawMessage
}

// Decision is a policy's answer and the rule that decided it.
type Decision struct {
	Allowed bool `json:"allowed"`
	// Rule is the policy's one-word answer, naming the rule that decided:
	// for access "granted", "visibility gate closed", "not granted" or
	// "unknown role"; for limits "passes", "fails", "no_limit" or
	// "unknown_role".
	Rule string `json:"rule"`
	// Reason words the decision with the request's details.
	Reason string `json:"reason"`
}

// Options configure an Engine.
type Options struct {
	// PolicyDir holds the user's Rego (*.rego, tests *_test.rego). A
	// package authnzrv.access or authnzrv.limits there (e.g. the output of
	// `authnzrv policy import`) replaces the one compiled from the model.
	PolicyDir string
	// ModelFile is the JSON permissions model ("" = the default model).
	ModelFile string
	// RateLimits is the parsed ratelimits setting, data for the rate-limit
	// policy (nil = the built-in defaults).
	RateLimits map[string]int
	// Logger receives reload messages.
	Logger *slog.Logger
	// NoDecisionCache turns off the cache of recent access decisions
	// (benchmarks of the evaluation itself).
	NoDecisionCache bool
}

// Queries the server prepares.
const (
	accessQuery = "data.authnzrv.access.verdict"
	limitsQuery = "data.authnzrv.limits.outcome"
	rateQuery   = "data.authnzrv.ratelimit.decision"
)

// revision is one compiled policy set with its prepared queries.
type revision struct {
	id    string
	model *Model
	// terms holds the model's names as terms, shared by every input of
	// this revision (terms are never modified), which spares the
	// allocations of making them per request.
	terms  map[string]*ast.Term
	access rego.PreparedEvalQuery
	limits rego.PreparedEvalQuery
	rate   rego.PreparedEvalQuery
}

// Engine decides. It is safe for concurrent use.
type Engine struct {
	o      Options
	log    *slog.Logger
	cur    atomic.Pointer[revision]
	reload sync.Mutex
	// cache holds recent access decisions by revision and input (a
	// decision depends on nothing else, design.md §2).
	cache *lru.Cache[string, Decision]
	// rates caches rate-limit decisions the same way.
	rates *lru.Cache[string, limiter.Decision]
}

// New loads, compiles and tests the policies.
func New(ctx context.Context, o Options) (*Engine, error) {
	cache, err := lru.New[string, Decision](16384)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	rates, err := lru.New[string, limiter.Decision](16384)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	e := &Engine{o: o, log: o.Logger, cache: cache, rates: rates}
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r, err := e.build(ctx)
	if err != nil {
		return nil, err
	}
	e.cur.Store(r)
	return e, nil
}

// Revision identifies the active policy set (a digest of its sources).
func (e *Engine) Revision() string { return e.cur.Load().id }

// Roles are the role names of the active model.
func (e *Engine) Roles() []string { return append([]string(nil), e.cur.Load().model.Roles...) }

// Model returns the active permissions model.
func (e *Engine) Model() *Model { return e.cur.Load().model }

// Reload compiles the policies and model again, runs their tests and
// swaps the new set in; on any failure the active set stays and the error
// says why.
func (e *Engine) Reload(ctx context.Context) error {
	e.reload.Lock()
	defer e.reload.Unlock()
	r, err := e.build(ctx)
	if err != nil {
		return err
	}
	e.cur.Store(r)
	return nil
}

// source is one Rego file.
type source struct {
	name, text string
	test       bool
}

// readDir lists the .rego files of a file system.
func readDir(fsys fs.FS, prefix string) ([]source, error) {
	var out []source
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".rego") {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		out = append(out, source{name: prefix + p, text: string(b), test: strings.HasSuffix(p, "_test.rego")})
		return nil
	})
	return out, err
}

// build makes a revision from the current files.
func (e *Engine) build(ctx context.Context) (*revision, error) {
	srcs, err := readDir(policies.FS, "builtin/")
	if err != nil {
		return nil, fmt.Errorf("built-in policies: %w", err)
	}
	if e.o.PolicyDir != "" {
		user, err := readDir(os.DirFS(e.o.PolicyDir), e.o.PolicyDir+"/")
		if err != nil {
			return nil, fmt.Errorf("policy directory: %w", err)
		}
		srcs = append(srcs, user...)
	}
	modelJSON, modelName := defaultModel, "the default permissions model"
	if e.o.ModelFile != "" {
		if modelJSON, err = os.ReadFile(e.o.ModelFile); err != nil {
			return nil, fmt.Errorf("permissions model: %w", err)
		}
		modelName = filepath.Base(e.o.ModelFile)
	}
	model, err := ParseModel(modelJSON)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", modelName, err)
	}
	modules := map[string]*ast.Module{}
	tests := map[string]*ast.Module{}
	provided := map[string]bool{}
	for _, s := range srcs {
		m, err := ast.ParseModuleWithOpts(s.name, s.text, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", s.name, err)
		}
		if s.test {
			tests[s.name] = m
			continue
		}
		modules[s.name] = m
		if !strings.HasPrefix(s.name, "builtin/") {
			provided[m.Package.Path.String()] = true
		}
	}
	compiled := Compile(model, modelName)
	for pkg, text := range map[string]string{"data.authnzrv.access": compiled.Access, "data.authnzrv.limits": compiled.Limits} {
		if provided[pkg] {
			continue
		}
		name := "compiled/" + strings.TrimPrefix(pkg, "data.authnzrv.") + ".rego"
		m, err := ast.ParseModuleWithOpts(name, text, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, fmt.Errorf("compiled model: %w", err)
		}
		srcs = append(srcs, source{name: name, text: text})
		modules[name] = m
	}
	data, err := storeData(model, e.o.RateLimits)
	if err != nil {
		return nil, err
	}
	newStore := func() storage.Store {
		return inmem.NewFromObjectWithOpts(data, inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))
	}
	compiler := ast.NewCompiler()
	if compiler.Compile(modules); compiler.Failed() {
		return nil, fmt.Errorf("compile policies: %w", compiler.Errors)
	}
	if err := runTests(ctx, modules, tests, newStore()); err != nil {
		return nil, err
	}
	// A replacement access or limits package must define what the engine
	// asks for (the output of `authnzrv policy import` does).
	for _, q := range []string{accessQuery, limitsQuery, rateQuery} {
		if len(compiler.GetRules(ast.MustParseRef(q))) == 0 {
			return nil, fmt.Errorf("policies: no rule defines %s", strings.TrimPrefix(q, "data."))
		}
	}
	store := newStore()
	prepare := func(q string) (rego.PreparedEvalQuery, error) {
		pq, err := rego.New(rego.ParsedQuery(ast.MustParseBody(q)), rego.Compiler(compiler), rego.Store(store)).PrepareForEval(ctx)
		if err != nil {
			return pq, fmt.Errorf("prepare %s: %w", q, err)
		}
		return pq, nil
	}
	r := &revision{model: model, id: digest(srcs, modelJSON, e.o.RateLimits), terms: modelTerms(model)}
	if r.access, err = prepare(accessQuery); err != nil {
		return nil, err
	}
	if r.limits, err = prepare(limitsQuery); err != nil {
		return nil, err
	}
	if r.rate, err = prepare(rateQuery); err != nil {
		return nil, err
	}
	return r, nil
}

// storeData is the policies' data: the model and the rate-limit settings.
func storeData(m *Model, rates map[string]int) (map[string]any, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	var model any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&model); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	rl := map[string]any{}
	for k, v := range rates {
		rl[k] = json.Number(fmt.Sprint(v))
	}
	return map[string]any{"authnzrv": map[string]any{"model": model, "ratelimits": rl}}, nil
}

// runTests runs the set's Rego tests; any failure refuses the set.
func runTests(ctx context.Context, modules, tests map[string]*ast.Module, store storage.Store) error {
	if len(tests) == 0 {
		return nil
	}
	all := make(map[string]*ast.Module, len(modules)+len(tests))
	for k, v := range modules {
		all[k] = v
	}
	for k, v := range tests {
		all[k] = v
	}
	ch, err := tester.NewRunner().SetStore(store).SetTimeout(time.Minute).Run(ctx, all)
	if err != nil {
		return fmt.Errorf("policy tests: %w", err)
	}
	var failed []string
	for r := range ch {
		if !r.Pass() && !r.Skip {
			failed = append(failed, fmt.Sprintf("%s.%s", r.Package, r.Name))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("policy tests failed: %s", strings.Join(failed, ", "))
	}
	return nil
}

// digest names a revision.
func digest(srcs []source, model []byte, rates map[string]int) string {
	sort.Slice(srcs, func(i, j int) bool { return srcs[i].name < srcs[j].name })
	h := sha256.New()
	for _, s := range srcs {
		fmt.Fprintf(h, "%s\x00%s\x00", s.name, s.text)
	}
	h.Write(model)
	rb, _ := json.Marshal(rates)
	h.Write(rb)
	return hex.EncodeToString(h.Sum(nil))[:12]
}

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

// Access decides a user-check-access question. An unknown role is
// ErrUnknownRole (with the deny decision).
func (e *Engine) Access(ctx context.Context, in AccessInput) (Decision, error) {
	r := e.cur.Load()
	if e.o.NoDecisionCache {
		return e.access(ctx, r, in)
	}
	key := strings.Join([]string{r.id, strconv.FormatInt(in.UserID, 10), in.Role, in.Action, in.TargetName,
		strconv.FormatInt(in.TargetOwner, 10), in.TargetVisibility, in.TargetSharedWith}, "\x00")
	if d, ok := e.cache.Get(key); ok {
		if d.Rule == VerdictUnknownRole {
			return d, fmt.Errorf("%w %q", ErrUnknownRole, in.Role)
		}
		return d, nil
	}
	d, err := e.access(ctx, r, in)
	if err == nil || errors.Is(err, ErrUnknownRole) {
		e.cache.Add(key, d)
	}
	return d, err
}

// access evaluates an access decision.
func (e *Engine) access(ctx context.Context, r *revision, in AccessInput) (Decision, error) {
	v, err := evalValue(ctx, r.access, r.accessObject(in), withoutMemo)
	if err != nil {
		return Decision{}, err
	}
	verdict, ok := v.(string)
	if !ok {
		return Decision{}, errors.New("engine: the access verdict is not a string")
	}
	d := accessDecision(verdict, in)
	if verdict == VerdictUnknownRole {
		return d, fmt.Errorf("%w %q", ErrUnknownRole, in.Role)
	}
	return d, nil
}

// Access verdicts of the compiled policy (package authnzrv.access, rule
// verdict); a replacement package may name other deny reasons.
const (
	VerdictGranted     = "granted"
	VerdictUnknownRole = "unknown role"
	VerdictGateClosed  = "visibility gate closed"
	VerdictNotGranted  = "not granted"
)

// accessDecision is the decision of a verdict, worded with the request's
// details (by concatenation: this runs on every uncached decision).
func accessDecision(verdict string, in AccessInput) Decision {
	q := func(s string) string { return "'" + s + "'" }
	whose := "owned by another user"
	if in.UserID == in.TargetOwner {
		whose = "it owns"
	}
	d := Decision{Allowed: verdict == VerdictGranted, Rule: verdict}
	switch verdict {
	case VerdictGranted:
		d.Reason = "allow: role " + q(in.Role) + " may " + q(in.Action) + " a " + q(in.TargetVisibility) + " " + q(in.TargetName) + " " + whose
	case VerdictUnknownRole:
		d.Reason = "deny: unknown role " + q(in.Role)
	case VerdictGateClosed:
		d.Reason = "deny: visibility gate closed: user " + strconv.FormatInt(in.UserID, 10) + " may not see a " + q(in.TargetVisibility) + " " + q(in.TargetName) +
			" of user " + strconv.FormatInt(in.TargetOwner, 10) + " (shared with " + q(in.TargetSharedWith) + ")"
	case VerdictNotGranted:
		d.Reason = "deny: not granted: role " + q(in.Role) + " may not " + q(in.Action) + " a " + q(in.TargetVisibility) + " " + q(in.TargetName) + " " + whose
	default:
		d.Reason = "deny: " + verdict
	}
	return d
}

// limitObject is the input of a limit decision: role, limit_name, the
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

// Limit decides a user-check-limit question.
func (e *Engine) Limit(ctx context.Context, in LimitInput) (Decision, error) {
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
	d := limitDecision(outcome, in, r.model)
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

// RateLimits asks the rate-limit policy which buckets a request draws from.
func (e *Engine) RateLimits(ctx context.Context, req limiter.Request) (limiter.Decision, error) {
	r := e.cur.Load()
	if e.o.NoDecisionCache {
		return e.rateLimits(ctx, r, req)
	}
	key := strings.Join([]string{r.id, req.Type, req.ClientIP, req.Email, strconv.FormatInt(req.UserID, 10), req.Session, req.APIKey}, "\x00")
	if d, ok := e.rates.Get(key); ok {
		return d, nil
	}
	d, err := e.rateLimits(ctx, r, req)
	if err == nil {
		e.rates.Add(key, d)
	}
	return d, err
}

func (e *Engine) rateLimits(ctx context.Context, r *revision, req limiter.Request) (limiter.Decision, error) {
	obj := ast.NewObject(
		[2]*ast.Term{ast.StringTerm("request"), ast.StringTerm(req.Type)},
		[2]*ast.Term{ast.StringTerm("client_ip"), ast.StringTerm(req.ClientIP)},
		[2]*ast.Term{ast.StringTerm("email"), ast.StringTerm(req.Email)},
		[2]*ast.Term{ast.StringTerm("user_id"), ast.IntNumberTerm(int(req.UserID))},
		[2]*ast.Term{ast.StringTerm("session"), ast.StringTerm(req.Session)},
		[2]*ast.Term{ast.StringTerm("apikey"), ast.StringTerm(req.APIKey)},
	)
	v, err := eval(ctx, r.rate, obj)
	if err != nil {
		return limiter.Decision{}, err
	}
	var d limiter.Decision
	d.Refuse, _ = v["refuse"].(string)
	list, _ := v["buckets"].([]any)
	for _, item := range list {
		m, _ := item.(map[string]any)
		key, _ := m["key"].(string)
		d.Buckets = append(d.Buckets, limiter.Bucket{Key: key, PerMinute: toInt(m["per_minute"]), Burst: toInt(m["burst"])})
	}
	return d, nil
}

func toInt(v any) int {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			f, _ := n.Float64()
			return int(f)
		}
		return int(i)
	case float64:
		return int(n)
	case int:
		return n
	}
	return 0
}
