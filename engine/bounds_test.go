package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/engine/limiter"
)

// TestFinding4BucketKeysBounded: bucket keys stay short whatever the
// identifiers a caller passes (the API passes keyed digests; a raw value
// is digested here rather than kept), distinct values keep distinct
// buckets, and digests pass unchanged.
func TestFinding4BucketKeysBounded(t *testing.T) {
	t.Parallel()
	e := newEngine(t, engine.Options{})
	big := func(c string) string { return strings.Repeat(c, 400_000) }
	digest := "0123456789abcdef0123456789abcdef"
	cases := []struct {
		name string
		req  limiter.Request
	}{
		{"raw identifiers", limiter.Request{Type: "user-login", Group: "ipaddr", EmailRequest: true, ClientIP: big("1"),
			Email: big("a") + "@example.org", UserID: 7, Session: big("s"), APIKey: big("k")}},
		{"other raw identifiers", limiter.Request{Type: "user-login", Group: "ipaddr", EmailRequest: true, ClientIP: big("2"),
			Email: big("b") + "@example.org", UserID: 7, Session: big("t"), APIKey: big("l")}},
		{"a long type", limiter.Request{Type: big("x"), Group: "ipaddr", ClientIP: digest}},
		{"digests", limiter.Request{Type: "user-login", Group: "ipaddr", EmailRequest: true, ClientIP: digest, Email: digest,
			Session: digest, APIKey: digest}},
	}
	seen := map[string]string{}
	for _, tc := range cases {
		d, err := e.RateLimits(context.Background(), tc.req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(d.Buckets) == 0 && d.Refuse == "" {
			t.Fatalf("%s: no buckets", tc.name)
		}
		for _, b := range d.Buckets {
			if len(b.Key) > 160 {
				t.Errorf("%s: bucket key of %d bytes", tc.name, len(b.Key))
			}
			if other, dup := seen[b.Key]; dup && other != tc.name && !strings.HasPrefix(b.Key, "user:") {
				t.Errorf("%s and %s share bucket %q", tc.name, other, b.Key)
			}
			seen[b.Key] = tc.name
		}
		if tc.name == "digests" {
			for _, b := range d.Buckets {
				if kind, _, _ := strings.Cut(b.Key, ":"); kind != "user" && !strings.HasSuffix(b.Key, ":"+digest) {
					t.Errorf("a digest was changed: %q", b.Key)
				}
			}
		}
	}
}
