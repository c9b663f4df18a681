// Package client is the Go client of the authnzerver protocol: it encrypts
// requests with the shared key, checks that the reply echoes the request's
// reqid, and surfaces non-200 answers as *StatusError.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/authnzrv/authnzrv/wire"
)

// Client talks to one authnzrv (or authnzerver) server. It is safe for
// concurrent use.
type Client struct {
	url      string
	codec    *wire.Codec
	http     *http.Client
	clientIP string
	host     string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: 5 s timeout, like the
// reference client).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithClientIP sets the client_ipaddr sent with every request (default
// 127.0.0.1); a request's body key "client_ipaddr" overrides it.
func WithClientIP(ip string) Option { return func(c *Client) { c.clientIP = ip } }

// WithHost sets the Host header sent (default: from the URL).
func WithHost(host string) Option { return func(c *Client) { c.host = host } }

// New returns a client for the server at url with the shared Fernet key.
func New(url, secret string, opts ...Option) (*Client, error) {
	codec, err := wire.NewCodec(secret, 0)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	c := &Client{url: url, codec: codec, http: &http.Client{Timeout: 5 * time.Second}, clientIP: "127.0.0.1"}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Reply is a decrypted response envelope.
type Reply struct {
	// Success is the action's outcome.
	Success bool `json:"success"`
	// Response is the complete action response (including its own
	// success, messages and failure_reason).
	Response map[string]any `json:"response"`
	// Messages are the end-user messages.
	Messages []string `json:"messages"`
	// ReqID is the echoed request id.
	ReqID json.RawMessage `json:"reqid"`
	// FailureReason is set only on failures that have one.
	FailureReason *string `json:"failure_reason"`
}

// Reason returns the failure reason, or "".
func (r *Reply) Reason() string {
	if r.FailureReason == nil {
		return ""
	}
	return *r.FailureReason
}

// StatusError is a non-200 answer.
type StatusError struct {
	// Code is the HTTP status code.
	Code int
	// Body is the answer's body (plain text for the protocol's errors).
	Body string
	// RetryAfter is the raw Retry-After header ("" when absent).
	RetryAfter string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("client: HTTP %d: %s", e.Code, e.Body)
}

// RetryAfterDelay returns the wait the Retry-After header asks for, read as
// delay-seconds or as an HTTP-date relative to now (RFC 9110 §10.2.3); a
// date in the past is a zero wait. ok is false when the header is absent
// or unreadable.
func (e *StatusError) RetryAfterDelay(now time.Time) (d time.Duration, ok bool) {
	v := strings.TrimSpace(e.RetryAfter)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// ErrReqIDMismatch means the reply did not echo the request's reqid.
var ErrReqIDMismatch = errors.New("client: reply reqid does not match the request")

// NewReqID returns a random URL-safe request id.
func NewReqID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Do sends one request with a fresh random reqid.
func (c *Client) Do(ctx context.Context, request string, body map[string]any) (*Reply, error) {
	if body == nil {
		body = map[string]any{}
	}
	ip := c.clientIP
	if v, ok := body["client_ipaddr"].(string); ok && v != "" {
		ip = v
	}
	reqid := NewReqID()
	env := map[string]any{"request": request, "body": body, "reqid": reqid, "client_ipaddr": ip}
	raw, err := json.Marshal(reqid)
	if err != nil {
		return nil, err
	}
	return c.DoEnvelope(ctx, env, raw)
}

// DoEnvelope sends an arbitrary envelope (for tests and tools). When
// wantReqID is not nil the reply's reqid must equal it.
func (c *Client) DoEnvelope(ctx context.Context, env any, wantReqID json.RawMessage) (*Reply, error) {
	msg, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("client: encode envelope: %w", err)
	}
	wireBody, err := c.codec.SealBytes(msg)
	if err != nil {
		return nil, err
	}
	plain, err := c.Post(ctx, "/", wireBody)
	if err != nil {
		return nil, err
	}
	var r Reply
	if err := json.Unmarshal(plain, &r); err != nil {
		return nil, fmt.Errorf("client: decode reply: %w", err)
	}
	if wantReqID != nil && !jsonEqual(wantReqID, r.ReqID) {
		return nil, ErrReqIDMismatch
	}
	return &r, nil
}

// Post sends a raw body to path and returns the decrypted reply; a non-200
// answer is a *StatusError.
func (c *Client) Post(ctx context.Context, path string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.host != "" {
		req.Host = c.host
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("client: read reply: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &StatusError{Code: resp.StatusCode, Body: string(data), RetryAfter: resp.Header.Get("Retry-After")}
	}
	plain, _, err := c.codec.Open(data)
	if err != nil {
		return nil, fmt.Errorf("client: decrypt reply: %w", err)
	}
	return plain, nil
}

// Seal encrypts a message with the client's key (for tests that build
// unusual bodies).
func (c *Client) Seal(msg []byte) ([]byte, error) { return c.codec.SealBytes(msg) }

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
