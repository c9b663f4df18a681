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
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"go.opentelemetry.io/otel/trace"
)

//go:embed defaultmodel/default-permissions-model.json
var defaultModel []byte

// DefaultModel returns the reference's default permissions model (JSON).
func DefaultModel() []byte { return bytes.Clone(defaultModel) }

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
	// Observer, when set, is told of every decision (metrics).
	Observer Observer
	// Tracer, when set, records a span per decision (OpenTelemetry).
	Tracer trace.Tracer
	// DecisionLog, when set, receives one JSON line per decision.
	DecisionLog io.Writer
	// PII hashes user ids for the decision log (nil: ids are left out).
	PII func(any) string
	// HawkSenders are the Hawk senders' endpoint lists (--hawksenders),
	// data for the Hawk policy (policies/authnzrv/hawk).
	HawkSenders map[string][]string
	// Admit, when set, is asked about every policy set before it serves:
	// at New, at every Reload (SIGHUP, Watch) and at Recheck. An error
	// refuses the set (at a reload the active one keeps serving). The
	// server checks there that the model defines every role it assigns
	// and every role its users hold.
	Admit func(ctx context.Context, a Admission) error
	// Now is the clock of LastLoad (nil: time.Now); tests inject one.
	Now func() time.Time
}

// Admission is a policy set about to serve, as Options.Admit sees it.
type Admission struct {
	// Model is the set's permissions model.
	Model *Model
	// ModelName names the model in messages: its file's base name, or
	// "the default permissions model".
	ModelName string
	// Assigned are the roles the set's role-assignment policy can name.
	Assigned []AssignedRole
}

// LoadStatus is the outcome of the latest load of the policies: the one at
// New until the first Reload, then the latest Reload's.
type LoadStatus struct {
	// Time is when the load ended.
	Time time.Time
	// Reload is false for the load at New.
	Reload bool
	// Err is the one-line reason a reload was refused ("" when the new set
	// was swapped in).
	Err string
	// Revision is the revision serving after the load.
	Revision string
}

// Queries the server prepares.
const (
	accessQuery = "data.authnzrv.access.verdict"
	limitsQuery = "data.authnzrv.limits.outcome"
	rateQuery   = "data.authnzrv.ratelimit.decision"
	adminQuery  = "data.authnzrv.admin.decision"
	rolesQuery  = "data.authnzrv.roles.assignment"
)

// revision is one compiled policy set with its prepared queries.
type revision struct {
	id    string
	model *Model
	// modelName names the model in messages.
	modelName string
	// assigned are the roles the role-assignment policy can name.
	assigned []AssignedRole
	// terms holds the model's names as terms, shared by every input of
	// this revision (terms are never modified), which spares the
	// allocations of making them per request.
	terms  map[string]*ast.Term
	access rego.PreparedEvalQuery
	limits rego.PreparedEvalQuery
	rate   rego.PreparedEvalQuery
	admin  rego.PreparedEvalQuery
	roles  rego.PreparedEvalQuery
	hawk   rego.PreparedEvalQuery
}

// Cache sizes. An access verdict entry is a 32-byte key and a short
// string (about 100 bytes with the LRU's bookkeeping: 16384 entries take
// under 2 MiB); a rate plan is one per request type, group and identifier
// mix.
const (
	accessCacheSize   = 16384
	ratePlanCacheSize = 4096
)

// Engine decides. It is safe for concurrent use.
type Engine struct {
	o      Options
	log    *slog.Logger
	cur    atomic.Pointer[revision]
	reload sync.Mutex
	// cache holds the verdicts of recent access decisions by a digest of
	// revision and input (a decision depends on nothing else, design.md
	// §2): fixed-size keys and values, whatever the input's size.
	cache *lru.Cache[accessKey, string]
	// plans holds the rate-limit policy's answers (ratelimit.go).
	plans *lru.Cache[ratePlanKey, *ratePlan]
	// dlog is the decision log (nil: off).
	dlog *decisionLog
	// last is the latest load's outcome (LastLoad).
	last atomic.Pointer[LoadStatus]
}

// New loads, compiles and tests the policies.
func New(ctx context.Context, o Options) (*Engine, error) {
	cache, err := lru.New[accessKey, string](accessCacheSize)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	plans, err := lru.New[ratePlanKey, *ratePlan](ratePlanCacheSize)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	e := &Engine{o: o, log: o.Logger, cache: cache, plans: plans}
	if o.DecisionLog != nil {
		e.dlog = &decisionLog{w: o.DecisionLog, pii: o.PII}
	}
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if e.o.Now == nil {
		e.o.Now = time.Now
	}
	r, err := e.build(ctx)
	if err != nil {
		return nil, err
	}
	e.cur.Store(r)
	e.last.Store(&LoadStatus{Time: e.o.Now(), Revision: r.id})
	return e, nil
}

// Revision identifies the active policy set (a digest of its sources).
func (e *Engine) Revision() string { return e.cur.Load().id }

// Roles are the role names of the active model.
func (e *Engine) Roles() []string { return append([]string(nil), e.cur.Load().model.Roles...) }

// Model returns the active permissions model.
func (e *Engine) Model() *Model { return e.cur.Load().model }

// AssignedRoles are the roles the active role-assignment policy can name
// (see assignableRoles).
func (e *Engine) AssignedRoles() []AssignedRole {
	return slices.Clone(e.cur.Load().assigned)
}

// LastLoad returns the outcome of the latest load (GET /health shows it).
func (e *Engine) LastLoad() LoadStatus { return *e.last.Load() }

// Reload compiles the policies and model again, runs their tests, asks
// Options.Admit and swaps the new set in; on any failure the active set
// stays and the error says why. LastLoad records the outcome.
func (e *Engine) Reload(ctx context.Context) error {
	e.reload.Lock()
	defer e.reload.Unlock()
	r, err := e.build(ctx)
	if err != nil {
		e.last.Store(&LoadStatus{Time: e.o.Now(), Reload: true, Err: oneLine(err), Revision: e.Revision()})
		return err
	}
	e.cur.Store(r)
	e.last.Store(&LoadStatus{Time: e.o.Now(), Reload: true, Revision: r.id})
	return nil
}

// Recheck asks Options.Admit again about the active set, e.g. once the
// database it consults is open. It changes nothing.
func (e *Engine) Recheck(ctx context.Context) error {
	if e.o.Admit == nil {
		return nil
	}
	r := e.cur.Load()
	return e.o.Admit(ctx, Admission{Model: r.model, ModelName: r.modelName, Assigned: slices.Clone(r.assigned)})
}

// oneLine keeps an error message to one line.
func oneLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", " ")
}
