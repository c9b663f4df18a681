package password

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// TestFairQueueRoundRobin: with the budget taken, waiting hashes are served
// one key at a time: a key that queued late is served before another key's
// second hash.
func TestFairQueueRoundRobin(t *testing.T) {
	t.Parallel()
	q := newFairQueue(1, 10, 2, time.Minute)
	ctx := context.Background()
	hold, err := q.acquire(ctx, fixed("first"), 1)
	if err != nil {
		t.Fatal(err)
	}
	order := make(chan string, 3)
	start := func(key string) {
		go func() {
			release, err := q.acquire(ctx, fixed(key), 1)
			if err != nil {
				order <- "error: " + err.Error()
				return
			}
			order <- key
			release()
		}()
	}
	// Queue a1, a2 and then b, each once the previous is waiting.
	for _, key := range []string{"a", "a", "b"} {
		before := waitingCount(q)
		start(key)
		waitUntil(t, func() bool { return waitingCount(q) == before+1 })
	}
	hold()
	got := []string{<-order, <-order, <-order}
	if got[0] != "a" || got[1] != "b" || got[2] != "a" {
		t.Fatalf("served %v, want a, b, a", got)
	}
}

// TestFairQueueRefusesAtOnce: a full queue, or a key with its places taken,
// is refused without waiting, with a retry hint.
func TestFairQueueRefusesAtOnce(t *testing.T) {
	t.Parallel()
	q := newFairQueue(1, 2, 1, time.Minute)
	ctx := context.Background()
	hold, err := q.acquire(ctx, fixed("x"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer hold()
	go q.acquire(ctx, fixed("a"), 1) //nolint:errcheck // waits until the test ends
	waitUntil(t, func() bool { return waitingCount(q) == 1 })
	var be *BusyError
	if _, err := q.acquire(ctx, fixed("a"), 1); !errors.As(err, &be) || !errors.Is(err, ErrBusy) || be.RetryAfter < time.Second {
		t.Fatalf("second hash of a key with its place taken: %v", err)
	}
	go q.acquire(ctx, fixed("b"), 1) //nolint:errcheck
	waitUntil(t, func() bool { return waitingCount(q) == 2 })
	if _, err := q.acquire(ctx, fixed("c"), 1); !errors.As(err, &be) || be.Why != "queue full" {
		t.Fatalf("hash with the queue full: %v", err)
	}
}

// TestFairQueueGiveUp: a waiter whose context ends leaves the queue, and
// the budget is not lost.
func TestFairQueueGiveUp(t *testing.T) {
	t.Parallel()
	q := newFairQueue(1, 10, 2, time.Minute)
	hold, err := q.acquire(context.Background(), fixed("x"), 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := q.acquire(ctx, fixed("a"), 1)
		done <- err
	}()
	waitUntil(t, func() bool { return waitingCount(q) == 1 })
	cancel()
	if err := <-done; !errors.Is(err, ErrBusy) {
		t.Fatalf("given up: %v", err)
	}
	if waitingCount(q) != 0 {
		t.Fatal("the waiter stayed in the queue")
	}
	hold()
	release, err := q.acquire(context.Background(), fixed("b"), 1)
	if err != nil {
		t.Fatalf("budget lost: %v", err)
	}
	release()
}

func waitingCount(q *fairQueue) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.total
}

// waitUntil yields until a condition of the queue's state holds (the
// goroutines it waits for block on channels: no clock is involved).
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for range 10_000_000 {
		if cond() {
			return
		}
		runtime.Gosched()
	}
	t.Fatal("condition not reached")
}

func fixed(key string) func() string { return func() string { return key } }
