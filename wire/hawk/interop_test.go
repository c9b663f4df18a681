package hawk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// EnvNode names the node binary for the interop tests against @hapi/hawk.
const EnvNode = "AUTHNZRV_TEST_NODE"

// nodeBinary returns the node binary, skipping the test when EnvNode is not
// set and failing it when the Node modules are not installed.
func nodeBinary(t *testing.T) string {
	t.Helper()
	node := os.Getenv(EnvNode)
	if node == "" {
		t.Skip(EnvNode + " is not set: skipping the interop tests against @hapi/hawk " +
			"(run `npm ci --prefix testdata/hawk`, then set " + EnvNode + "=node)")
	}
	path, err := exec.LookPath(node)
	if err != nil {
		t.Fatalf("%s=%s: %v", EnvNode, node, err)
	}
	if _, err := os.Stat(filepath.Join(testdataDir, "node_modules", "@hapi", "hawk", "package.json")); err != nil {
		t.Fatalf("@hapi/hawk is not installed (%v): run `npm ci --prefix testdata/hawk` from the repository root", err)
	}
	return path
}

// runNode runs a script of testdata/hawk with in as JSON on stdin and
// decodes its JSON output into out.
func runNode(t *testing.T, node, script string, in, out any) {
	t.Helper()
	input, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = testdataDir
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	output, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.String())
	}
	if err := json.Unmarshal(output, out); err != nil {
		t.Fatalf("node %s output: %v\n%s", script, err, output)
	}
}

// nodeOutcome is one result of a node script.
type nodeOutcome struct {
	OK              bool   `json:"ok"`
	Error           string `json:"error"`
	Status          int    `json:"status"`
	WWWAuthenticate string `json:"wwwAuthenticate"`
	Header          string `json:"header"`
	Artifacts       struct {
		Resource string          `json:"resource"`
		Host     string          `json:"host"`
		Port     json.RawMessage `json:"port"`
	} `json:"artifacts"`
}

// sentinel maps @hapi/hawk's server.authenticate outcome to this package's
// error.
func (o nodeOutcome) sentinel() (error, bool) {
	switch {
	case o.OK:
		return nil, true
	case o.Error == "Bad mac":
		return ErrBadMAC, true
	case o.Error == "Bad payload hash", o.Error == "Missing required payload hash":
		return ErrBadHash, true
	case o.Error == "Invalid nonce":
		return ErrReplay, true
	case o.Error == "Stale timestamp":
		return ErrStale, true
	case o.Error == "Unknown credentials":
		return ErrUnknownID, true
	case o.Status == 400:
		return ErrMalformed, true
	case o.Status == 401 && o.WWWAuthenticate == "Hawk":
		return ErrMissing, true
	}
	return nil, false
}

// interopRequest is a request both sides sign.
type interopRequest struct {
	name, method, url, contentType string
	payload                        *string
	ext, app, dlg                  string
	creds                          Credentials
}

func str(s string) *string { return &s }

var interopRequests = []interopRequest{
	{name: "GET with ext", method: "GET", url: "https://example.com/resource/1?b=1&a=2", ext: "some-app-ext-data",
		creds: Credentials{ID: "dh37fgj492je", Key: []byte("werxhqb98rpaxn39848xrunpaw3489ruxnpa98w4rxn"), Algorithm: SHA256}},
	{name: "bergson form POST", method: "POST", url: "http://auth.example.org:8080/v1/api/user/create",
		contentType: "application/x-www-form-urlencoded", payload: str("password=s3cret&username=alice"),
		creds: Credentials{ID: "bergson-peer-1", Key: []byte("a longer key, with spaces: and symbols!"), Algorithm: SHA256}},
	{name: "sha1 PUT json", method: "PUT", url: "http://example.com:8000/x", contentType: "application/json; charset=utf-8",
		payload: str(`{"a":[1,2]}`), creds: Credentials{ID: "123456", Key: []byte("sha1 key"), Algorithm: SHA1}},
	{name: "app and dlg", method: "GET", url: "http://example.com:8000/oz", ext: "x", app: "app-1", dlg: "dlg-9", creds: testCreds},
	{name: "empty body, no content type", method: "POST", url: "http://example.com:8000/empty", payload: str(""), creds: testCreds},
	{name: "escaped path, sha1, no ext", method: "DELETE", url: "http://Example.com:9000/a%20b?x=%2F&y=",
		creds: Credentials{ID: "123456", Key: []byte("sha1 key"), Algorithm: SHA1}},
	{name: "utf-8 payload", method: "POST", url: "https://example.com/u", contentType: "text/plain", payload: str("h\u00e9llo \u2603"), creds: testCreds},
}

