package api

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/authnzrv/authnzrv/engine"
)

// The administrative rules used to be Go code in the handlers. They are
// now the admin policy (policies/authnzrv/admin). This test pins the policy
// to the decisions of the Go rules on an enumerated table,
// testdata/decisions/admin.json, which was generated from those Go rules
// (legacyAdmin, kept below while both existed) before they were deleted.

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

var modelRoles = []string{"superuser", "staff", "authenticated", "anonymous", "locked"}

// legacyAdmin is the Go rules as the handlers had them (api/actions_*.go
// before the admin policy), answering with the policy's deny codes.
func legacyAdmin(c adminCase) string {
	system := c.TargetID == 2 || c.TargetID == 3
	switch c.Op {
	case "user-edit":
		switch {
		case system:
			return "system_user"
		case c.TargetID == c.ActorID && (c.ActorRole == "authenticated" || c.ActorRole == "staff"):
			if !c.Session {
				return "no_session_self"
			}
			for _, k := range c.Keys {
				if k != "full_name" && k != "email" {
					return "keys_self"
				}
			}
		case c.ActorRole == "superuser":
			if !c.Session {
				return "no_session_superuser"
			}
			for _, k := range c.Keys {
				if !slices.Contains([]string{"full_name", "email", "is_active", "user_role", "email_verified"}, k) {
					return "keys_superuser"
				}
			}
			if slices.Contains(c.Keys, "user_role") && !slices.Contains(modelRoles, c.NewRole) {
				return "unknown_role"
			}
		default:
			return "not_permitted"
		}
	case "user-lock":
		switch {
		case c.ActorRole != "superuser":
			return "not_superuser"
		case c.TargetID == c.ActorID:
			return "self"
		case c.Action != "lock" && c.Action != "unlock":
			return "bad_action"
		case system:
			return "system_user"
		case !c.Session:
			return "no_session"
		}
	case "internal-user-lock", "cli-lock":
		switch {
		case c.Action != "lock" && c.Action != "unlock":
			return "bad_action"
		case system:
			return "system_user"
		}
	case "internal-user-delete", "cli-delete":
		switch {
		case system:
			return "system_user"
		case c.TargetRole == "superuser" && c.Superusers <= 1:
			return "last_superuser"
		}
	case "user-delete":
		if c.TargetRole == "superuser" {
			return "superuser"
		}
	case "lockout":
		if system {
			return "system_user"
		}
	case "login":
		switch {
		case !c.Active:
			return "not_active"
		case !c.Verified:
			return "not_verified"
		case c.TargetRole == "locked":
			return "locked_role"
		}
	case "passcheck":
		if !c.Active || c.TargetRole == "locked" {
			return "inactive"
		}
	case "sendemail-signup":
		if c.Active || c.TargetRole != "locked" {
			return "already_active"
		}
	case "sendemail-forgotpass":
		if !c.Active || c.TargetRole == "locked" || c.TargetRole == "anonymous" {
			return "invalid_user"
		}
	case "cli-set-role":
		if !slices.Contains(modelRoles, c.NewRole) {
			return "unknown_role"
		}
	}
	return ""
}

// enumerateAdmin lists the questions of the table: every operation over
// the ids, roles, flags, keys and actions that can change its answer.
func enumerateAdmin() []adminCase {
	ids := []int64{1, 2, 3, 4, 5}
	roles := append(slices.Clone(modelRoles), "wizard")
	keysets := [][]string{nil, {"full_name"}, {"email", "full_name"}, {"is_active"}, {"email_verified", "user_role"},
		{"password"}, {"email", "extra_info"}, {"user_id"}}
	var out []adminCase
	for _, actor := range []int64{1, 4} {
		for _, role := range roles {
			for _, target := range ids {
				for _, session := range []bool{false, true} {
					for _, keys := range keysets {
						for _, nr := range []string{"", "staff", "wizard"} {
							out = append(out, adminCase{Op: "user-edit", ActorID: actor, ActorRole: role, Session: session,
								TargetID: target, Keys: keys, NewRole: nr})
						}
					}
					for _, action := range []string{"lock", "unlock", "freeze", ""} {
						out = append(out, adminCase{Op: "user-lock", ActorID: actor, ActorRole: role, Session: session,
							TargetID: target, Action: action})
					}
				}
			}
		}
	}
	for _, target := range ids {
		for _, role := range roles {
			for _, op := range []string{"internal-user-lock", "cli-lock"} {
				for _, action := range []string{"lock", "unlock", "freeze"} {
					out = append(out, adminCase{Op: op, TargetID: target, TargetRole: role, Action: action})
				}
			}
			for _, op := range []string{"internal-user-delete", "cli-delete"} {
				for _, n := range []int{0, 1, 2} {
					out = append(out, adminCase{Op: op, TargetID: target, TargetRole: role, Superusers: n})
				}
			}
			out = append(out, adminCase{Op: "user-delete", TargetID: target, TargetRole: role},
				adminCase{Op: "lockout", TargetID: target, TargetRole: role})
			for _, active := range []bool{false, true} {
				for _, verified := range []bool{false, true} {
					for _, op := range []string{"login", "passcheck", "sendemail-signup", "sendemail-forgotpass"} {
						out = append(out, adminCase{Op: op, TargetID: target, TargetRole: role, Active: active, Verified: verified})
					}
				}
			}
			out = append(out, adminCase{Op: "cli-set-role", TargetID: target, NewRole: role})
		}
	}
	return out
}

const adminGolden = "../testdata/decisions/admin.json"

// TestAdminPolicyEqualsGoRules: the admin policy answers every enumerated
// question as the Go rules did; with AUTHNZRV_UPDATE_GOLDEN=1 the table is
// written from the Go rules first.
func TestAdminPolicyEqualsGoRules(t *testing.T) {
	t.Parallel()
	cases := enumerateAdmin()
	for i := range cases {
		cases[i].Deny = legacyAdmin(cases[i])
	}
	if os.Getenv("AUTHNZRV_UPDATE_GOLDEN") == "1" {
		b, err := json.MarshalIndent(map[string]any{
			"description": "Administrative decisions of the Go rules the handlers had before the admin policy " +
				"(policies/authnzrv/admin): op, actor, target, keys, new role, action, superuser count, and the deny code " +
				"(\"\" = allowed). The policy must answer each the same.",
			"cases": cases,
		}, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(adminGolden, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
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
	if len(golden.Cases) != len(cases) {
		t.Fatalf("golden has %d cases, the enumeration %d", len(golden.Cases), len(cases))
	}
	e, err := engine.New(context.Background(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mismatches := 0
	for i, c := range golden.Cases {
		if legacy := cases[i].Deny; legacy != c.Deny {
			t.Fatalf("case %d: the Go rules say %q, the table %q", i, legacy, c.Deny)
		}
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
