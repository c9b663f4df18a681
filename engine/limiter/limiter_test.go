package limiter_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authnzrv/authnzrv/engine/limiter"
)

// EnvRedis names the environment variable holding the test Redis URL.
const EnvRedis = "AUTHNZRV_TEST_REDIS"

func redisClient(t testing.TB) *redis.Client {
	t.Helper()
	url := os.Getenv(EnvRedis)
	if url == "" {
		t.Skipf("%s is not set: skipping the Redis limiter tests (e.g. %s=redis://127.0.0.1:6379/0)", EnvRedis, EnvRedis)
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("%s: %v", EnvRedis, err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at %s: %v", url, err)
	}
	return c
}

func prefix() string {
	var b [6]byte
	rand.Read(b[:])
	return "authnzrv-test-" + hex.EncodeToString(b[:]) + ":"
}

// drain sends n requests one after the other and counts the admitted ones.
func drain(t *testing.T, l limiter.Limiter, n int, bs ...limiter.Bucket) (admitted int, last limiter.Result) {
	t.Helper()
	for range n {
		r, err := l.Allow(context.Background(), bs)
		if err != nil {
			t.Fatal(err)
		}
		if r.Allowed {
			admitted++
		}
		last = r
	}
	return admitted, last
}

func TestLimiters(t *testing.T) {
	kinds := map[string]func(t *testing.T) []limiter.Limiter{
		"local": func(t *testing.T) []limiter.Limiter {
			l, err := limiter.NewLocal(1000)
			if err != nil {
				t.Fatal(err)
			}
			return []limiter.Limiter{l, l}
		},
		"redis": func(t *testing.T) []limiter.Limiter {
			p := prefix()
			// Two clients, as two server instances would have.
			return []limiter.Limiter{limiter.NewRedis(redisClient(t), p, false), limiter.NewRedis(redisClient(t), p, false)}
		},
	}
	for name, mk := range kinds {
		t.Run(name, func(t *testing.T) {
			tests := []struct {
				name   string
				bucket limiter.Bucket
				sends  int
				admit  int
			}{
				// security.md §5.3's pinned counts: burst 150 at 120/min, 10 at
				// 10/min, 5 at 5/min (300 rapid requests each; at most one token
				// refills while they run).
				{"session burst", limiter.Bucket{Key: "ip:session-new:1.2.3.4", PerMinute: 120, Burst: 150}, 300, 150},
				{"user-list", limiter.Bucket{Key: "ip:user-list:1.2.3.4", PerMinute: 10, Burst: 10}, 300, 10},
				{"user-new", limiter.Bucket{Key: "ip:user-new:1.2.3.4", PerMinute: 5, Burst: 5}, 300, 5},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					ls := mk(t)
					// Split the sends over both "instances".
					a1, _ := drain(t, ls[0], tc.sends/2, tc.bucket)
					a2, last := drain(t, ls[1], tc.sends-tc.sends/2, tc.bucket)
					got := a1 + a2
					if got < tc.admit || got > tc.admit+1 {
						t.Fatalf("admitted %d of %d, want %d", got, tc.sends, tc.admit)
					}
					if last.Allowed || last.RetryAfter <= 0 || last.RetryAfter > time.Minute || last.Bucket != tc.bucket.Key {
						t.Fatalf("last result %+v", last)
					}
				})
			}
			t.Run("buckets are independent and all must admit", func(t *testing.T) {
				ls := mk(t)
				a := limiter.Bucket{Key: "ip:x:1", PerMinute: 60, Burst: 2}
				b := limiter.Bucket{Key: "email:x:someone", PerMinute: 60, Burst: 1}
				if n, _ := drain(t, ls[0], 3, a); n != 2 {
					t.Fatalf("a admitted %d", n)
				}
				c := limiter.Bucket{Key: "ip:x:2", PerMinute: 60, Burst: 5}
				if n, last := drain(t, ls[1], 3, c, b); n != 1 || last.Bucket != b.Key {
					t.Fatalf("c+b admitted %d, last %+v", n, last)
				}
			})
			t.Run("zero rate refuses", func(t *testing.T) {
				if n, _ := drain(t, mk(t)[0], 3, limiter.Bucket{Key: "z", PerMinute: 0, Burst: 0}); n != 0 {
					t.Fatalf("admitted %d", n)
				}
			})
			t.Run("concurrent draws never exceed the burst", func(t *testing.T) {
				ls := mk(t)
				bucket := limiter.Bucket{Key: "ip:concurrent:1", PerMinute: 1, Burst: 20}
				var wg sync.WaitGroup
				var mu sync.Mutex
				admitted := 0
				for i := range 100 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						r, err := ls[i%2].Allow(context.Background(), []limiter.Bucket{bucket})
						if err != nil {
							t.Error(err)
							return
						}
						if r.Allowed {
							mu.Lock()
							admitted++
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
				if admitted != 20 {
					t.Fatalf("admitted %d, want 20", admitted)
				}
			})
		})
	}
}

