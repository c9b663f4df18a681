package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/fernet/fernet-go"

	"github.com/authnzrv/authnzrv/api"
	"github.com/authnzrv/authnzrv/client"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

const (
	body400 = "HTTP 400: Could not service this request because of invalid request parameters."
	body401 = "HTTP 401: Could not service this request because of invalid request authentication token or violation of host restriction."
	page404 = "<html><title>404: Not Found</title><body>404: Not Found</body></html>"
)

// rawPost sends body to path with method and returns status, body and content type.
func rawPost(t *testing.T, method, url string, body []byte, host string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Content-Type")
}

func seal(t *testing.T, secret string, msg string) []byte {
	t.Helper()
	k := fernet.MustDecodeKeys(secret)[0]
	tok, err := fernet.EncryptAndSign([]byte(msg), k)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(base64.StdEncoding.EncodeToString(tok))
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, identitytest.SQLite(t))
	valid := `{"request": "session-exists", "body": {"session_token": "x"}, "reqid": 1, "client_ipaddr": "1.2.3.4"}`
	tokOnly := func() []byte {
		b, _ := base64.StdEncoding.DecodeString(string(seal(t, testSecret, valid)))
		return b
	}
	cases := []struct {
		name string // checklist item
		body []byte
		code int
		want string
	}{
		{"3 wrong key", seal(t, otherSecret, valid), 401, body401},
		{"4 token without the outer base64", tokOnly(), 401, body401},
		{"truncated token", seal(t, testSecret, valid)[:60], 401, body401},
		{"5 empty body", nil, 401, body401},
		{"garbage", []byte("!!!not base64!!!"), 401, body401},
		{"6 not JSON", seal(t, testSecret, "this is not json"), 401, body401},
		{"7 {}", seal(t, testSecret, "{}"), 401, body401},
		{"7 []", seal(t, testSecret, "[]"), 401, body401},
		{"7 empty string", seal(t, testSecret, `""`), 401, body401},
		{"7 0", seal(t, testSecret, "0"), 401, body401},
		{"7 false", seal(t, testSecret, "false"), 401, body401},
		{"7 null", seal(t, testSecret, "null"), 401, body401},
		{"non-object JSON", seal(t, testSecret, `[1, 2]`), 400, body400},
		{"10 echo request on /", seal(t, testSecret, `{"request": "echo", "body": {}, "reqid": 1, "client_ipaddr": "1.2.3.4"}`), 400, body400},
		{"12 missing client_ipaddr", seal(t, testSecret, `{"request": "session-exists", "body": {"session_token": "x"}, "reqid": 1}`), 400, body400},
		{"15 body is a string", seal(t, testSecret, `{"request": "session-exists", "body": "x", "reqid": 1, "client_ipaddr": "1.2.3.4"}`), 400, body400},
		{"missing body", seal(t, testSecret, `{"request": "session-exists", "reqid": 1, "client_ipaddr": "1.2.3.4"}`), 400, body400},
		{"oversized body", bytes.Repeat([]byte("A"), 65<<10), 413, "HTTP 413: Could not service this request."},
		{"whitespace around the body is fine", append(append([]byte("\n  "), seal(t, testSecret, valid)...), '\n'), 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body, ctype := rawPost(t, http.MethodPost, e.url+"/", tc.body, "")
			if code != tc.code {
				t.Fatalf("status %d, want %d (body %q)", code, tc.code, body)
			}
			if tc.want != "" && (body != tc.want || ctype != "text/plain; charset=UTF-8") {
				t.Fatalf("body %q (%s), want %q", body, ctype, tc.want)
			}
		})
	}
}

