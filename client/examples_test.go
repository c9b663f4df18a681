package client_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/client/frontend/frontendtest"
)

// wrongSecret is a valid Fernet key the test servers do not share.
const wrongSecret = "0aVGrC6WLGQe8DPPVJ6Jb5_nDrwRbbNTq6fakBAMHTs="

// exampleCase runs one frontend example (client/examples) with its
// runtime against an in-process server.
type exampleCase struct {
	name   string
	secret string
	// ok: the example must exit 0 and print want; else exit non-zero
	// with want on stderr.
	ok   bool
	want string
}

// runExamples runs script with the runtime named by envVar (skipping when
// it is unset) for each case.
func runExamples(t *testing.T, envVar, why, script string, cases []exampleCase) {
	t.Helper()
	runtime := os.Getenv(envVar)
	if runtime == "" {
		t.Skipf("%s is not set: %s", envVar, why)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := frontendtest.New(t)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, runtime, script)
			cmd.Env = append(os.Environ(), "AUTHNZRV_URL="+srv.URL, "AUTHNZRV_SECRET="+tc.secret)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if tc.ok {
				if err != nil || strings.TrimSpace(stdout.String()) != tc.want {
					t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s\nwant stdout %q", runtime, script, err, &stdout, &stderr, tc.want)
				}
				n, err := srv.Store.CountSessions(context.Background(), 2)
				if err != nil || n != 1 {
					t.Fatalf("the server has %d anonymous sessions (%v), want the example's one", n, err)
				}
				return
			}
			if err == nil || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("%s %s with the wrong key: %v\nstderr: %s\nwant a failure mentioning %q", runtime, script, err, &stderr, tc.want)
			}
		})
	}
}

// TestExamplePython runs client/examples/python against a server.
func TestExamplePython(t *testing.T) {
	t.Parallel()
	runExamples(t, "AUTHNZRV_TEST_PYTHON", "the path of a python3 with the cryptography package (Debian: /usr/bin/python3 with python3-cryptography)",
		"examples/python/authnzrv_client.py", []exampleCase{
			{name: "shared key", secret: frontendtest.Secret, ok: true, want: "session-exists: True user_id: 2"},
			{name: "wrong key", secret: wrongSecret, want: "HTTP Error 401"},
		})
}

// TestExampleNode runs client/examples/node against a server.
func TestExampleNode(t *testing.T) {
	t.Parallel()
	runExamples(t, "AUTHNZRV_TEST_NODE", "the path of node (Node.js 18 or newer)",
		"examples/node/client.js", []exampleCase{
			{name: "shared key", secret: frontendtest.Secret, ok: true, want: "session-exists: true user_id: 2"},
			{name: "wrong key", secret: wrongSecret, want: "HTTP 401"},
		})
}
