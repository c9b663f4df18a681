package engine_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/engine/limiter"
)

// Run with: go test -run XXX -bench . -benchmem ./engine/
// The PlainGo benchmark is the same decision in Go, for scale.

var (
	allowedIn = engine.AccessInput{UserID: 2, Role: "authenticated", Action: "view", TargetName: "dataset", TargetOwner: 1, TargetVisibility: "shared", TargetSharedWith: "2,5,6"}
	deniedIn  = engine.AccessInput{UserID: 2, Role: "staff", Action: "view", TargetName: "collection", TargetOwner: 1, TargetVisibility: "private"}
)

func BenchmarkAccessAllowedCached(b *testing.B) {
	e := newEngine(b, engine.Options{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if d, err := e.Access(ctx, allowedIn); err != nil || !d.Allowed {
			b.Fatal(d, err)
		}
	}
}

func BenchmarkAccessAllowed(b *testing.B) {
	e := newEngine(b, engine.Options{NoDecisionCache: true})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if d, err := e.Access(ctx, allowedIn); err != nil || !d.Allowed {
			b.Fatal(d, err)
		}
	}
}

func BenchmarkAccessDenied(b *testing.B) {
	e := newEngine(b, engine.Options{NoDecisionCache: true})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if d, err := e.Access(ctx, deniedIn); err != nil || d.Allowed {
			b.Fatal(d, err)
		}
	}
}

func BenchmarkRateDecisionCached(b *testing.B) {
	e := newEngine(b, engine.Options{})
	ctx := context.Background()
	req := limiter.Request{Type: "session-exists", Group: "session", ClientIP: "203.0.113.7", Session: "abc"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.RateLimits(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLimit(b *testing.B) {
	e := newEngine(b, engine.Options{})
	ctx := context.Background()
	in := engine.LimitInput{Role: "authenticated", LimitName: "max_requests", Value: json.RawMessage("1000")}
	b.ReportAllocs()
	for b.Loop() {
		if d, err := e.Limit(ctx, in); err != nil || !d.Allowed {
			b.Fatal(d, err)
		}
	}
}

func BenchmarkRateDecision(b *testing.B) {
	e := newEngine(b, engine.Options{NoDecisionCache: true})
	ctx := context.Background()
	req := limiter.Request{Type: "session-exists", Group: "session", ClientIP: "203.0.113.7", Session: "abc"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.RateLimits(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRateDecisionNewAddress: what a request from a client address
// never seen before costs (the plan is reused, only the keys are new).
func BenchmarkRateDecisionNewAddress(b *testing.B) {
	e := newEngine(b, engine.Options{})
	ctx := context.Background()
	req := limiter.Request{Type: "session-exists", Group: "session", Session: "abc"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		req.ClientIP = strconv.Itoa(i)
		if _, err := e.RateLimits(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGenericAccessAllowed(b *testing.B) {
	m, err := engine.ParseModel(engine.DefaultModel())
	if err != nil {
		b.Fatal(err)
	}
	pq := generic(b, m)
	b.ReportAllocs()
	for b.Loop() {
		if d := genericDecision(b, pq, allowedIn); !d.Allowed {
			b.Fatal(d)
		}
	}
}

func BenchmarkPlainGo(b *testing.B) {
	m, err := engine.ParseModel(engine.DefaultModel())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !engine.Decide(m, allowedIn) {
			b.Fatal("denied")
		}
	}
}