func TestEnvelopeReplies(t *testing.T) {
	e := newEnv(t, identitytest.SQLite(t))
	ctx := context.Background()
	// 2: reqid echoed as the same JSON value.
	for _, reqid := range []string{`101`, `"a-1"`, `0`, `{"nested": [1, 2]}`} {
		env := map[string]any{"request": "session-exists", "body": map[string]any{"session_token": "x"},
			"reqid": json.RawMessage(reqid), "client_ipaddr": "1.2.3.4"}
		r, err := e.c.DoEnvelope(ctx, env, json.RawMessage(reqid))
		if err != nil {
			t.Fatalf("reqid %s: %v", reqid, err)
		}
		// 17, 18: response carries success/messages/failure_reason copies.
		if r.Response["success"] != false || r.Reason() != "session does not exist or expired" || r.Response["failure_reason"] != r.Reason() {
			t.Fatalf("reply %+v", r)
		}
	}
	// Unknown request type: encrypted envelope naming the problem (quirk #3, decided).
	r, err := e.c.Do(ctx, "foo-bar", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, r, false, "request 'foo-bar' is not a valid request", "request 'foo-bar' is not a valid request")
	// Missing reqid: encrypted envelope (quirk #4, decided), reqid null.
	r, err = e.c.DoEnvelope(ctx, map[string]any{"request": "session-exists", "body": map[string]any{"session_token": "x"}, "client_ipaddr": "1.2.3.4"}, json.RawMessage("null"))
	if err != nil {
		t.Fatal(err)
	}
	expect(t, r, false, "request is missing 'reqid'")
	// 21: a client's body.reqid / pii_salt have no effect; 39: extra keys ignored.
	r = e.do("session-exists", map[string]any{"session_token": "x", "reqid": 99, "pii_salt": "mine", "extra": true})
	expect(t, r, false, "session does not exist or expired")
	// 19: a success has no top-level failure_reason.
	tok := e.newSession(nil)
	r = e.do("session-exists", map[string]any{"session_token": tok})
	if r.FailureReason != nil {
		t.Fatal("failure_reason on a success")
	}
}

func TestArgumentValidation(t *testing.T) {
	e := newEnv(t, identitytest.SQLite(t))
	type prob struct {
		param, problem string
		typ            any
		required       bool
	}
	cases := []struct {
		name    string // checklist item
		request string
		body    map[string]any
		want    []prob
	}{
		{"29 missing user_id", "session-new", map[string]any{"ip_address": "1.2.3.4", "user_agent": "x", "expires": "x", "extra_info_json": nil},
			[]prob{{"user_id", "missing", []any{"int", "None"}, true}}},
		{"32 float for int", "user-logout", map[string]any{"session_token": "x", "user_id": 1.5},
			[]prob{{"user_id", "incorrect type", "int", true}}},
		{"33 int for float kwarg", "user-validatepass", map[string]any{"password": "x", "email": "a@b.org", "full_name": "n", "max_character_frequency": 1},
			[]prob{{"max_character_frequency", "incorrect type", "float", false}}},
		{"35 null for Any", "user-check-limit", map[string]any{"user_id": 1, "user_role": "superuser", "limit_name": "x", "value_to_check": nil},
			[]prob{{"value_to_check", "incorrect type", "Any", true}}},
		{"36 int for bool", "session-delete-userid", map[string]any{"session_token": "", "user_id": 1, "keep_current_session": 1},
			[]prob{{"keep_current_session", "incorrect type", "bool", true}}},
		{"37 string for float,int", "apikey-new", map[string]any{"issuer": "i", "audience": "a", "subject": "s", "apiversion": 1,
			"expires_days": 1, "not_valid_before": "1", "user_id": 1, "user_role": "r", "ip_address": "1.2.3.4", "user_agent": "u", "session_token": "t"},
			[]prob{{"not_valid_before", "incorrect type", []any{"float", "int"}, true}}},
		{"38 args first then kwargs", "user-validatepass", map[string]any{"password": "x", "email": "a@b.org", "min_pass_length": "ten"},
			[]prob{{"full_name", "missing", "str", true}, {"min_pass_length", "incorrect type", "int", false}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.request, tc.body)
			if r.Success || r.FailureReason != nil {
				t.Fatalf("validation failure must have success false and no top-level failure_reason: %+v", r)
			}
			if !messagesEqual(r.Messages, "request '"+tc.request+"' has invalid parameters") {
				t.Fatalf("messages %q", r.Messages)
			}
			inner := r.Response["response"].(map[string]any)
			if inner["failure_reason"] != "invalid request parameters" {
				t.Fatalf("inner %v", inner)
			}
			got, _ := json.Marshal(inner["problems"])
			var want []map[string]any
			for _, p := range tc.want {
				want = append(want, map[string]any{"param": p.param, "problem": p.problem, "required_type": p.typ, "required_param": p.required})
			}
			wantJSON, _ := json.Marshal(want)
			if string(got) != string(wantJSON) {
				t.Fatalf("problems\n got %s\nwant %s", got, wantJSON)
			}
		})
	}
	// 34: a falsy kwarg is not type-checked (and the request then runs — or,
	// while user-validatepass is not implemented, is answered as such).
	r := e.do("user-validatepass", map[string]any{"password": "x", "email": "a@b.org", "full_name": "n", "max_character_frequency": 0})
	if _, isValidation := r.Response["response"]; isValidation {
		t.Fatalf("falsy kwarg was type-checked: %+v", r)
	}
}

