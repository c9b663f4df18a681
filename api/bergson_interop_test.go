package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// envNode names the node binary for the interop tests against @hapi/hawk.
const envNode = "AUTHNZRV_TEST_NODE"

// hawkScripts is testdata/hawk, where @hapi/hawk is pinned.
var hawkScripts = filepath.Join("..", "testdata", "hawk")

// nodeBinary returns the node binary, skipping the test when envNode is not
// set and failing it when the Node modules are not installed.
func nodeBinary(t *testing.T) string {
	t.Helper()
	node := os.Getenv(envNode)
	if node == "" {
		t.Skip(envNode + " is not set: skipping the Bergson interop tests against @hapi/hawk " +
			"(run `npm ci --prefix testdata/hawk`, then set " + envNode + "=node)")
	}
	path, err := exec.LookPath(node)
	if err != nil {
		t.Fatalf("%s=%s: %v", envNode, node, err)
	}
	if _, err := os.Stat(filepath.Join(hawkScripts, "node_modules", "@hapi", "hawk", "package.json")); err != nil {
		t.Fatalf("@hapi/hawk is not installed (%v): run `npm ci --prefix testdata/hawk` from the repository root", err)
	}
	return path
}

// nodeCase is one request of testdata/hawk/bergson_client.js.
type nodeCase struct {
	Credentials        map[string]string `json:"credentials"`
	Method             string            `json:"method"`
	URL                string            `json:"url"`
	ContentType        string            `json:"contentType,omitempty"`
	Body               *string           `json:"body,omitempty"`
	Payload            string            `json:"payload"`
	SendTimes          int               `json:"sendTimes,omitempty"`
	TimestampOffsetSec int               `json:"timestampOffsetSec,omitempty"`
}

type nodeResult struct {
	OK        bool   `json:"ok"`
	Error     string `json:"error"`
	Responses []struct {
		Status              int    `json:"status"`
		Body                string `json:"body"`
		ServerAuthorization string `json:"serverAuthorization"`
		Verified            bool   `json:"verified"`
		VerifyError         string `json:"verifyError"`
	} `json:"responses"`
}

