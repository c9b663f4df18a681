package api_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/identity/identitytest"
	"github.com/authnzrv/authnzrv/identity/pii"
)

// syncBuffer is a bytes.Buffer safe for the engine's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDecisionLog: with a decision log, every policy decision of a request
// is one JSON line with its kind, the rule that decided, the input's
// digest, the request's reqid and the requester hashed, never the raw id.
func TestDecisionLog(t *testing.T) {
	t.Parallel()
	var log syncBuffer
	h, err := pii.New("test salt")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, identitytest.SQLite(t), withEngine(func(o *engine.Options) { o.DecisionLog = &log; o.PII = h.Hash }))
	u := e.verifiedUser("four@example.org")
	e.do("user-check-access", map[string]any{"user_id": u, "user_role": "authenticated", "action": "view",
		"target_name": "dataset", "target_owner": u, "target_visibility": "private", "target_sharedwith": ""})
	var access map[string]any
	kinds := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		kinds[m["kind"].(string)]++
		if m["kind"] == "access" {
			access = m
		}
	}
	if access == nil || kinds["roles"] == 0 {
		t.Fatalf("decision kinds %v", kinds)
	}
	if access["allowed"] != true || access["rule"] != "granted" || len(access["input_sha256"].(string)) != 64 ||
		access["subject"] != h.Hash(u) || access["reqid"] == "" || access["revision"] == "" {
		t.Fatalf("access line %v", access)
	}
	if strings.Contains(log.String(), "four@example.org") {
		t.Fatal("an e-mail reached the decision log")
	}
}
