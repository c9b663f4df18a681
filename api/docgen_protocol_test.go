package api_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authnzrv/authnzrv/api"
	"github.com/authnzrv/authnzrv/engine/limiter"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// docs/protocol.md is written by hand; these tests hold its examples and
// its statements about status codes, bodies and freshness to what the
// server does.

func protocolDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// docJSON returns the JSON code block of protocol.md containing marker.
func docJSON(t *testing.T, doc, marker string) any {
	t.Helper()
	for _, block := range regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(doc, -1) {
		if !strings.Contains(block[1], marker) {
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(block[1]), &v); err != nil {
			t.Fatalf("the protocol.md example with %s is not JSON: %v", marker, err)
		}
		return v
	}
	t.Fatalf("protocol.md has no JSON example containing %s", marker)
	return nil
}

// normal re-encodes a value so that values from different sources compare.
func normal(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDocProtocolExamples: the reply examples of protocol.md (§4, §6) are
// what the server answers to the requests they describe.
func TestDocProtocolExamples(t *testing.T) {
	t.Parallel()
	e := newEnv(t, identitytest.SQLite(t))
	doc := protocolDoc(t)
	ctx := context.Background()
	cases := []struct {
		marker string
		env    func() map[string]any
	}{
		{`"failure_reason": "user does not exist or password doesn't match"`, func() map[string]any {
			return map[string]any{"request": "user-login", "reqid": "q7Jx0Yc1nW8", "client_ipaddr": "203.0.113.7",
				"body": map[string]any{"session_token": e.newSession(nil), "email": "ada@example.org", "password": "not the password"}}
		}},
		{`"problems"`, func() map[string]any {
			return map[string]any{"request": "apikey-new", "reqid": 7, "client_ipaddr": "203.0.113.7",
				"body": map[string]any{"issuer": "i", "audience": "a", "apiversion": 1, "expires_days": 0, "not_valid_before": 0,
					"user_id": 4, "user_role": "authenticated", "ip_address": "203.0.113.7", "user_agent": strings.Repeat("u", 3000), "session_token": "t"}}
		}},
	}
	for _, tc := range cases {
		want := normal(t, docJSON(t, doc, tc.marker))
		env := tc.env()
		reqid, _ := json.Marshal(env["reqid"])
		r, err := e.c.DoEnvelope(ctx, env, reqid)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]any{"success": r.Success, "response": r.Response, "messages": r.Messages, "reqid": json.RawMessage(r.ReqID)}
		if r.FailureReason != nil {
			got["failure_reason"] = *r.FailureReason
		}
		if g := normal(t, got); !reflect.DeepEqual(g, want) {
			gb, _ := json.Marshal(g)
			wb, _ := json.Marshal(want)
			t.Errorf("protocol.md example %s\n doc: %s\nreal: %s", tc.marker, wb, gb)
		}
	}
}