// jsonCredsOf is c as the node scripts take it.
func jsonCredsOf(c Credentials) jsonCreds {
	return jsonCreds{ID: c.ID, Key: string(c.Key), Algorithm: string(c.Algorithm)}
}

// serverCase is one request for both servers.
type serverCase struct {
	name        string
	req         Request
	creds       Credentials // the only credentials the server knows
	now         int64
	seen        []string // nonces already used
	requireHash bool
	want        error
}

// tamper returns the cases derived from a signed request: as signed, and
// with each part it covers changed.
func tamper(base Request, r interopRequest, ts int64, nonce string) []serverCase {
	otherKey := r.creds
	otherKey.Key = append([]byte("x"), r.creds.Key...)
	otherID := r.creds
	otherID.ID = "someone-else"
	c := func(name string, want error, mod func(*serverCase)) serverCase {
		sc := serverCase{name: name, req: base, creds: r.creds, now: ts, want: want}
		sc.req.Payload = slices.Clone(base.Payload)
		if mod != nil {
			mod(&sc)
		}
		return sc
	}
	mac := setAttr(base.Authorization, "mac", "A"+mustParse(base.Authorization).MAC[1:])
	if mac == base.Authorization {
		mac = setAttr(base.Authorization, "mac", "B"+mustParse(base.Authorization).MAC[1:])
	}
	cases := []serverCase{
		c("as signed", nil, nil),
		c("clock 59 s behind", nil, func(s *serverCase) { s.now = ts - 59 }),
		c("method", ErrBadMAC, func(s *serverCase) { s.req.Method = "PATCH" }),
		c("path", ErrBadMAC, func(s *serverCase) { s.req.Resource = "/other" + s.req.Resource }),
		c("query", ErrBadMAC, func(s *serverCase) { s.req.Resource += "&z=1" }),
		c("host", ErrBadMAC, func(s *serverCase) { s.req.Host = "evil.example" }),
		c("port", ErrBadMAC, func(s *serverCase) { s.req.Port++ }),
		c("ts", ErrBadMAC, func(s *serverCase) {
			s.req.Authorization = setAttr(s.req.Authorization, "ts", strconv.FormatInt(ts+1, 10))
		}),
		c("nonce", ErrBadMAC, func(s *serverCase) { s.req.Authorization = setAttr(s.req.Authorization, "nonce", nonce+"x") }),
		c("mac", ErrBadMAC, func(s *serverCase) { s.req.Authorization = mac }),
		c("key", ErrBadMAC, func(s *serverCase) { s.creds = otherKey }),
		c("unknown id", ErrUnknownID, func(s *serverCase) { s.creds = otherID }),
		c("replay", ErrReplay, func(s *serverCase) { s.seen = []string{nonce} }),
		c("stale", ErrStale, func(s *serverCase) { s.now = ts + 61 }),
		c("from the future", ErrStale, func(s *serverCase) { s.now = ts - 61 }),
		c("duplicate attribute", ErrMalformed, func(s *serverCase) { s.req.Authorization += `, nonce="n"` }),
		c("other scheme", ErrMissing, func(s *serverCase) { s.req.Authorization = "Basic YWxhZGRpbjpvcGVuc2VzYW1l" }),
		// The order of the checks: MAC, payload hash, nonce, timestamp.
		c("method and stale", ErrBadMAC, func(s *serverCase) { s.req.Method, s.now = "PATCH", ts+61 }),
		c("replayed and stale", ErrReplay, func(s *serverCase) { s.seen, s.now = []string{nonce}, ts-61 }),
	}
	if r.payload != nil {
		cases = append(cases,
			c("payload", ErrBadHash, func(s *serverCase) { s.req.Payload = append(s.req.Payload, '!') }),
			c("content type", ErrBadHash, func(s *serverCase) { s.req.ContentType = "application/octet-stream" }),
			c("payload and replayed", ErrBadHash, func(s *serverCase) {
				s.req.Payload = append(s.req.Payload, '!')
				s.seen = []string{nonce}
			}),
		)
	} else {
		cases = append(cases, c("payload hash required", ErrBadHash, func(s *serverCase) {
			s.requireHash = true
			s.req.Payload = []byte("unsigned")
		}))
	}
	return cases
}

