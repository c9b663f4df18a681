package main

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authnzrv/authnzrv/config"
	"github.com/authnzrv/authnzrv/engine/limiter"
	"github.com/authnzrv/authnzrv/wire"
)

// sharedState holds the rate limiter and the replay guard: in process, or
// in Redis when --redis is set so that every instance shares them.
type sharedState struct {
	limiter limiter.Limiter
	replay  limiter.ReplayGuard
	// redis is the shared Redis client (nil without --redis).
	redis redis.UniversalClient
	close func()
}

// replayGuardBytes bounds the in-process replay guard's heap: 64 MiB holds
// 2.8 million live tokens, 15,500 requests a second for the default TTL of
// 120 s plus the 60 s of allowed clock skew. Beyond it requests are refused
// with 503 until tokens expire (README: Request freshness).
const replayGuardBytes = 64 << 20

// newSharedState builds the rate limiter and the replay guard: in process,
// or in Redis (shared by every instance) when --redis is set.
func newSharedState(cfg *config.Config) (*sharedState, error) {
	// A token is valid from 60 s before its timestamp (clock skew) to the
	// TTL after it: the guard remembers it that long.
	ttl := time.Duration(cfg.RequestTTL) * time.Second
	if ttl > 0 {
		ttl += wire.MaxClockSkew
	}
	if cfg.Redis == "" {
		l, err := limiter.NewLocal(100_000)
		if err != nil {
			return nil, err
		}
		st := &sharedState{limiter: l, close: func() {}}
		if ttl > 0 {
			st.replay = limiter.NewLocalReplay(replayGuardBytes/limiter.LocalReplayEntryBytes, ttl)
		}
		return st, nil
	}
	opt, err := redis.ParseURL(cfg.Redis)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = time.Second, 500*time.Millisecond, 500*time.Millisecond
	c := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis: %s does not answer: %w", opt.Addr, err)
	}
	failOpen := cfg.RedisFailure == "open"
	st := &sharedState{limiter: limiter.NewRedis(c, "authnzrv:rl:", failOpen), redis: c, close: func() { c.Close() }}
	if ttl > 0 {
		st.replay = limiter.NewRedisReplay(c, "authnzrv:replay:", ttl, failOpen)
	}
	return st, nil
}