// TestDocProtocolStatusBodies: the plain-text bodies of protocol.md §5
// are the server's, for each status it documents, and 429 and 503 carry
// the documented Retry-After.
func TestDocProtocolStatusBodies(t *testing.T) {
	t.Parallel()
	doc := protocolDoc(t)
	bodies := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| ([0-9]{3}|other[^|]*) \\| `([^`]+)` \\|").FindAllStringSubmatch(doc, -1) {
		bodies[m[1][:3]] = m[2]
	}
	documented := func(code int) string {
		if b, ok := bodies[strconv.Itoa(code)]; ok {
			return b
		}
		return strings.ReplaceAll(bodies["oth"], "<code>", strconv.Itoa(code))
	}
	valid := `{"request": "session-exists", "body": {"session_token": "x"}, "reqid": 1, "client_ipaddr": "1.2.3.4"}`
	e := newEnv(t, identitytest.SQLite(t))
	limited := newEnv(t, identitytest.SQLite(t), withOptions(func(o *api.Options) {
		l, err := limiter.NewLocal(1000)
		if err != nil {
			t.Fatal(err)
		}
		o.Limiter = l
	}))
	// A Redis nobody listens on, failure policy closed: the limiter's store
	// is down.
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { down.Close() })
	storeDown := newEnv(t, identitytest.SQLite(t), withOptions(func(o *api.Options) { o.Limiter = limiter.NewRedis(down, "doc:", false) }))
	cases := []struct {
		name       string
		url        string
		method     string
		body       []byte
		code       int
		retryAfter string
	}{
		{"wrong key", e.url + "/", http.MethodPost, seal(t, otherSecret, valid), 401, ""},
		{"echo on /", e.url + "/", http.MethodPost, seal(t, testSecret, `{"request": "echo", "body": {}, "reqid": 1, "client_ipaddr": "1.2.3.4"}`), 400, ""},
		{"GET /", e.url + "/", http.MethodGet, nil, 405, ""},
		{"oversized", e.url + "/", http.MethodPost, bytes.Repeat([]byte("A"), 65<<10), 413, ""},
		{"e-mail type without e-mail", limited.url + "/", http.MethodPost,
			seal(t, testSecret, `{"request": "user-lookup-email", "body": {}, "reqid": 1, "client_ipaddr": "1.2.3.4"}`), 429, "180"},
		{"limiter store down", storeDown.url + "/", http.MethodPost, seal(t, testSecret, valid), 503, "30"},
	}
	for _, tc := range cases {
		req, err := http.NewRequest(tc.method, tc.url, bytes.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || b.String() != documented(tc.code) {
			t.Errorf("%s: HTTP %d %q, protocol.md says %d %q", tc.name, resp.StatusCode, b.String(), tc.code, documented(tc.code))
		}
		if got := resp.Header.Get("Retry-After"); got != tc.retryAfter {
			t.Errorf("%s: Retry-After %q, protocol.md says %q", tc.name, got, tc.retryAfter)
		}
	}
}

// fernetAt makes a wire body whose Fernet token claims time ts (protocol.md
// §2: the layering written out, as a frontend in another language does it).
func fernetAt(t *testing.T, secret string, msg []byte, ts time.Time) []byte {
	t.Helper()
	key, err := base64.URLEncoding.DecodeString(secret)
	if err != nil || len(key) != 32 {
		t.Fatalf("bad key: %v", err)
	}
	block, err := aes.NewCipher(key[16:])
	if err != nil {
		t.Fatal(err)
	}
	pad := aes.BlockSize - len(msg)%aes.BlockSize
	plain := append(append([]byte{}, msg...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	tok := make([]byte, 1+8+aes.BlockSize, 1+8+aes.BlockSize+len(plain)+sha256.Size)
	tok[0] = 0x80
	binary.BigEndian.PutUint64(tok[1:9], uint64(ts.Unix()))
	if _, err := rand.Read(tok[9:25]); err != nil {
		t.Fatal(err)
	}
	ct := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, tok[9:25]).CryptBlocks(ct, plain)
	tok = append(tok, ct...)
	mac := hmac.New(sha256.New, key[:16])
	mac.Write(tok)
	tok = mac.Sum(tok)
	inner := base64.URLEncoding.EncodeToString(tok)
	return []byte(base64.StdEncoding.EncodeToString([]byte(inner)))
}

// TestDocProtocolFreshness: protocol.md §8 — with a request TTL of 120 s,
// tokens older than that or more than 60 s in the future are refused with
// 401, and each token is accepted once.
func TestDocProtocolFreshness(t *testing.T) {
	t.Parallel()
	doc := strings.Join(strings.Fields(protocolDoc(t)), " ")
	for _, claim := range []string{"default **120** seconds", "more than **60 s in the future**", "each token is accepted **once**"} {
		if !strings.Contains(doc, claim) {
			t.Fatalf("protocol.md no longer says %q; update this test with it", claim)
		}
	}
	const ttl = 120 * time.Second
	e := newEnv(t, identitytest.SQLite(t), withOptions(func(o *api.Options) {
		o.RequestTTL = ttl
		o.Replay = limiter.NewLocalReplay(1000, ttl)
	}))
	msg := []byte(`{"request": "session-exists", "body": {"session_token": "x"}, "reqid": 1, "client_ipaddr": "1.2.3.4"}`)
	now := time.Now()
	fresh := fernetAt(t, testSecret, msg, now.Add(-ttl+20*time.Second))
	cases := []struct {
		name string
		body []byte
		code int
	}{
		{"older than the TTL", fernetAt(t, testSecret, msg, now.Add(-ttl-5*time.Second)), 401},
		{"90 s in the future", fernetAt(t, testSecret, msg, now.Add(90*time.Second)), 401},
		{"30 s in the future", fernetAt(t, testSecret, msg, now.Add(30*time.Second)), 200},
		{"within the TTL", fresh, 200},
		{"the same token again", fresh, 401},
	}
	for _, tc := range cases {
		code, body, _ := rawPost(t, http.MethodPost, e.url+"/", tc.body, "")
		if code != tc.code {
			t.Errorf("%s: HTTP %d %q, want %d", tc.name, code, body, tc.code)
		}
	}
}
