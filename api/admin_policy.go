package api

import (
	"context"
	"errors"

	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/identity"
)

// admit asks the admin policy (policies/authnzrv/admin) whether an
// administrative operation may go ahead and returns its deny code ("" when
// allowed). Handlers answer each code with the request type's documented
// failure; a code they do not know (from an operator's own policy) gets
// the request type's generic refusal.
func (s *Server) admit(ctx context.Context, in engine.AdminInput) (string, error) {
	if s.deps.Engine == nil {
		return "", errors.New("no policy engine")
	}
	d, err := s.deps.Engine.Admin(ctx, in)
	if err != nil {
		return "", err
	}
	if d.Allowed {
		return "", nil
	}
	return d.Rule, nil
}

// adminUser is a stored user as the admin policy sees it.
func adminUser(u *identity.User) engine.AdminUser {
	return engine.AdminUser{UserID: u.UserID, Role: u.UserRole, Active: u.IsActive, Verified: u.EmailVerified}
}