func mustParse(h string) *Artifacts {
	a, err := ParseAuthorization(h)
	if err != nil {
		panic(fmt.Sprintf("%q: %v", h, err))
	}
	return a
}

// TestInteropServer: requests signed by @hapi/hawk's client.header and by
// Sign (which must write the same header) are accepted by Authenticate and
// by @hapi/hawk's server.authenticate; each tampered variant is refused by
// both, for the same reason.
func TestInteropServer(t *testing.T) {
	t.Parallel()
	node := nodeBinary(t)
	const ts = testTS // both servers' clocks are set per case (node's through localtimeOffsetMsec)

	type signCase struct {
		Credentials jsonCreds      `json:"credentials"`
		Method      string         `json:"method"`
		URL         string         `json:"url"`
		Options     map[string]any `json:"options"`
	}
	var signIn []signCase
	for i, r := range interopRequests {
		o := map[string]any{"timestamp": ts, "nonce": "nonce-" + strconv.Itoa(i)}
		for k, v := range map[string]string{"ext": r.ext, "app": r.app, "dlg": r.dlg, "contentType": r.contentType} {
			if v != "" {
				o[k] = v
			}
		}
		if r.payload != nil {
			o["payload"] = *r.payload
		}
		signIn = append(signIn, signCase{jsonCredsOf(r.creds), r.method, r.url, o})
	}
	var signed []nodeOutcome
	runNode(t, node, "sign.js", signIn, &signed)
	if len(signed) != len(interopRequests) {
		t.Fatalf("node signed %d of %d requests", len(signed), len(interopRequests))
	}

	var cases []serverCase
	for i, r := range interopRequests {
		if !signed[i].OK {
			t.Fatalf("%s: node could not sign: %s", r.name, signed[i].Error)
		}
		nonce := "nonce-" + strconv.Itoa(i)
		var payload []byte
		if r.payload != nil {
			payload = []byte(*r.payload)
		}
		header, art, err := Sign(r.creds, r.method, r.url, SignOptions{TS: ts, Nonce: nonce, ContentType: r.contentType, Payload: payload, Ext: r.ext, App: r.app, Dlg: r.dlg})
		if err != nil {
			t.Fatalf("%s: Sign: %v", r.name, err)
		}
		if header != signed[i].Header {
			t.Errorf("%s: Sign\n got %s\nnode %s", r.name, header, signed[i].Header)
		}
		na := signed[i].Artifacts
		nodePort, err := strconv.Atoi(string(bytes.Trim(na.Port, `"`)))
		if err != nil || na.Resource != art.Resource || na.Host != art.Host || nodePort != art.Port {
			t.Errorf("%s: node artifacts %s %s %s, ours %s %s %d", r.name, na.Resource, na.Host, na.Port, art.Resource, art.Host, art.Port)
		}
		for source, h := range map[string]string{"node": signed[i].Header, "go": header} {
			base := Request{Method: r.method, Resource: art.Resource, Host: art.Host, Port: art.Port, Authorization: h, ContentType: r.contentType, Payload: payload}
			for _, sc := range tamper(base, r, ts, nonce) {
				sc.name = r.name + "/signed by " + source + "/" + sc.name
				cases = append(cases, sc)
			}
		}
	}

	// @hapi/hawk's server on every case.
	type nodeServerCase struct {
		Request struct {
			Method        string `json:"method"`
			URL           string `json:"url"`
			Host          string `json:"host"`
			Port          int    `json:"port"`
			Authorization string `json:"authorization"`
			ContentType   string `json:"contentType"`
		} `json:"request"`
		Credentials jsonCreds `json:"credentials"`
		Now         int64     `json:"now"`
		Payload     *string   `json:"payload,omitempty"`
		SeenNonces  []string  `json:"seenNonces"`
	}
	var nodeIn []nodeServerCase
	for _, sc := range cases {
		var n nodeServerCase
		n.Request.Method, n.Request.URL, n.Request.Host, n.Request.Port = sc.req.Method, sc.req.Resource, sc.req.Host, sc.req.Port
		n.Request.Authorization, n.Request.ContentType = sc.req.Authorization, sc.req.ContentType
		n.Credentials, n.Now, n.SeenNonces = jsonCredsOf(sc.creds), sc.now, sc.seen
		// Authenticate checks a hash that is sent (and requires one when
		// told); @hapi/hawk does both exactly when given the payload.
		if a, err := ParseAuthorization(sc.req.Authorization); sc.requireHash || (err == nil && a.Hash != "") {
			n.Payload = str(string(sc.req.Payload))
		}
		nodeIn = append(nodeIn, n)
	}
	var nodeOut []nodeOutcome
	runNode(t, node, "server_authenticate.js", nodeIn, &nodeOut)
	if len(nodeOut) != len(cases) {
		t.Fatalf("node answered %d of %d cases", len(nodeOut), len(cases))
	}

	for i, sc := range cases {
		nodeErr, known := nodeOutcome.sentinel(nodeOut[i])
		if !known {
			t.Errorf("%s: unexpected node outcome %+v", sc.name, nodeOut[i])
		} else if nodeErr != sc.want {
			t.Errorf("%s: node says %v (%s), want %v", sc.name, nodeErr, nodeOut[i].Error, sc.want)
		}

		seen := slices.Clone(sc.seen)
		res, err := Authenticate(context.Background(), sc.req, Options{
			Lookup: lookupOf(sc.creds),
			CheckNonce: func(_ context.Context, _, nonce string, _ int64) (bool, error) {
				if slices.Contains(seen, nonce) {
					return false, nil
				}
				seen = append(seen, nonce)
				return true, nil
			},
			Now:                fixedClock(sc.now),
			RequirePayloadHash: sc.requireHash,
		})
		if sc.want == nil {
			if err != nil || res == nil {
				t.Errorf("%s: Authenticate: %v", sc.name, err)
			}
		} else if !errors.Is(err, sc.want) {
			t.Errorf("%s: Authenticate: %v, want %v", sc.name, err, sc.want)
		}
	}
}

