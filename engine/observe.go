package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Observer is told of every decision the engine makes (the server's
// Prometheus metrics implement it).
type Observer interface {
	// ObserveDecision records one decision of kind access, limit,
	// ratelimit or admin: its result, error and evaluation time.
	ObserveDecision(kind string, allowed bool, err error, d time.Duration)
}

type reqIDKey struct{}

// WithRequestID returns a context carrying the request's reqid, which the
// decision log records with each decision.
func WithRequestID(ctx context.Context, reqid string) context.Context {
	return context.WithValue(ctx, reqIDKey{}, reqid)
}

// observation is one decision, as the engine reports it.
type observation struct {
	kind    string
	start   time.Time
	allowed bool
	rule    string
	reason  string
	cached  bool
	err     error
	// input renders the decision's input for its digest (called only when
	// the decision log is on).
	input func() string
	// subject is the requesting user's id, or 0.
	subject int64
}

// observe reports a decision to the observer, the tracer and the decision
// log. The span is started after the fact, with the decision's start time,
// so that cached decisions cost no context allocation when tracing is off.
func (e *Engine) observe(ctx context.Context, o observation) {
	d := time.Since(o.start)
	if e.o.Observer != nil {
		e.o.Observer.ObserveDecision(o.kind, o.allowed, o.err, d)
	}
	if e.o.Tracer != nil {
		_, span := e.o.Tracer.Start(ctx, "policy "+o.kind, trace.WithTimestamp(o.start))
		span.SetAttributes(attribute.Bool("authnzrv.allowed", o.allowed), attribute.String("authnzrv.rule", o.rule),
			attribute.Bool("authnzrv.cached", o.cached))
		if o.err != nil {
			span.RecordError(o.err)
		}
		span.End()
	}
	if e.dlog != nil {
		e.dlog.write(ctx, e.cur.Load().id, o, d)
	}
}

// decisionLog writes one JSON line per decision, as OPA's decision logs
// do: the input's digest (never the input), the result, the rule that
// decided and the reason, with user ids hashed.
type decisionLog struct {
	mu  sync.Mutex
	w   io.Writer
	pii func(any) string
}

// logLine is one line of the decision log.
type logLine struct {
	Time     string  `json:"time"`
	ReqID    string  `json:"reqid,omitempty"`
	Kind     string  `json:"kind"`
	Revision string  `json:"revision"`
	Input    string  `json:"input_sha256"`
	Allowed  bool    `json:"allowed"`
	Rule     string  `json:"rule"`
	Reason   string  `json:"reason"`
	Subject  string  `json:"subject,omitempty"`
	Cached   bool    `json:"cached,omitempty"`
	Error    string  `json:"error,omitempty"`
	Millis   float64 `json:"eval_ms"`
}

func (l *decisionLog) write(ctx context.Context, rev string, o observation, d time.Duration) {
	line := logLine{
		Time: o.start.UTC().Format(time.RFC3339Nano), Kind: o.kind, Revision: rev,
		Allowed: o.allowed, Rule: o.rule, Reason: o.reason, Cached: o.cached,
		Millis: float64(d.Microseconds()) / 1000,
	}
	if id, ok := ctx.Value(reqIDKey{}).(string); ok {
		line.ReqID = id
	}
	if o.input != nil {
		sum := sha256.Sum256([]byte(o.input()))
		line.Input = hex.EncodeToString(sum[:])
	}
	if o.subject != 0 && l.pii != nil {
		line.Subject = l.pii(o.subject)
	}
	if o.err != nil {
		line.Error = o.err.Error()
	}
	b, err := json.Marshal(line)
	if err != nil {
		return
	}
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write(b)
}