func TestLocalEvictsBeyondCapacity(t *testing.T) {
	l, err := limiter.NewLocal(2)
	if err != nil {
		t.Fatal(err)
	}
	first := limiter.Bucket{Key: "first", PerMinute: 1, Burst: 1}
	drain(t, l, 1, first) // empties "first"
	drain(t, l, 1, limiter.Bucket{Key: "second", PerMinute: 1, Burst: 1})
	drain(t, l, 1, limiter.Bucket{Key: "third", PerMinute: 1, Burst: 1})
	// "first" was evicted, so it starts full again: memory stays bounded.
	if n, _ := drain(t, l, 1, first); n != 1 {
		t.Fatal("evicted bucket did not start full")
	}
}

func TestRedisUnreachable(t *testing.T) {
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { dead.Close() })
	b := []limiter.Bucket{{Key: "k", PerMinute: 10, Burst: 10}}
	for _, open := range []bool{true, false} {
		r, err := limiter.NewRedis(dead, "p:", open).Allow(context.Background(), b)
		if err == nil || r.Allowed != open {
			t.Fatalf("failOpen=%v: result %+v err %v", open, r, err)
		}
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "1", 300 * time.Millisecond: "1", 1500 * time.Millisecond: "2", time.Minute: "60"} {
		if got := limiter.RetryAfterSeconds(d); got != want {
			t.Errorf("%v: %s, want %s", d, got, want)
		}
	}
}

func BenchmarkLocal(b *testing.B) {
	l, _ := limiter.NewLocal(100_000)
	bs := []limiter.Bucket{{Key: "ip:session-exists:203.0.113.7", PerMinute: 1 << 30, Burst: 1 << 30}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		l.Allow(ctx, bs)
	}
}

func BenchmarkRedis(b *testing.B) {
	l := limiter.NewRedis(redisClient(b), prefix(), false)
	bs := []limiter.Bucket{{Key: "ip:session-exists:203.0.113.7", PerMinute: 1 << 30, Burst: 1 << 30}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Allow(ctx, bs); err != nil {
			b.Fatal(err)
		}
	}
}

func TestReplayGuards(t *testing.T) {
	// The local guard runs on an injected clock; Redis expires keys on its
	// own clock, so that case waits.
	type guards struct {
		g    [2]limiter.ReplayGuard
		wait func(time.Duration)
	}
	kinds := map[string]func(t *testing.T) guards{
		"local": func(t *testing.T) guards {
			now := time.Unix(1_800_000_000, 0)
			g := limiter.NewLocalReplay(100, 300*time.Millisecond, limiter.WithReplayClock(func() time.Time { return now }))
			return guards{[2]limiter.ReplayGuard{g, g}, func(d time.Duration) { now = now.Add(d) }}
		},
		"redis": func(t *testing.T) guards {
			p := prefix()
			return guards{[2]limiter.ReplayGuard{
				limiter.NewRedisReplay(redisClient(t), p, 300*time.Millisecond, false),
				limiter.NewRedisReplay(redisClient(t), p, 300*time.Millisecond, false),
			}, time.Sleep}
		},
	}
	for name, mk := range kinds {
		t.Run(name, func(t *testing.T) {
			gs := mk(t)
			g := gs.g
			ctx := context.Background()
			steps := []struct {
				guard int
				key   string
				first bool
			}{{0, "a", true}, {1, "a", false}, {0, "a", false}, {1, "b", true}, {0, "b", false}}
			for i, s := range steps {
				first, err := g[s.guard].First(ctx, s.key)
				if err != nil || first != s.first {
					t.Fatalf("step %d: first=%v err=%v, want %v", i, first, err, s.first)
				}
			}
			gs.wait(600 * time.Millisecond) // past the lifetime the key is forgotten
			if first, err := g[1].First(ctx, "a"); err != nil || !first {
				t.Fatalf("after ttl: first=%v err=%v", first, err)
			}
		})
	}
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer dead.Close()
	for _, open := range []bool{true, false} {
		first, err := limiter.NewRedisReplay(dead, "p:", time.Second, open).First(context.Background(), "k")
		if err == nil || first != open {
			t.Fatalf("unreachable failOpen=%v: %v %v", open, first, err)
		}
	}
}