// TestInteropClient: @hapi/hawk's client.authenticate accepts the
// Server-Authorization headers ServerAuthorization writes and the
// WWW-Authenticate challenges of StaleError, and refuses them when the
// response or the key differ.
func TestInteropClient(t *testing.T) {
	t.Parallel()
	node := nodeBinary(t)

	type nodeArtifacts struct {
		Method   string `json:"method"`
		Host     string `json:"host"`
		Port     int    `json:"port"`
		Resource string `json:"resource"`
		TS       int64  `json:"ts"`
		Nonce    string `json:"nonce"`
		Hash     string `json:"hash,omitempty"`
		Ext      string `json:"ext,omitempty"`
		App      string `json:"app,omitempty"`
		Dlg      string `json:"dlg,omitempty"`
	}
	type clientCase struct {
		Credentials jsonCreds         `json:"credentials"`
		Artifacts   nodeArtifacts     `json:"artifacts"`
		Headers     map[string]string `json:"headers"`
		Payload     *string           `json:"payload,omitempty"`
		Required    bool              `json:"required"`
	}
	var (
		in   []clientCase
		want []string // "" for success, else node's error message
		name []string
	)
	add := func(n string, c clientCase, w string) {
		in, want, name = append(in, c), append(want, w), append(name, n)
	}

	for i, r := range interopRequests {
		var payload []byte
		if r.payload != nil {
			payload = []byte(*r.payload)
		}
		header, reqArt, err := Sign(r.creds, r.method, r.url, SignOptions{TS: testTS, Nonce: "c" + strconv.Itoa(i), ContentType: r.contentType, Payload: payload, Ext: r.ext, App: r.app, Dlg: r.dlg})
		if err != nil {
			t.Fatal(err)
		}
		res, err := Authenticate(context.Background(), Request{
			Method: r.method, Resource: reqArt.Resource, Host: reqArt.Host, Port: reqArt.Port,
			Authorization: header, ContentType: r.contentType, Payload: payload,
		}, Options{Lookup: lookupOf(r.creds), CheckNonce: acceptAll, Now: fixedClock(testTS)})
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		ra := res.Artifacts
		na := nodeArtifacts{ra.Method, ra.Host, ra.Port, ra.Resource, ra.TS, ra.Nonce, ra.Hash, ra.Ext, ra.App, ra.Dlg}
		creds := jsonCredsOf(r.creds)
		otherKey := creds
		otherKey.Key += "x"

		const ct, body = "application/json", `{"status": true, "message": "h\u00e9"}`
		sa, err := ServerAuthorization(res, ct, []byte(body), "resp-ext")
		if err != nil {
			t.Fatal(err)
		}
		noHash, err := ServerAuthorization(res, "", nil, "")
		if err != nil {
			t.Fatal(err)
		}
		headers := func(kv ...string) map[string]string {
			m := map[string]string{"content-type": ct}
			for j := 0; j+1 < len(kv); j += 2 {
				m[kv[j]] = kv[j+1]
			}
			return m
		}
		add(r.name+"/signed response", clientCase{creds, na, headers("server-authorization", sa), str(body), true}, "")
		add(r.name+"/payload not checked", clientCase{creds, na, headers("server-authorization", sa), nil, true}, "")
		add(r.name+"/no hash, payload not checked", clientCase{creds, na, headers("server-authorization", noHash), nil, true}, "")
		add(r.name+"/no hash, payload checked", clientCase{creds, na, headers("server-authorization", noHash), str(body), true}, "Missing response hash attribute")
		add(r.name+"/payload", clientCase{creds, na, headers("server-authorization", sa), str(body + " "), true}, "Bad response payload mac")
		add(r.name+"/ext", clientCase{creds, na, headers("server-authorization", setAttr(sa, "ext", "other")), nil, true}, "Bad response mac")
		add(r.name+"/key", clientCase{otherKey, na, headers("server-authorization", sa), nil, true}, "Bad response mac")
		other := na
		other.Nonce += "x"
		add(r.name+"/other request", clientCase{creds, other, headers("server-authorization", sa), nil, true}, "Bad response mac")

		_, err = Authenticate(context.Background(), Request{
			Method: r.method, Resource: reqArt.Resource, Host: reqArt.Host, Port: reqArt.Port,
			Authorization: header, ContentType: r.contentType, Payload: payload,
		}, Options{Lookup: lookupOf(r.creds), CheckNonce: acceptAll, Now: fixedClock(testTS + 3600)})
		var se *StaleError
		if !errors.As(err, &se) {
			t.Fatalf("%s: not stale: %v", r.name, err)
		}
		add(r.name+"/stale challenge", clientCase{creds, na, headers("www-authenticate", se.WWWAuthenticate()), nil, false}, "")
		add(r.name+"/stale challenge, other key", clientCase{otherKey, na, headers("www-authenticate", se.WWWAuthenticate()), nil, false}, "Invalid server timestamp hash")
	}

	var out []nodeOutcome
	runNode(t, node, "client_authenticate.js", in, &out)
	if len(out) != len(in) {
		t.Fatalf("node answered %d of %d cases", len(out), len(in))
	}
	for i := range in {
		switch {
		case want[i] == "" && !out[i].OK:
			t.Errorf("%s: node refuses: %s", name[i], out[i].Error)
		case want[i] != "" && (out[i].OK || out[i].Error != want[i]):
			t.Errorf("%s: node says %+v, want %q", name[i], out[i], want[i])
		}
	}
}

// TestInteropVectorsCurrent: gen_vectors.js still prints exactly the
// committed vectors.json.
func TestInteropVectorsCurrent(t *testing.T) {
	t.Parallel()
	node := nodeBinary(t)
	cmd := exec.Command(node, "gen_vectors.js")
	cmd.Dir = testdataDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("gen_vectors.js: %v\n%s", err, stderr.String())
	}
	want, err := os.ReadFile(filepath.Join(testdataDir, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("testdata/hawk/vectors.json differs from what gen_vectors.js prints: regenerate it (cd testdata/hawk && node gen_vectors.js > vectors.json) and review the diff")
	}
}
