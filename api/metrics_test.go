package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/authnzrv/authnzrv/api"
	"github.com/authnzrv/authnzrv/identity/identitytest"
)

func TestMetrics(t *testing.T) {
	m := api.NewMetrics()
	e := newEnv(t, identitytest.SQLite(t), withOptions(func(o *api.Options) { o.Metrics = m }))
	m.RegisterRevision(func() string { return "rev123" })
	e.do("session-exists", map[string]any{"session_token": "nope"})
	e.do("no-such-request", map[string]any{})
	u := e.verifiedUser("four@example.org")
	e.do("user-check-access", map[string]any{"user_id": u, "user_role": "authenticated", "action": "view",
		"target_name": "dataset", "target_owner": u, "target_visibility": "private", "target_sharedwith": ""})
	if code, _, _ := rawPost(t, "POST", e.url+"/", []byte("garbage"), ""); code != 401 {
		t.Fatalf("garbage: %d", code)
	}
	if code, _, _ := rawPost(t, "POST", e.url+"/metrics", nil, ""); code != 405 {
		t.Fatalf("POST /metrics: %d", code)
	}
	resp, err := http.Get(e.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`authnzrv_requests_total{outcome="failure",request="session-exists"} 1`,
		`authnzrv_requests_total{outcome="failure",request="unknown"} 1`,
		`authnzrv_requests_total{outcome="success",request="user-check-access"} 1`,
		`authnzrv_requests_total{outcome="http_401",request="none"} 1`,
		`authnzrv_request_duration_seconds_count{request="user-new"} 1`,
		`authnzrv_policy_decisions_total{kind="access",result="allowed"} 1`,
		`authnzrv_policy_decision_seconds_count{kind="access"} 1`,
		`authnzrv_policy_revision_info{revision="rev123"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
