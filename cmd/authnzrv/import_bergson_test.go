package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
	"github.com/authnzrv/authnzrv/identity/password"
	"github.com/authnzrv/authnzrv/wire/hawk"
)

// bergsonAccount is a row of the source's accounts table.
type bergsonAccount struct {
	username, password, salt, digest string
	enabled                          int
}

// bergsonSource creates the source's accounts table in a fresh MariaDB
// database (testdata/bergson/accounts.sql, ba_db_create_tables' CREATE
// TABLE) and fills it the way the source does: a random 16-byte salt in
// base64 and the PBKDF2-HMAC-SHA256 hex digest.
func bergsonSource(t *testing.T, rows []bergsonAccount) identitytest.DB {
	t.Helper()
	db := identitytest.MySQL(t)
	conn, err := sql.Open("mysql", db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ddl, err := os.ReadFile(filepath.Join("..", "..", "testdata", "bergson", "accounts.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(stripComments(string(ddl))); err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		if r.salt == "" {
			b := make([]byte, 16)
			rand.Read(b)
			r.salt = base64.StdEncoding.EncodeToString(b) // ba_password_create_salt
		}
		if r.digest == "" {
			r.digest = password.BergsonDigest(r.password, r.salt, 100_000) // ba_password_hashing
		}
		if _, err := conn.Exec("INSERT INTO accounts (enabled, username, password_hashed, salt, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
			r.enabled, r.username, r.digest, r.salt, 1445386845+i, nil); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// TestImportBergson: a Bergson Authenticator database on MariaDB is
// imported into each database kind, idempotently and with a report; the
// old passwords authenticate through the REST API of the served database
// and are rehashed to argon2id; disabled accounts stay disabled.
func TestImportBergson(t *testing.T) {
	rows := []bergsonAccount{
		// The source's own test vector (tests.py test_ba_password_hashing).
		{username: "vectoruser", password: "1dd57b94b4d31c0456589ae5ca7f5fcc1c09d1bec0d386c08f9ef8447901cc2d",
			salt: "giCLXllkoQTEyIg1M+XmMA==", digest: "02ec7fc293326887397dd8f1386e959784dd941cc690952db5f4d71c97960ce8", enabled: 1},
		{username: "johndoe", password: "YaQ903ENr", enabled: 1},
		{username: "janedoe", password: "YaQ--903E#Nr!938(3)8a", enabled: 0},
		{username: "Bad_User", password: "secret1", enabled: 1},
		{username: "brokenhash", password: "secret1", digest: "not hex", enabled: 1},
	}
	src := bergsonSource(t, rows)
	bin := binary(t)
	identitytest.Each(t, func(t *testing.T, target identitytest.DB) {
		dir := t.TempDir()
		env := []string{"AUTHNZERVER_AUTHDB=" + target.URL, "AUTHNZERVER_SECRET=" + clusterKey, "AUTHNZERVER_PIISALT=salt",
			"AUTHNZERVER_BASEDIR=" + dir, "AUTHNZERVER_ARGON2PARAMS=m=1024,t=1,p=1"}
		out, err := runCLI(t, env, "import", "--from", src.URL, "--bergson", "--json")
		if err != nil {
			t.Fatalf("import: %v\n%s", err, out)
		}
		var rep BergsonImportReport
		if err := json.Unmarshal([]byte(lastLine(out)), &rep); err != nil {
			t.Fatalf("report %q: %v", out, err)
		}
		if rep.Imported != 3 || rep.Skipped != 2 || rep.Updated+rep.Unchanged != 0 || len(rep.Notes) != 2 ||
			!strings.Contains(rep.Notes[0], "account id 4: the username") || !strings.Contains(rep.Notes[1], "account id 5: the stored password hash") {
			t.Fatalf("first import: %+v", rep)
		}
		if strings.Contains(out, "Bad_User") || strings.Contains(out, "brokenhash") {
			t.Fatal("the report names accounts")
		}
		out, err = runCLI(t, env, "import", "--from", src.URL, "--bergson=true", "--json")
		rep = BergsonImportReport{}
		if err != nil || json.Unmarshal([]byte(lastLine(out)), &rep) != nil || rep.Imported+rep.Updated != 0 || rep.Unchanged != 3 || rep.Skipped != 2 {
			t.Fatalf("second import: %v %+v", err, rep)
		}
		text, err := runCLI(t, env, "import", "--from", src.URL, "--bergson")
		if err != nil || !strings.Contains(text, "bergson accounts") || !strings.Contains(text, "note: account id 4") {
			t.Fatalf("text report: %v\n%s", err, text)
		}

		// Serve the imported database with the Bergson API on.
		port := freePort(t)
		cmd := start(t, bin, port, append(env, fmt.Sprintf("AUTHNZERVER_PORT=%d", port), "AUTHNZERVER_BERGSON=1"))
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		authenticate := func(user, pw string) (int, string) {
			res, err := http.Post(base+"/v1/account/authenticate", "application/json",
				strings.NewReader(fmt.Sprintf(`{"username": %q, "password": %q}`, user, pw)))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, string(b)
		}
		for _, r := range rows[:2] {
			for range 2 { // the second time on the argon2id hash
				if status, body := authenticate(r.username, r.password); status != 200 || body != `{"status": 1, "authenticated": true}` {
					t.Fatalf("%s with the old password: %d %s", r.username, status, body)
				}
			}
		}
		if status, body := authenticate("janedoe", rows[2].password); status != 403 || body != `{"error": "Access denied"}` {
			t.Fatalf("disabled account: %d %s", status, body)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()

		// The rehashed accounts are argon2id now, the disabled one is not,
		// and a third import leaves the rehashed ones alone.
		bdb, err := identity.Open(context.Background(), target.Driver, target.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer bdb.Close()
		st := identity.NewStore(bdb)
		for _, c := range []struct {
			user   string
			argon  bool
			active bool
		}{{"vectoruser", true, true}, {"johndoe", true, true}, {"janedoe", false, false}} {
			u, err := st.UserByEmail(context.Background(), c.user)
			if err != nil || strings.HasPrefix(u.Password, "$argon2id$") != c.argon || u.IsActive != c.active || !identity.IsBergsonAccount(u) {
				t.Fatalf("%s after authenticate: %+v %v", c.user, u, err)
			}
		}
		out, err = runCLI(t, env, "import", "--from", src.URL, "--bergson", "--json")
		rep = BergsonImportReport{}
		if err != nil || json.Unmarshal([]byte(lastLine(out)), &rep) != nil || rep.Unchanged != 1 || rep.Skipped != 4 {
			t.Fatalf("import after use: %v %+v", err, rep)
		}
	})
}

// lastLine is the last line of a command's output (runCLI mixes in stderr).
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestPolicyEvalHawk: `policy eval --hawk-sender NAME --path PATH` answers
// the Hawk policy with the senders file's endpoint lists (the cases of
// testdata/bergson/acl_cases.json).
func TestPolicyEvalHawk(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "bergson", "acl_cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Senders map[string][]string `json:"senders"`
		Cases   []struct {
			Sender, Path, Reason string
			Allowed              bool
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	senders := map[string]any{}
	for name, eps := range f.Senders {
		senders[name] = map[string]any{"key": "k-" + name, "algorithm": "sha256", "endpoints": eps}
	}
	file := filepath.Join(t.TempDir(), "senders.json")
	sb, _ := json.Marshal(senders)
	if err := os.WriteFile(file, sb, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.Cases {
		out, _, err := runPolicy(t, "", "eval", "--hawksenders", file, "--hawk-sender", c.Sender, "--path", c.Path)
		var got evalResult
		if err != nil || json.Unmarshal([]byte(out), &got) != nil {
			t.Fatalf("%s %s: %v %s", c.Sender, c.Path, err, out)
		}
		if got.Allowed != c.Allowed || got.Reason != c.Reason || strings.Contains(out, "k-"+c.Sender) {
			t.Fatalf("%s %s: %s", c.Sender, c.Path, out)
		}
	}
	if _, _, err := runPolicy(t, "", "eval", "--hawksenders", filepath.Join(t.TempDir(), "missing.json"), "--hawk-sender", "x", "--path", "/"); err == nil {
		t.Fatal("a missing senders file is not an error")
	}
}

// TestBergsonServeHawk: the served Bergson API reads the senders file and
// checks signatures; nonces are kept in the database, or with --redis in
// Redis, where a second instance refuses a request the first accepted.
func TestBergsonServeHawk(t *testing.T) {
	bin := binary(t)
	file := filepath.Join(t.TempDir(), "senders.json")
	if err := os.WriteFile(file, []byte(`{"someone": {"key": "`+keySomeoneCLI+`", "algorithm": "sha256", "endpoints": ["/v1/account/::0"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	redisURL := os.Getenv("AUTHNZRV_TEST_REDIS")
	instance := func(redis bool) string {
		env := []string{"AUTHNZERVER_AUTHDB=" + identitytest.SQLite(t).URL, "AUTHNZERVER_SECRET=" + clusterKey, "AUTHNZERVER_PIISALT=salt",
			"AUTHNZERVER_BASEDIR=" + t.TempDir(), "AUTHNZERVER_ARGON2PARAMS=m=1024,t=1,p=1", "AUTHNZERVER_BERGSON=1",
			"AUTHNZERVER_HAWKSENDERS=" + file}
		if redis {
			env = append(env, "AUTHNZERVER_REDIS="+redisURL)
		}
		port := freePort(t)
		cmd := start(t, bin, port, append(env, fmt.Sprintf("AUTHNZERVER_PORT=%d", port)))
		t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
		return fmt.Sprintf("127.0.0.1:%d", port)
	}
	send := func(addr, host, authz string) (int, string, string) {
		req, _ := http.NewRequest("GET", "http://"+addr+"/v1/account/exists?username=nobodyhere", nil)
		req.Host = host
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), res.Header.Get("Server-Authorization")
	}
	a := instance(false)
	h := signCLI(t, a, "/v1/account/exists", "username=nobodyhere")
	if status, body, sa := send(a, a, h); status != 404 || body != `{"error": "Account does not exist"}` || sa == "" {
		t.Fatalf("signed: %d %s %q", status, body, sa)
	}
	if status, _, _ := send(a, a, h); status != 401 {
		t.Fatalf("replay: %d", status)
	}
	if status, _, _ := send(a, a, ""); status != 401 {
		t.Fatalf("unsigned: %d", status)
	}
	if redisURL == "" {
		t.Skip("AUTHNZRV_TEST_REDIS is not set: skipping the shared-nonce part (e.g. AUTHNZRV_TEST_REDIS=redis://127.0.0.1:6379/0)")
	}
	b, c := instance(true), instance(true)
	h = signCLI(t, b, "/v1/account/exists", "username=nobodyhere")
	if status, _, _ := send(b, b, h); status != 404 {
		t.Fatalf("signed on b: %d", status)
	}
	if status, _, _ := send(c, b, h); status != 401 {
		t.Fatalf("replay on c: %d", status)
	}
}

const keySomeoneCLI = "8c7ac1b0b3ad4b6f9bd0d0e4c5e27d4b"

// signCLI signs a GET for addr as a Mohawk client would.
func signCLI(t *testing.T, addr, path, payload string) string {
	t.Helper()
	h, _, err := hawk.Sign(hawk.Credentials{ID: "someone", Key: []byte(keySomeoneCLI), Algorithm: hawk.SHA256}, "GET", "http://"+addr+path,
		hawk.SignOptions{ContentType: "text/plain", Payload: []byte(payload)})
	if err != nil {
		t.Fatal(err)
	}
	return h
}