// TestLocalReplayRemembersForTheTTL: a token is refused again at any time
// within the TTL of its arrival, whichever slice it fell in, and forgotten
// at most one slice (TTL/15) after it.
func TestLocalReplayRemembersForTheTTL(t *testing.T) {
	t.Parallel()
	const ttl = 180 * time.Second
	start := time.Unix(1_800_000_000, 0)
	now := start
	g := limiter.NewLocalReplay(1_000_000, ttl, limiter.WithReplayClock(func() time.Time { return now }))
	ctx := context.Background()
	// A token every 700 ms for 10 minutes.
	arrived := map[string]time.Time{}
	for i := 0; now.Before(start.Add(10 * time.Minute)); i++ {
		key := fmt.Sprintf("token-%d", i)
		if first, err := g.First(ctx, key); !first || err != nil {
			t.Fatalf("%s at %v: first=%v err=%v", key, now.Sub(start), first, err)
		}
		arrived[key] = now
		// Every earlier token still within its TTL is refused; the ones
		// past TTL + TTL/15 were forgotten.
		if i%50 == 0 {
			for k, at := range arrived {
				age := now.Sub(at)
				if age < ttl {
					if first, _ := g.First(ctx, k); first {
						t.Fatalf("%s accepted again %v after its arrival (TTL %v)", k, age, ttl)
					}
				}
			}
		}
		now = now.Add(700 * time.Millisecond)
	}
	if n, most := g.Len(), int((ttl+ttl/15)/(700*time.Millisecond))+1; n > most {
		t.Fatalf("%d tokens remembered, at most %d live ones expected", n, most)
	}
	now = now.Add(ttl + ttl/15)
	if first, _ := g.First(ctx, "token-0"); !first || g.Len() != 1 {
		t.Fatalf("everything should have expired: len %d", g.Len())
	}
}

// TestLocalReplayFull: at its bound the guard refuses new tokens with
// ErrGuardFull (it never forgets a live one to make room) and takes them
// again once the oldest expired.
func TestLocalReplayFull(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	g := limiter.NewLocalReplay(10, time.Minute, limiter.WithReplayClock(func() time.Time { return now }))
	ctx := context.Background()
	for i := range 10 {
		if first, err := g.First(ctx, fmt.Sprint(i)); !first || err != nil {
			t.Fatalf("token %d: %v %v", i, first, err)
		}
	}
	if first, err := g.First(ctx, "one more"); first || !errors.Is(err, limiter.ErrGuardFull) {
		t.Fatalf("over the bound: first=%v err=%v, want ErrGuardFull", first, err)
	}
	if first, err := g.First(ctx, "3"); first || err != nil {
		t.Fatalf("a replay at the bound: first=%v err=%v, want a plain refusal", first, err)
	}
	now = now.Add(time.Minute + time.Minute/15)
	if first, err := g.First(ctx, "one more"); !first || err != nil {
		t.Fatalf("after expiry: first=%v err=%v", first, err)
	}
}

// TestLocalReplayMemoryBound: the heap the guard holds per token stays
// within LocalReplayEntryBytes, the figure the server sizes its bound with
// (64 MiB / LocalReplayEntryBytes tokens).
func TestLocalReplayMemoryBound(t *testing.T) {
	const n = 1 << 20
	now := time.Unix(1_800_000_000, 0)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%032x", i)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	g := limiter.NewLocalReplay(n, 180*time.Second, limiter.WithReplayClock(func() time.Time { return now }))
	ctx := context.Background()
	for i, k := range keys {
		if i%(n/32) == 0 {
			now = now.Add(6 * time.Second) // tokens over 32 slices' worth of time
		}
		if first, err := g.First(ctx, k); !first || err != nil {
			t.Fatalf("token %d: %v %v", i, first, err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perEntry := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(g.Len())
	t.Logf("%d tokens remembered, %.1f heap bytes per token", g.Len(), perEntry)
	if perEntry > limiter.LocalReplayEntryBytes {
		t.Fatalf("%.1f heap bytes per token, more than LocalReplayEntryBytes (%d)", perEntry, limiter.LocalReplayEntryBytes)
	}
	runtime.KeepAlive(keys)
	runtime.KeepAlive(g)
}

// BenchmarkLocalReplay: one new token into a guard holding about a
// million live ones.
func BenchmarkLocalReplay(b *testing.B) {
	now := time.Unix(1_800_000_000, 0)
	g := limiter.NewLocalReplay(4_000_000, 180*time.Second, limiter.WithReplayClock(func() time.Time { return now }))
	ctx := context.Background()
	for i := range 1_000_000 {
		g.First(ctx, fmt.Sprintf("%032x", i))
	}
	keys := make([]string, 1<<16)
	for i := range keys {
		keys[i] = fmt.Sprintf("%032x", 1<<40+i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(keys) {
			b.StopTimer()
			for j := range keys {
				keys[j] = fmt.Sprintf("%032x", 1<<41+i*len(keys)+j)
			}
			b.StartTimer()
			i = 0
		}
		g.First(ctx, keys[i])
		i++
	}
}
