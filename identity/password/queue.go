package password

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// The hashing queue. Argon2 hashes take their memory from a budget; when
// it is spent, hashes wait in a queue that is fair per key (the client
// address the server passes with WithQueueKey): waiting hashes are served
// one key at a time, round robin, so a flood from many clients cannot keep
// one client waiting behind all of it, and one client cannot hold more than
// a few places. A full queue answers at once (ErrBusy with a retry hint)
// instead of making the caller wait for a place that will not come.

type queueKey struct{}

// WithQueueKey returns a context whose hashes queue under the key that
// key returns (e.g. a digest of the client's address); it is called only
// when a hash has to wait.
func WithQueueKey(ctx context.Context, key func() string) context.Context {
	return context.WithValue(ctx, queueKey{}, key)
}

func keyOf(ctx context.Context) func() string {
	if k, ok := ctx.Value(queueKey{}).(func() string); ok {
		return k
	}
	return func() string { return "" }
}

// BusyError is ErrBusy with the time after which a retry is likely to find
// room.
type BusyError struct {
	// RetryAfter estimates when the queue will have room.
	RetryAfter time.Duration
	// Why says whether the queue was full or the wait too long.
	Why string
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("password: too many concurrent hashes (%s); retry after %s", e.Why, e.RetryAfter)
}

// Is makes a BusyError match ErrBusy.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// waiter is one hash waiting for budget.
type waiter struct {
	weight  int64
	ready   chan struct{}
	granted bool
}

// fairQueue grants memory budget to waiting hashes, round robin over keys.
type fairQueue struct {
	mu       sync.Mutex
	capacity int64
	used     int64
	keys     []string // keys with waiters, in service order
	waiting  map[string][]*waiter
	total    int
	// maxTotal and maxPerKey bound the queue; beyond them a hash is
	// refused at once.
	maxTotal, maxPerKey int
	// timeout is how long a hash may wait: a hash that would wait longer
	// (by the recent hashing time and the queue's length) is refused at
	// once instead.
	timeout time.Duration
	// avg is the recent average time a hash holds its budget (for the
	// retry hint).
	avg time.Duration
}

func newFairQueue(capacity int64, maxTotal, maxPerKey int, timeout time.Duration) *fairQueue {
	return &fairQueue{capacity: capacity, waiting: map[string][]*waiter{}, maxTotal: maxTotal, maxPerKey: maxPerKey,
		timeout: timeout, avg: 50 * time.Millisecond}
}

// wait estimates how long a hash of weight queued behind n others waits:
// the hashes that fit in the budget at once work off the queue at the
// recent hashing time each.
func (q *fairQueue) wait(n int, weight int64) time.Duration {
	slots := max(q.capacity/max(weight, 1), 1)
	return q.avg * time.Duration(n+1) / time.Duration(slots)
}

// retryHint is the wait rounded up to at least a second.
func (q *fairQueue) retryHint(n int, weight int64) time.Duration {
	return max(q.wait(n, weight), time.Second)
}

// acquire takes weight of the budget for the key keyFn gives, waiting at
// most until ctx ends. It returns the function that gives it back.
func (q *fairQueue) acquire(ctx context.Context, keyFn func() string, weight int64) (func(), error) {
	weight = min(weight, q.capacity)
	q.mu.Lock()
	if q.total == 0 && q.used+weight <= q.capacity {
		q.used += weight
		q.mu.Unlock()
		return q.releaser(weight), nil
	}
	q.mu.Unlock()
	key := keyFn()
	q.mu.Lock()
	if q.total == 0 && q.used+weight <= q.capacity {
		q.used += weight
		q.mu.Unlock()
		return q.releaser(weight), nil
	}
	if q.total >= q.maxTotal || len(q.waiting[key]) >= q.maxPerKey || q.wait(q.total, weight) > q.timeout {
		hint := q.retryHint(q.total, weight)
		q.mu.Unlock()
		return nil, &BusyError{RetryAfter: hint, Why: "queue full"}
	}
	w := &waiter{weight: weight, ready: make(chan struct{})}
	if len(q.waiting[key]) == 0 {
		q.keys = append(q.keys, key)
	}
	q.waiting[key] = append(q.waiting[key], w)
	q.total++
	q.mu.Unlock()

	select {
	case <-w.ready:
		return q.releaser(weight), nil
	case <-ctx.Done():
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if w.granted { // granted while we gave up: give it back
		q.used -= weight
		q.dispatch()
	} else {
		q.remove(key, w)
	}
	return nil, &BusyError{RetryAfter: q.retryHint(q.total, weight), Why: "waited too long: " + context.Cause(ctx).Error()}
}

// releaser gives weight back once and records how long it was held.
func (q *fairQueue) releaser(weight int64) func() {
	start := time.Now()
	var once sync.Once
	return func() {
		once.Do(func() {
			held := time.Since(start)
			q.mu.Lock()
			q.avg = (q.avg*7 + held) / 8
			q.used -= weight
			q.dispatch()
			q.mu.Unlock()
		})
	}
}

// dispatch grants budget to waiters, one key at a time (called with mu).
func (q *fairQueue) dispatch() {
	for len(q.keys) > 0 {
		key := q.keys[0]
		w := q.waiting[key][0]
		if q.used+w.weight > q.capacity {
			return
		}
		q.used += w.weight
		w.granted = true
		close(w.ready)
		q.pop(key)
	}
}

// pop removes key's first waiter and moves key to the back of the order
// (or drops it when it has no more waiters).
func (q *fairQueue) pop(key string) {
	q.waiting[key] = q.waiting[key][1:]
	q.total--
	q.keys = q.keys[1:]
	if len(q.waiting[key]) > 0 {
		q.keys = append(q.keys, key)
	} else {
		delete(q.waiting, key)
	}
}

// remove takes a waiter that gave up out of the queue (called with mu).
func (q *fairQueue) remove(key string, w *waiter) {
	list := q.waiting[key]
	for i, x := range list {
		if x == w {
			q.waiting[key] = append(list[:i:i], list[i+1:]...)
			q.total--
			break
		}
	}
	if len(q.waiting[key]) > 0 {
		return
	}
	delete(q.waiting, key)
	for i, k := range q.keys {
		if k == key {
			q.keys = append(q.keys[:i:i], q.keys[i+1:]...)
			break
		}
	}
}
