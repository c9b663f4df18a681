package api_test

import (
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/authnzrv/authnzrv/api"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// TestTracing: with a tracer, each request is a span with its request type
// and outcome, and a policy decision is a child span.
func TestTracing(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { tp.Shutdown(t.Context()) })
	e := newEnv(t, identitytest.SQLite(t), withOptions(func(o *api.Options) { o.Tracer = tp.Tracer("test") }))
	u := e.verifiedUser("four@example.org")
	exp.Reset()
	e.do("user-check-access", map[string]any{"user_id": u, "user_role": "authenticated", "action": "view",
		"target_name": "dataset", "target_owner": u, "target_visibility": "private", "target_sharedwith": ""})
	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans: %v", len(spans), spans)
	}
	policy, req := spans[0], spans[1]
	if req.Name != "authnzrv user-check-access" || policy.Name != "policy access" || policy.Parent.SpanID() != req.SpanContext.SpanID() {
		t.Fatalf("spans %q (parent %v) and %q (%v)", policy.Name, policy.Parent.SpanID(), req.Name, req.SpanContext.SpanID())
	}
	attrs := map[string]string{}
	for _, a := range append(req.Attributes, policy.Attributes...) {
		attrs[string(a.Key)] = a.Value.Emit()
	}
	if attrs["authnzrv.outcome"] != "success" || attrs["authnzrv.request"] != "user-check-access" || attrs["authnzrv.allowed"] != "true" {
		t.Fatalf("attributes %v", attrs)
	}
}
