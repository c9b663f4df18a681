package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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
	out, err := runCLI(t, nil, "bench", "--url", fmt.Sprintf("http://127.0.0.1:%d", port), "--secret", clusterKey,
		"--duration", "300ms", "--concurrency", "1,4", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var results []benchResult
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(results) != 10 {
		t.Fatalf("%d results", len(results))
	}
	for _, r := range results {
		if r.Requests == 0 || r.Errors != 0 || r.PerSecond <= 0 || r.P99ms < r.P50ms {
			t.Errorf("%+v", r)
		}
	}
}
