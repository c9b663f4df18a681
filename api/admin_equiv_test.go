package api

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/authnzrv/authnzrv/engine"
)

// The administrative rules used to be Go code in the handlers. They are
// now the admin policy (policies/authnzrv/admin). This test pins the policy
// to the decisions of the Go rules on an enumerated table,
// testdata/decisions/admin.json: 4,290 questions (every operation over the
// ids, roles, flags, keys and actions that change its answer), generated
// from those Go rules and checked against the policy in the commit before
// the rules were deleted (git log testdata/decisions/admin.json).

// adminCase is one enumerated question and the Go rules' answer.
type adminCase struct {
	Op         string   `json:"op"`
	ActorID    int64    `json:"actor_id,omitempty"`
	ActorRole  string   `json:"actor_role,omitempty"`
	Session    bool     `json:"session,omitempty"`
	TargetID   int64    `json:"target_id,omitempty"`
	TargetRole string   `json:"target_role,omitempty"`
	Active     bool     `json:"active,omitempty"`
	Verified   bool     `json:"verified,omitempty"`
	Keys       []string `json:"keys,omitempty"`
	NewRole    string   `json:"new_role,omitempty"`
	Action     string   `json:"action,omitempty"`
	Superusers int      `json:"superusers,omitempty"`
	Deny       string   `json:"deny"`
}

func (c adminCase) input() engine.AdminInput {
	return engine.AdminInput{
		Op:     c.Op,
		Actor:  engine.AdminUser{UserID: c.ActorID, Role: c.ActorRole, Session: c.Session},
		Target: engine.AdminUser{UserID: c.TargetID, Role: c.TargetRole, Active: c.Active, Verified: c.Verified},
		Keys:   c.Keys, NewRole: c.NewRole, Action: c.Action, Superusers: c.Superusers,
	}
}

const adminGolden = "../testdata/decisions/admin.json"

// TestAdminPolicyEqualsGoRules: the admin policy answers every question of
// the table as the Go rules did.
func TestAdminPolicyEqualsGoRules(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(adminGolden)
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Cases []adminCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden.Cases) < 4000 {
		t.Fatalf("the table has only %d cases", len(golden.Cases))
	}
	e, err := engine.New(context.Background(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mismatches := 0
	for _, c := range golden.Cases {
		d, err := e.Admin(context.Background(), c.input())
		if err != nil {
			t.Fatal(err)
		}
		got := d.Rule
		if d.Allowed {
			got = ""
		}
		if got != c.Deny {
			mismatches++
			if mismatches < 20 {
				t.Errorf("%s: policy %q, Go rules %q", describe(c), got, c.Deny)
			}
		}
	}
	if mismatches > 0 {
		t.Fatalf("%d of %d cases differ", mismatches, len(golden.Cases))
	}
}

func describe(c adminCase) string {
	return fmt.Sprintf("%s actor=%d/%s session=%t target=%d/%s active=%t verified=%t keys=[%s] new_role=%q action=%q superusers=%d",
		c.Op, c.ActorID, c.ActorRole, c.Session, c.TargetID, c.TargetRole, c.Active, c.Verified,
		strings.Join(c.Keys, ","), c.NewRole, c.Action, c.Superusers)
}
