package frontend

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/authnzrv/authnzrv/client"
)

// RateLimitedError is returned when authnzrv kept answering 429 after the
// allowed retries, or asked for a wait beyond Options.MaxRetryWait.
type RateLimitedError struct {
	// Request is the request type that was refused.
	Request string
	// Attempts is how many times it was sent.
	Attempts int
	// RetryAfter is the wait the last answer asked for.
	RetryAfter time.Duration
	// Err is the last answer.
	Err *client.StatusError
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("frontend: authnzrv rate-limited %s after %d attempt(s); retry after %s", e.Request, e.Attempts, e.RetryAfter)
}

// Unwrap returns the last 429 answer.
func (e *RateLimitedError) Unwrap() error { return e.Err }

// defaultRetryAfter is the wait assumed for a 429 without a readable
// Retry-After.
const defaultRetryAfter = time.Second

// call sends one request on behalf of the end user at ip ("" for the
// client's default address), retrying 429 answers as the options allow.
func (m *Middleware) call(ctx context.Context, ip, request string, body map[string]any) (*client.Reply, error) {
	if ip != "" {
		body["client_ipaddr"] = ip
	}
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		reply, err := m.c.Do(ctx, request, body)
		var se *client.StatusError
		if err == nil || !errors.As(err, &se) || se.Code != http.StatusTooManyRequests {
			if err != nil {
				return nil, fmt.Errorf("frontend: %s: %w", request, err)
			}
			return reply, nil
		}
		d, ok := se.RetryAfterDelay(m.opts.Now())
		if !ok {
			d = defaultRetryAfter
		}
		if attempt > m.opts.MaxRetries || waited+d > m.opts.MaxRetryWait {
			return nil, &RateLimitedError{Request: request, Attempts: attempt, RetryAfter: d, Err: se}
		}
		m.log.Info("authnzrv rate limit; retrying", "request", request, "attempt", attempt, "retry_after", d)
		if err := m.opts.Sleep(ctx, d); err != nil {
			return nil, fmt.Errorf("frontend: %s: waiting to retry: %w", request, err)
		}
		waited += d
	}
}
