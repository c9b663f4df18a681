package engine_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/authnzrv/authnzrv/engine"
)

// TestSocialSignupDecisions: the role-assignment policy decides, per
// provider and e-mail verification, whether a social login may create a
// user and with which role (testdata/social/signup_cases.json).
func TestSocialSignupDecisions(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../testdata/social/signup_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []struct {
			Name, Provider, Role, Reason string
			EmailVerified                bool `json:"email_verified"`
			Allowed                      bool
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) == 0 {
		t.Fatal("no cases")
	}
	ctx := context.Background()
	e, err := engine.New(ctx, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range file.Cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			role, d, err := e.AssignRole(ctx, engine.RoleInput{Op: engine.OpSocialSignup, Provider: c.Provider, EmailVerified: c.EmailVerified})
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != c.Allowed || role != c.Role || d.Reason != c.Reason {
				t.Fatalf("got allowed %v role %q reason %q, want %v %q %q", d.Allowed, role, d.Reason, c.Allowed, c.Role, c.Reason)
			}
		})
	}
}
