package limiter

import (
	"errors"
	"testing"
	"time"
)

// TestBreaker: after a failure the breaker stops the calls for its
// cooldown, then lets one through; its success closes it, its failure
// reopens it (issue 13, finding 10: a hung Redis costs one timeout per
// cooldown, not one per request).
func TestBreaker(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	b := newBreaker(5*time.Second, func() time.Time { return now })
	if !b.allow() {
		t.Fatal("closed breaker refused")
	}
	b.done(errors.New("timeout"))
	if b.allow() {
		t.Fatal("open breaker admitted a call")
	}
	now = now.Add(5 * time.Second)
	if !b.allow() {
		t.Fatal("no probe after the cooldown")
	}
	if b.allow() {
		t.Fatal("a second call while the probe runs")
	}
	b.done(errors.New("timeout"))
	if b.allow() {
		t.Fatal("failed probe did not reopen")
	}
	now = now.Add(6 * time.Second)
	if !b.allow() {
		t.Fatal("no probe")
	}
	b.done(nil)
	if !b.allow() || !b.allow() {
		t.Fatal("successful probe did not close the breaker")
	}
}
