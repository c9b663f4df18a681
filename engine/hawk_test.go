package engine_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/authnzrv/authnzrv/engine"
)

// hawkCases are testdata/bergson/acl_cases.json.
type hawkCases struct {
	Senders map[string][]string `json:"senders"`
	Cases   []struct {
		Sender, Path, Reason string
		Allowed              bool
	} `json:"cases"`
}

// TestHawkDecisions: the senders' endpoint lists given in Options are the
// policy's data, and the engine answers the source's ACL cases.
func TestHawkDecisions(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../testdata/bergson/acl_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var hc hawkCases
	if err := json.Unmarshal(b, &hc); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e, err := engine.New(ctx, engine.Options{HawkSenders: hc.Senders})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range hc.Cases {
		t.Run(c.Sender+c.Path, func(t *testing.T) {
			t.Parallel()
			d, err := e.Hawk(ctx, engine.HawkInput{Sender: c.Sender, Path: c.Path})
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != c.Allowed || d.Reason != c.Reason {
				t.Fatalf("decision %+v, want allowed %v (%s)", d, c.Allowed, c.Reason)
			}
		})
	}
	// Without senders every sender is unknown.
	bare, err := engine.New(ctx, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := bare.Hawk(ctx, engine.HawkInput{Sender: "someone", Path: "/v1/account/authenticate"}); err != nil || d.Allowed {
		t.Fatalf("no senders: %+v, %v", d, err)
	}
}