func TestHostsMethodsAndPaths(t *testing.T) {
	e := newEnv(t, identitytest.SQLite(t))
	good := seal(t, testSecret, `{"request": "session-exists", "body": {"session_token": "x"}, "reqid": 1, "client_ipaddr": "1.2.3.4"}`)
	cases := []struct {
		name, method, path, host string
		body                     []byte
		code                     int
		want                     string
	}{
		{"22 bad host", "POST", "/", "evil.example", good, 404, page404},
		{"23 host with port", "POST", "/", "localhost:13431", good, 200, ""},
		{"23 host upper-case", "POST", "/", "LOCALHOST", good, 200, ""},
		{"25 GET /", "GET", "/", "", nil, 405, "HTTP 405: Could not service this request."},
		{"OPTIONS /", "OPTIONS", "/", "", nil, 405, "HTTP 405: Could not service this request."},
		{"26 POST /health", "POST", "/health", "", nil, 405, "HTTP 405: Could not service this request."},
		{"27 unknown path", "GET", "/no-such-path", "", nil, 404, page404},
		{"trailing slash", "GET", "/health/", "", nil, 404, page404},
		{"213 echo without debug mode", "POST", "/echo", "", good, 404, page404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body, _ := rawPost(t, tc.method, e.url+tc.path, tc.body, tc.host)
			if code != tc.code || (tc.want != "" && body != tc.want) {
				t.Fatalf("%s %s: %d %q, want %d %q", tc.method, tc.path, code, body, tc.code, tc.want)
			}
		})
	}
	// 24: a custom allowed-hosts list.
	e2 := newEnv(t, identitytest.SQLite(t), withOptions(func(o *api.Options) { o.AllowedHosts = "authnzerver;localhost" }))
	if code, _, _ := rawPost(t, "POST", e2.url+"/", good, "authnzerver"); code != 200 {
		t.Fatalf("allowed host refused: %d", code)
	}
	if code, _, _ := rawPost(t, "POST", e2.url+"/", good, "127.0.0.1"); code != 404 {
		t.Fatalf("host outside the list: %d", code)
	}
}

func TestHealthAndEcho(t *testing.T) {
	e := newEnv(t, identitytest.SQLite(t), withOptions(func(o *api.Options) { o.DebugMode = true }))
	code, body, ctype := rawPost(t, "GET", e.url+"/health", nil, "")
	if code != 200 || ctype != "application/json; charset=UTF-8" {
		t.Fatalf("/health %d %s %s", code, ctype, body)
	}
	var h map[string]any
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatal(err)
	}
	w, _ := h["Workers"].(map[string]any)
	if h["Health-Ok"] != true || h["Expected-Workers"] != 2.0 || len(w) != 2 || h["Policy-Revision"] == "" {
		t.Fatalf("health %v", h)
	}
	for _, v := range w {
		if v != "ok" {
			t.Fatalf("worker %v", v)
		}
	}
	// 212: echo in debug mode from 127.0.0.1.
	plain, err := e.c.Post(context.Background(), "/echo", seal(t, testSecret, `{"request": "echo", "reqid": 5, "x": [1]}`))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(plain, &got); err != nil {
		t.Fatal(err)
	}
	roles, _ := got["dbtest"].([]any)
	if got["reqid"] != 5.0 || len(roles) != 5 || roles[0].(map[string]any)["desc"] != "Role with superuser privileges" {
		t.Fatalf("echo %v", got)
	}
	// 213
	_, err = e.c.Post(context.Background(), "/echo", seal(t, testSecret, `{"request": "session-new", "reqid": 5}`))
	var se *client.StatusError
	if !errors.As(err, &se) || se.Code != 400 {
		t.Fatalf("echo of another request: %v", err)
	}
	_, err = e.c.Post(context.Background(), "/echo", seal(t, otherSecret, `{"request": "echo", "reqid": 5}`))
	if !errors.As(err, &se) || se.Code != 401 {
		t.Fatalf("echo with a bad key: %v", err)
	}
	// Health is 500 when the database is broken (quirk #8 fixed).
	e.sql("UPDATE users SET user_role = 'staff' WHERE user_id = 1")
	code, body, _ = rawPost(t, "GET", e.url+"/health", nil, "")
	if code != 500 || !strings.Contains(body, `"Health-Ok":false`) {
		t.Fatalf("broken health: %d %s", code, body)
	}
}
