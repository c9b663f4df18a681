package api_test

import (
	"context"
	"testing"

	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// BenchmarkRoundTrip measures encrypted round trips through the whole HTTP
// stack: "noop" is a request type the server does not know (decrypt, parse,
// look up, encrypt the failure envelope), "session-exists" adds the session
// and user lookup. Run both in one invocation to compare their throughput:
//
//	go test -run XXX -bench RoundTrip -benchmem ./api/
func BenchmarkRoundTrip(b *testing.B) {
	e := newEnv(b, identitytest.SQLite(b))
	tok := e.newSession(nil)
	cases := []struct {
		name, request string
		body          map[string]any
		ok            bool
	}{
		{"noop", "bench-noop", map[string]any{}, false},
		{"session-exists", "session-exists", map[string]any{"session_token": tok}, true},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					r, err := e.c.Do(ctx, bc.request, bc.body)
					if err != nil || r.Success != bc.ok {
						b.Fatalf("%s: %v %+v", bc.request, err, r)
					}
				}
			})
		})
	}
}