// TestBergsonHawkInterop: requests signed by @hapi/hawk (the reference Hawk
// implementation) over real HTTP are accepted, tampered ones refused, and
// the server's Server-Authorization headers pass its client.authenticate.
func TestBergsonHawkInterop(t *testing.T) {
	t.Parallel()
	node := nodeBinary(t)
	e := bergsonEnv(t, identitytest.SQLite(t), testSenders())
	e.account("nodeuser", "secret1", false, "")
	e.account("nodeold", "secret1", false, "giCLXllkoQTEyIg1M+XmMA==")
	other := map[string]string{"id": "otherone", "key": keyOther, "algorithm": "sha256"}
	someone := map[string]string{"id": "someone", "key": keySomeone, "algorithm": "sha256"}
	wrong := map[string]string{"id": "someone", "key": "not the key", "algorithm": "sha256"}
	str := func(s string) *string { return &s }
	const (
		ctJSON    = "application/json"
		sigFailed = `{"error": "Signature validation of your request failed."}`
	)
	type nodeWant struct {
		status   int
		body     string
		verified bool // the answer's Server-Authorization passes client.authenticate
	}
	type interopCase struct {
		name string
		c    nodeCase
		want []nodeWant // one per send
	}
	var cases []interopCase
	add := func(name string, c nodeCase, want ...nodeWant) { cases = append(cases, interopCase{name, c, want}) }
	add("create", nodeCase{Credentials: other, Method: "POST", URL: e.url + "/v1/account/create", ContentType: ctJSON,
		Body: str(`{"username":"nodenew","password":"secret1"}`), Payload: "password=secret1&username=nodenew"},
		nodeWant{200, `{"status": 1, "username": "nodenew"}`, true})
	add("authenticate, then its replay", nodeCase{Credentials: someone, Method: "POST", URL: e.url + "/v1/account/authenticate", ContentType: ctJSON,
		Body: str(`{"username":"nodeuser","password":"secret1"}`), Payload: "password=secret1&username=nodeuser", SendTimes: 2},
		nodeWant{200, `{"status": 1, "authenticated": true}`, true}, nodeWant{401, sigFailed, false})
	add("authenticate an imported account", nodeCase{Credentials: someone, Method: "POST", URL: e.url + "/authenticate", ContentType: ctJSON,
		Body: str(`{"username":"nodeold","password":"secret1"}`), Payload: "password=secret1&username=nodeold"},
		nodeWant{200, `{"status": 1, "authenticated": true}`, true})
	add("wrong password is a signed 403", nodeCase{Credentials: someone, Method: "POST", URL: e.url + "/v1/account/authenticate", ContentType: ctJSON,
		Body: str(`{"username":"nodeuser","password":"secret2"}`), Payload: "password=secret2&username=nodeuser"},
		nodeWant{403, `{"error": "Access denied"}`, true})
	add("exists with the query signed", nodeCase{Credentials: other, Method: "GET", URL: e.url + "/v1/account/exists?username=nodeuser",
		Payload: "username=nodeuser", ContentType: "text/plain"},
		nodeWant{200, `{"status": 1, "message": "Account exists"}`, true})
	add("form-encoded passwordchange", nodeCase{Credentials: other, Method: "PUT", URL: e.url + "/v1/account/passwordchange",
		ContentType: "application/x-www-form-urlencoded", Body: str("username=nodeuser&password=secret3"), Payload: "password=secret3&username=nodeuser"},
		nodeWant{200, `{"status": 1, "message": "Updated password"}`, true})
	add("tampered body", nodeCase{Credentials: someone, Method: "POST", URL: e.url + "/v1/account/authenticate", ContentType: ctJSON,
		Body: str(`{"username":"nodeuser","password":"secret4"}`), Payload: "password=secret3&username=nodeuser"},
		nodeWant{401, sigFailed, false})
	add("wrong key", nodeCase{Credentials: wrong, Method: "POST", URL: e.url + "/v1/account/authenticate", ContentType: ctJSON,
		Body: str(`{"username":"nodeuser","password":"secret3"}`), Payload: "password=secret3&username=nodeuser"},
		nodeWant{401, sigFailed, false})
	add("stale timestamp", nodeCase{Credentials: someone, Method: "POST", URL: e.url + "/v1/account/authenticate", ContentType: ctJSON,
		Body: str(`{"username":"nodeuser","password":"secret3"}`), Payload: "password=secret3&username=nodeuser", TimestampOffsetSec: -3600},
		nodeWant{401, sigFailed, false})
	add("endpoint outside the sender's list", nodeCase{Credentials: someone, Method: "PUT", URL: e.url + "/v1/account/disable", ContentType: ctJSON,
		Body: str(`{"username":"nodeuser"}`), Payload: "username=nodeuser"},
		nodeWant{401, `{"error": "Access to resource is denied"}`, false})

	in := make([]nodeCase, len(cases))
	for i, c := range cases {
		in[i] = c.c
	}
	input, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "bergson_client.js")
	cmd.Dir = hawkScripts
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var results []nodeResult
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(cases) {
		t.Fatalf("node output (%v): %s", err, out)
	}
	for i, c := range cases {
		r := results[i]
		if !r.OK || len(r.Responses) != len(c.want) {
			t.Errorf("%s: %+v", c.name, r)
			continue
		}
		for j, w := range c.want {
			got := r.Responses[j]
			if got.Status != w.status || got.Body != w.body || got.Verified != w.verified {
				t.Errorf("%s (send %d): %d %s verified=%v (%s), want %d %s verified=%v", c.name, j+1,
					got.Status, got.Body, got.Verified, got.VerifyError, w.status, w.body, w.verified)
			}
		}
	}
	e.checkAccount(t, accountState{Username: "nodeuser", Exists: true, Password: "secret3"})
	e.checkAccount(t, accountState{Username: "nodeold", Exists: true, Password: "secret1", Argon2id: ptr(true)})
}

func ptr[T any](v T) *T { return &v }
