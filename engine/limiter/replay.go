package limiter

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/redis/go-redis/v9"
)

// Request is what the rate limiter needs of one request: the request
// type, its group and whether it has a per-e-mail bucket (from the request
// table), and the identifiers it carries. Identifiers are fixed-size keyed
// digests ("" when absent), never the raw values: bucket keys must not hold
// PII (they may live in Redis) and must not grow with the input.
type Request struct {
	// Type is the request type, e.g. "user-login" ("health" for GET
	// /health, "unknown" for a type the server does not have).
	Type string
	// Group is the type's rate-limit group: ipaddr, user, session, apikey
	// or internal.
	Group string
	// EmailRequest is true for types that draw from a per-e-mail bucket.
	EmailRequest bool
	// ClientIP is a digest of the envelope's client_ipaddr.
	ClientIP string
	// Email is a digest of the request's e-mail ("" when it has none).
	Email string
	// UserID is body.user_id when it is a positive integer (0 otherwise).
	UserID int64
	// Session is a digest of body.session_token ("" when absent).
	Session string
	// APIKey is a digest of body.apikey_dict.tkn ("" when absent).
	APIKey string
}

// ReplayGuard remembers request tokens for their lifetime so that each is
// accepted once.
type ReplayGuard interface {
	// First records key and reports whether it was new. An error means the
	// store could not be asked; the bool then says what the guard's failure
	// policy decided.
	First(ctx context.Context, key string) (bool, error)
}

// LocalReplay is a single-instance replay guard: an LRU of at most size
// keys, each forgotten after ttl.
type LocalReplay struct {
	mu    sync.Mutex
	cache *expirable.LRU[string, struct{}]
}

// NewLocalReplay returns a replay guard for one instance.
func NewLocalReplay(size int, ttl time.Duration) *LocalReplay {
	if size <= 0 {
		size = 1_000_000
	}
	return &LocalReplay{cache: expirable.NewLRU[string, struct{}](size, nil, ttl)}
}

// First implements ReplayGuard.
func (l *LocalReplay) First(_ context.Context, key string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cache.Contains(key) {
		return false, nil
	}
	l.cache.Add(key, struct{}{})
	return true, nil
}

// RedisReplay is a replay guard shared by every instance using one Redis.
type RedisReplay struct {
	client   redis.UniversalClient
	prefix   string
	ttl      time.Duration
	failOpen bool
	breaker  *breaker
}

// NewRedisReplay returns a replay guard in Redis: SET NX with the token's
// lifetime as expiry.
func NewRedisReplay(client redis.UniversalClient, prefix string, ttl time.Duration, failOpen bool) *RedisReplay {
	return &RedisReplay{client: client, prefix: prefix, ttl: ttl, failOpen: failOpen, breaker: newBreaker(BreakerCooldown, nil)}
}

// First implements ReplayGuard.
func (r *RedisReplay) First(ctx context.Context, key string) (bool, error) {
	if !r.breaker.allow() {
		return r.failOpen, ErrBreakerOpen
	}
	ok, err := r.client.SetNX(ctx, r.prefix+key, 1, r.ttl).Result()
	r.breaker.done(err)
	if err != nil {
		return r.failOpen, fmt.Errorf("replay guard: redis: %w", err)
	}
	return ok, nil
}
