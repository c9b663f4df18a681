package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchCommand runs every workload briefly against a real server.
func TestBenchCommand(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte(clusterKey), 0o600)
	port := freePort(t)
	start(t, bin, port, []string{
		"AUTHNZERVER_AUTHDB=sqlite:///" + filepath.Join(dir, "db.sqlite"), "AUTHNZERVER_SECRET=" + secret,
		"AUTHNZERVER_PIISALT=salt", "AUTHNZERVER_BASEDIR=" + dir, "AUTHNZERVER_RATELIMITS=none",
		"AUTHNZERVER_ARGON2PARAMS=m=1024,t=1,p=1", fmt.Sprintf("AUTHNZERVER_PORT=%d", port),
	})
	// --secret takes the key file, as the server's does.
	out, err := runCLI(t, nil, "bench", "--url", fmt.Sprintf("http://127.0.0.1:%d", port), "--secret", secret,
		"--duration", "300ms", "--concurrency", "1,4", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var results []benchResult
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(results) != 12 { // 6 workloads, 2 levels
		t.Fatalf("%d results", len(results))
	}
	for _, r := range results {
		if r.Requests == 0 || r.Errors != 0 || r.PerSecond <= 0 || r.P99ms < r.P50ms {
			t.Errorf("%+v", r)
		}
		// The server has /metrics: its CPU time per request and RSS are
		// reported.
		if r.ServerCPUus <= 0 || r.ServerRSSMB <= 0 {
			t.Errorf("no server figures: %+v", r)
		}
	}
}

// TestBenchSecretFile: --secret is the key or the path of a file holding it
// (newlines around it ignored), as for the server; anything else is refused
// before any request.
func TestBenchSecretFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte("\n"+clusterKey+"\n"), 0o600)
	badFile := filepath.Join(dir, "bad")
	os.WriteFile(badFile, []byte("not a key\n"), 0o600)
	url := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	refused := "authnzrv: --secret: not a Fernet key, nor the path of a file holding one\n"
	tests := []struct {
		name, secret string
		stderr       string // exact, or the start of it
	}{
		{"key", clusterKey, "authnzrv: session-exists: set-up: "},
		{"key file", keyFile, "authnzrv: session-exists: set-up: "},
		{"file holding no key", badFile, refused},
		{"neither", "not-a-key", refused},
		{"missing file", filepath.Join(dir, "absent"), refused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := cli(t, nil, "", "bench", "--url", url, "--secret", tc.secret, "--workloads", "session-exists", "--duration", "1ms")
			if r.code != 1 || !strings.HasPrefix(r.stderr, tc.stderr) {
				t.Fatalf("exit %d %q; want 1 with %q", r.code, r.stderr, tc.stderr)
			}
		})
	}
}

// TestBenchSpread: against the default rate limits, requests spread over
// --spread end users (client addresses, sessions, accounts) draw from that
// many buckets, so none empties while each gets fewer requests than the
// burst; from one user the burst is soon spent and 429s follow.
func TestBenchSpread(t *testing.T) {
	bin := binary(t)
	t.Parallel()
	dir := t.TempDir()
	port := freePort(t)
	start(t, bin, port, []string{
		"AUTHNZERVER_AUTHDB=sqlite:///" + filepath.Join(dir, "db.sqlite"), "AUTHNZERVER_SECRET=" + clusterKey,
		"AUTHNZERVER_PIISALT=salt", "AUTHNZERVER_BASEDIR=" + dir,
		"AUTHNZERVER_ARGON2PARAMS=m=1024,t=1,p=1", fmt.Sprintf("AUTHNZERVER_PORT=%d", port),
	})
	const burst = 150 // the default ratelimits' burst
	for _, spread := range []int{1, 32} {
		out, err := runCLI(t, nil, "bench", "--url", fmt.Sprintf("http://127.0.0.1:%d", port), "--secret", clusterKey,
			"--workloads", "session-exists,user-check-access", "--duration", "1s", "--concurrency", "4",
			"--spread", fmt.Sprint(spread), "--json")
		if err != nil {
			t.Fatalf("spread %d: %v\n%s", spread, err, out)
		}
		var results []benchResult
		if err := json.Unmarshal([]byte(out), &results); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		for _, r := range results {
			sent := r.Requests + r.Limited
			switch {
			case r.Errors != 0:
				t.Errorf("spread %d: errors: %+v", spread, r)
			case sent <= spread*burst && r.Limited != 0:
				t.Errorf("spread %d: %d of %d requests limited although no bucket got more than %d: %+v",
					spread, r.Limited, sent, burst, r)
			case spread == 1 && sent > 2*burst && r.Limited == 0:
				t.Errorf("one user sent %d requests and none was limited: %+v", sent, r)
			}
		}
	}
}
