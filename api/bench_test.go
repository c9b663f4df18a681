package api_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authnzrv/authnzrv/api"
	"github.com/authnzrv/authnzrv/client"
	"github.com/authnzrv/authnzrv/engine/limiter"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// BenchmarkRoundTrip measures encrypted round trips through the whole HTTP
// stack: "noop" is a request type the server does not know (decrypt, parse,
// look up, encrypt the failure envelope), "session-exists" adds the session
// and user lookup, "user-check-access" a policy decision and three user
// lookups, "apikey-verify-nosession" two decisions' worth of checks and a key
// lookup. Run both in one invocation to compare their throughput:
//
//	go test -run XXX -bench RoundTrip -benchmem ./api/
func BenchmarkRoundTrip(b *testing.B) {
	e := newEnv(b, identitytest.SQLite(b))
	tok := e.newSession(nil)
	u4 := e.verifiedUser("four@example.org")
	r, err := e.c.Do(context.Background(), "apikey-new-nosession", newNoSessionBody(u4, "authenticated"))
	if err != nil || !r.Success {
		b.Fatalf("apikey: %v %+v", err, r)
	}
	var claims map[string]any
	if err := json.Unmarshal([]byte(str(r, "apikey")), &claims); err != nil {
		b.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	cases := []struct {
		name, request string
		body          map[string]any
		ok            bool
	}{
		{"noop", "bench-noop", map[string]any{}, false},
		{"session-exists", "session-exists", map[string]any{"session_token": tok}, true},
		{"user-check-access", "user-check-access", map[string]any{"user_id": u4, "user_role": "authenticated", "action": "view",
			"target_name": "dataset", "target_owner": u4, "target_visibility": "private", "target_sharedwith": ""}, true},
		{"apikey-verify-nosession", "apikey-verify-nosession", opBody(claims, u4, "authenticated"), true},
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

// generous keeps the policy's buckets but makes them large enough never to
// refuse, so that the benchmark measures the cost of deciding and drawing.
type generous struct{ inner limiter.Limiter }

func (g generous) Allow(ctx context.Context, bs []limiter.Bucket) (limiter.Result, error) {
	big := make([]limiter.Bucket, len(bs))
	for i, b := range bs {
		big[i] = limiter.Bucket{Key: b.Key, PerMinute: 1 << 30, Burst: 1 << 30}
	}
	return g.inner.Allow(ctx, big)
}

// BenchmarkRoundTripLimited is the no-op round trip with the rate-limit
// policy and enforcement on: in process, and in Redis when
// AUTHNZRV_TEST_REDIS is set.
//
//	go test -run XXX -bench RoundTripLimited -benchmem ./api/
func BenchmarkRoundTripLimited(b *testing.B) {
	local, err := limiter.NewLocal(100_000)
	if err != nil {
		b.Fatal(err)
	}
	kinds := []struct {
		name string
		l    limiter.Limiter
	}{{"none", nil}, {"local", local}}
	if url := os.Getenv("AUTHNZRV_TEST_REDIS"); url != "" {
		opt, err := redis.ParseURL(url)
		if err != nil {
			b.Fatal(err)
		}
		c := redis.NewClient(opt)
		b.Cleanup(func() { c.Close() })
		kinds = append(kinds, struct {
			name string
			l    limiter.Limiter
		}{"redis", limiter.NewRedis(c, "authnzrv-bench:"+client.NewReqID()+":", false)})
	}
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			e := newEnv(b, identitytest.SQLite(b), withOptions(func(o *api.Options) {
				if k.l != nil {
					o.Limiter = generous{k.l}
				}
			}))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if _, err := e.c.Do(ctx, "bench-noop", map[string]any{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
