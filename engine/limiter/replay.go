package limiter

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/redis/go-redis/v9"
)

// Request is what the rate-limit policy sees of one request.
type Request struct {
	// Type is the request type, e.g. "user-login".
	Type string `json:"request"`
	// ClientIP is the envelope's client_ipaddr.
	ClientIP string `json:"client_ip"`
	// Email is body.email, else body.email_address ("" when neither is a
	// non-empty string).
	Email string `json:"email"`
	// UserID is body.user_id when it is an integer (0 otherwise).
	UserID int64 `json:"user_id"`
	// Session is a digest of body.session_token ("" when absent).
	Session string `json:"session"`
	// APIKey is a digest of body.apikey_dict.tkn ("" when absent).
	APIKey string `json:"apikey"`
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
}

// NewRedisReplay returns a replay guard in Redis: SET NX with the token's
// lifetime as expiry.
func NewRedisReplay(client redis.UniversalClient, prefix string, ttl time.Duration, failOpen bool) *RedisReplay {
	return &RedisReplay{client: client, prefix: prefix, ttl: ttl, failOpen: failOpen}
}

// First implements ReplayGuard.
func (r *RedisReplay) First(ctx context.Context, key string) (bool, error) {
	ok, err := r.client.SetNX(ctx, r.prefix+key, 1, r.ttl).Result()
	if err != nil {
		return r.failOpen, fmt.Errorf("replay guard: redis: %w", err)
	}
	return ok, nil
}
