package identity

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun/dialect"
)

// Invalidations travel between instances on a PostgreSQL notification
// channel (any Store on PostgreSQL sends them, the CLI's too) and, when a
// Redis is configured, on a Redis channel.
const (
	// PostgresChannel is the NOTIFY channel of invalidations.
	PostgresChannel = "authnzrv_identity"
	// RedisChannel is the Redis pub/sub channel of invalidations.
	RedisChannel = "authnzrv:identity"
)

// UseCache makes the store serve hot reads from c (nil: no cache).
func (s *Store) UseCache(c *Cache) { s.cache = c }

// Cache returns the store's cache (nil when off).
func (s *Store) Cache() *Cache { return s.cache }

// PublishInvalidations adds a transport for the store's invalidations (a
// Redis publisher, see RedisPublisher).
func (s *Store) PublishInvalidations(publish func(ctx context.Context, msg string) error) {
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	s.publishers = append(s.publishers, publish)
}

// invalidate applies invalidation messages to this instance's cache and
// sends them to the others: through NOTIFY on PostgreSQL, and the added
// transports. A failure to send is logged by the caller's error path only
// as far as it matters: the write itself succeeded, and the TTL bounds
// what the other instances may serve.
func (s *Store) invalidate(ctx context.Context, msgs ...string) {
	if len(msgs) == 0 {
		return
	}
	payload := msgs[0]
	for _, m := range msgs[1:] {
		payload += " " + m
	}
	s.cache.Apply(payload)
	ctx = context.WithoutCancel(ctx)
	if s.db.Dialect().Name() == dialect.PG {
		_, _ = s.db.ExecContext(ctx, "SELECT pg_notify(?, ?)", PostgresChannel, payload)
	}
	s.pubMu.RLock()
	defer s.pubMu.RUnlock()
	for _, p := range s.publishers {
		_ = p(ctx, payload)
	}
}

// RedisPublisher sends invalidations on RedisChannel.
func RedisPublisher(c redis.UniversalClient) func(ctx context.Context, msg string) error {
	return func(ctx context.Context, msg string) error {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return c.Publish(ctx, RedisChannel, msg).Err()
	}
}

// ListenPostgres applies the invalidations other instances send through
// PostgreSQL until ctx ends, reconnecting after errors; after each
// (re)connection it clears the cache, since messages may have been missed
// meanwhile.
func ListenPostgres(ctx context.Context, dsn string, c *Cache, log *slog.Logger) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := listenPostgresOnce(ctx, dsn, c)
		if ctx.Err() != nil {
			return
		}
		log.Warn("identity cache: PostgreSQL invalidation listener reconnecting", "error", err, "after", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

func listenPostgresOnce(ctx context.Context, dsn string, c *Cache) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+PostgresChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	c.Apply("all")
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		c.Apply(n.Payload)
	}
}

// ListenRedis applies the invalidations other instances send through Redis
// until ctx ends; after each (re)subscription it clears the cache.
func ListenRedis(ctx context.Context, client redis.UniversalClient, c *Cache) {
	sub := client.Subscribe(ctx, RedisChannel)
	go func() {
		<-ctx.Done()
		sub.Close()
	}()
	for msg := range sub.ChannelWithSubscriptions() {
		switch m := msg.(type) {
		case *redis.Subscription:
			c.Apply("all")
		case *redis.Message:
			c.Apply(m.Payload)
		}
	}
}
