package limiter

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"time"

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

// ErrGuardFull is returned by a LocalReplay that holds its maximum number
// of live tokens: the request is refused (a token it cannot remember could
// be replayed), until the oldest tokens expire.
var ErrGuardFull = errors.New("replay guard full: more live request tokens than its bound")

// replaySlices is the number of time slices a LocalReplay spreads a TTL
// over: tokens are kept at most one slice (TTL/15) longer than the TTL.
const replaySlices = 16

// LocalReplayEntryBytes is the heap a LocalReplay uses per remembered token
// at most: an 8-byte slot in an open-addressing table whose load stays
// between 3/8 and 3/4 (measured by TestLocalReplayMemoryBound).
const LocalReplayEntryBytes = 24

// LocalReplay is a single-instance replay guard with bounded memory. A
// token is remembered as a 64-bit keyed hash (seeded per guard, so that
// collisions cannot be aimed at) in the time slice of its arrival; a slice
// is dropped whole once its newest token is older than the TTL. At most
// max tokens are remembered: beyond that First refuses with ErrGuardFull
// rather than forget a live token.
type LocalReplay struct {
	mu     sync.Mutex
	seed   maphash.Seed
	ttl    time.Duration
	slice  time.Duration
	max    int
	count  int
	now    func() time.Time
	slices []replaySlice // oldest first
}

// replaySlice holds the hashes of the tokens that arrived in [start,
// start+slice).
type replaySlice struct {
	start time.Time
	keys  hashSet
}

// hashSet is a set of non-zero 64-bit hashes: linear probing in a table
// whose size is a power of two, grown at 3/4 load, never shrunk (a slice is
// dropped whole). Eight bytes a slot, nothing else.
type hashSet struct {
	slots []uint64
	n     int
}

// newHashSet returns a set with room for about n hashes before it grows.
func newHashSet(n int) hashSet {
	size := 64
	for size*3/4 < n {
		size *= 2
	}
	return hashSet{slots: make([]uint64, size)}
}

// has reports whether h (non-zero) is in the set.
func (s *hashSet) has(h uint64) bool {
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return true
		case 0:
			return false
		}
	}
}

// add inserts h (non-zero, not in the set).
func (s *hashSet) add(h uint64) {
	if (s.n+1)*4 > len(s.slots)*3 {
		bigger := hashSet{slots: make([]uint64, 2*len(s.slots))}
		for _, x := range s.slots {
			if x != 0 {
				bigger.add(x)
			}
		}
		*s = bigger
	}
	mask := uint64(len(s.slots) - 1)
	i := h & mask
	for s.slots[i] != 0 {
		i = (i + 1) & mask
	}
	s.slots[i] = h
	s.n++
}

// ReplayOption configures a LocalReplay.
type ReplayOption func(*LocalReplay)

// WithReplayClock makes the guard read the time from now (tests).
func WithReplayClock(now func() time.Time) ReplayOption {
	return func(l *LocalReplay) { l.now = now }
}

// NewLocalReplay returns a replay guard for one instance that remembers at
// most max tokens (max*LocalReplayEntryBytes of heap), each for ttl.
func NewLocalReplay(max int, ttl time.Duration, opts ...ReplayOption) *LocalReplay {
	if max <= 0 {
		max = 1_000_000
	}
	slice := ttl / (replaySlices - 1)
	if slice <= 0 {
		slice = time.Nanosecond
	}
	l := &LocalReplay{seed: maphash.MakeSeed(), ttl: ttl, slice: slice, max: max, now: time.Now}
	for _, o := range opts {
		o(l)
	}
	return l
}

// First implements ReplayGuard.
func (l *LocalReplay) First(_ context.Context, key string) (bool, error) {
	h := maphash.String(l.seed, key) | 1 // never 0, the empty slot
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.expire(now)
	for i := range l.slices {
		if l.slices[i].keys.has(h) {
			return false, nil
		}
	}
	if l.count >= l.max {
		return false, ErrGuardFull
	}
	if n := len(l.slices); n == 0 || !now.Before(l.slices[n-1].start.Add(l.slice)) {
		// Sized for as many tokens as the slice before took.
		prev := 0
		if n > 0 {
			prev = l.slices[n-1].keys.n
		}
		l.slices = append(l.slices, replaySlice{start: now, keys: newHashSet(prev)})
	}
	l.slices[len(l.slices)-1].keys.add(h)
	l.count++
	return true, nil
}

// expire drops the slices whose newest token is older than the TTL.
func (l *LocalReplay) expire(now time.Time) {
	drop := 0
	for drop < len(l.slices) && !now.Before(l.slices[drop].start.Add(l.slice+l.ttl)) {
		l.count -= l.slices[drop].keys.n
		drop++
	}
	l.slices = slices.Delete(l.slices, 0, drop)
}

// Len is the number of tokens remembered.
func (l *LocalReplay) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count
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
