// Package limiter enforces the rate-limit decisions of the policies: each
// request draws one token from every bucket the policy names. A Local
// limiter keeps golang.org/x/time/rate token buckets in a bounded LRU (one
// instance); a Redis limiter uses GCRA in Redis (github.com/go-redis/redis_rate)
// so that every instance sharing the Redis draws from one budget.
package limiter

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// Bucket is one rate-limit bucket: PerMinute tokens are added per minute up
// to Burst; a request takes one.
type Bucket struct {
	// Key identifies the bucket, e.g. "ip:user-login:203.0.113.7".
	Key string `json:"key"`
	// PerMinute is the sustained rate.
	PerMinute int `json:"per_minute"`
	// Burst is the bucket's capacity.
	Burst int `json:"burst"`
}

// id is the bucket's storage key: a changed rate makes a new bucket.
func (b Bucket) id() string {
	return b.Key + "|" + strconv.Itoa(b.PerMinute) + "|" + strconv.Itoa(b.Burst)
}

// Result is the outcome of one request's draw.
type Result struct {
	// Allowed is false when a bucket had no token.
	Allowed bool
	// RetryAfter is how long until the refusing bucket has a token again.
	RetryAfter time.Duration
	// Bucket is the key of the refusing bucket.
	Bucket string
}

// Limiter draws a token from every bucket of a request.
type Limiter interface {
	// Allow takes one token from each bucket, in order, and stops at the
	// first that has none. An error means the store could not be asked; the
	// Result then says what the limiter's failure policy decided.
	Allow(ctx context.Context, buckets []Bucket) (Result, error)
}

// Local is a single-instance limiter.
type Local struct {
	mu    sync.Mutex
	cache *lru.Cache[string, *rate.Limiter]
	now   func() time.Time
}

// NewLocal returns a limiter that remembers at most size buckets (the least
// recently used are evicted; an evicted bucket starts full again).
func NewLocal(size int) (*Local, error) {
	if size <= 0 {
		size = 100_000
	}
	c, err := lru.New[string, *rate.Limiter](size)
	if err != nil {
		return nil, fmt.Errorf("limiter: %w", err)
	}
	return &Local{cache: c, now: time.Now}, nil
}

// Allow implements Limiter.
func (l *Local) Allow(_ context.Context, buckets []Bucket) (Result, error) {
	now := l.now()
	for _, b := range buckets {
		if b.Burst <= 0 || b.PerMinute <= 0 {
			return Result{Allowed: false, RetryAfter: time.Minute, Bucket: b.Key}, nil
		}
		id := b.id()
		l.mu.Lock()
		lim, ok := l.cache.Get(id)
		if !ok {
			lim = rate.NewLimiter(rate.Limit(float64(b.PerMinute)/60), b.Burst)
			l.cache.Add(id, lim)
		}
		l.mu.Unlock()
		r := lim.ReserveN(now, 1)
		if !r.OK() {
			return Result{Allowed: false, RetryAfter: time.Minute, Bucket: b.Key}, nil
		}
		if d := r.DelayFrom(now); d > 0 {
			r.CancelAt(now)
			return Result{Allowed: false, RetryAfter: d, Bucket: b.Key}, nil
		}
	}
	return Result{Allowed: true}, nil
}

// Redis is a limiter shared by every instance using the same Redis.
type Redis struct {
	rl       *redis_rate.Limiter
	prefix   string
	failOpen bool
	breaker  *breaker
}

// BreakerCooldown is how long a Redis limiter or replay guard stops asking
// Redis after a failure (breaker.go).
const BreakerCooldown = 5 * time.Second

// NewRedis returns a Redis-backed limiter. Keys are prefixed with prefix.
// failOpen decides what Allow answers when Redis cannot be reached: true
// admits the request, false refuses it (both return the error too). After
// a failure, Redis is not asked again for BreakerCooldown.
func NewRedis(client redis.UniversalClient, prefix string, failOpen bool) *Redis {
	return &Redis{rl: redis_rate.NewLimiter(client), prefix: prefix, failOpen: failOpen, breaker: newBreaker(BreakerCooldown, nil)}
}

// Allow implements Limiter.
func (l *Redis) Allow(ctx context.Context, buckets []Bucket) (Result, error) {
	for _, b := range buckets {
		if b.Burst <= 0 || b.PerMinute <= 0 {
			return Result{Allowed: false, RetryAfter: time.Minute, Bucket: b.Key}, nil
		}
		if !l.breaker.allow() {
			return Result{Allowed: l.failOpen, RetryAfter: BreakerCooldown, Bucket: b.Key}, ErrBreakerOpen
		}
		res, err := l.rl.Allow(ctx, l.prefix+b.id(), redis_rate.Limit{Rate: b.PerMinute, Burst: b.Burst, Period: time.Minute})
		l.breaker.done(err)
		if err != nil {
			return Result{Allowed: l.failOpen, RetryAfter: time.Second, Bucket: b.Key}, fmt.Errorf("limiter: redis: %w", err)
		}
		if res.Allowed == 0 {
			ra := res.RetryAfter
			if ra < 0 {
				ra = time.Minute
			}
			return Result{Allowed: false, RetryAfter: ra, Bucket: b.Key}, nil
		}
	}
	return Result{Allowed: true}, nil
}

// RetryAfterSeconds renders a wait for the Retry-After header: whole
// seconds, rounded up, at least 1.
func RetryAfterSeconds(d time.Duration) string {
	s := int64(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}

// Decision is the rate-limit policy's answer for one request.
type Decision struct {
	// Buckets are drawn from in order; the request passes when all admit it.
	Buckets []Bucket `json:"buckets"`
	// Refuse, when not empty, refuses the request outright and says why
	// (e.g. an e-mail request type without an e-mail).
	Refuse string `json:"refuse"`
}
