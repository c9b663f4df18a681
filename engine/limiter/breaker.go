package limiter

import (
	"errors"
	"sync"
	"time"
)

// A Redis that hangs makes every request wait for its timeouts. The
// breaker remembers a failure for a while (open): during it, callers do not
// ask Redis and apply their failure policy at once; after it, one request
// tries Redis again (half-open) and its outcome closes or reopens the
// breaker.

// ErrBreakerOpen is returned while the breaker is open.
var ErrBreakerOpen = errors.New("limiter: redis skipped after a recent failure (circuit breaker open)")

// breaker is a circuit breaker around one Redis client.
type breaker struct {
	mu        sync.Mutex
	now       func() time.Time
	cooldown  time.Duration
	openUntil time.Time
	probing   bool
}

func newBreaker(cooldown time.Duration, now func() time.Time) *breaker {
	if now == nil {
		now = time.Now
	}
	return &breaker{now: now, cooldown: cooldown}
}

// allow reports whether Redis may be asked now.
func (b *breaker) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.openUntil.IsZero() {
		return true
	}
	if b.now().Before(b.openUntil) || b.probing {
		return false
	}
	b.probing = true // one request tries Redis again
	return true
}

// done records the outcome of a call that allow admitted.
func (b *breaker) done(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	if err == nil {
		b.openUntil = time.Time{}
		return
	}
	b.openUntil = b.now().Add(b.cooldown)
}
