package identity

import (
	"context"
	"strings"

	"github.com/authnzrv/authnzrv/identity/password"
)

// isAdoptedRefreshHash reports whether a stored refresh_hash is an argon2
// PHC string kept from the reference (which hashes refresh tokens with
// argon2) rather than one of our SHA-256 digests (64 hex digits).
func isAdoptedRefreshHash(stored string) bool {
	return strings.HasPrefix(stored, "$argon2")
}

// adoptedRefreshMatches verifies a presented refresh token against the
// reference's argon2 hash of it. Only keys that came from the reference
// take this path, and only for the holder of the key's token (the key row
// is looked up by it first); a fresh hasher bounds one verification's
// memory by the default budget. An unreadable hash never matches.
func adoptedRefreshMatches(phc, refreshToken string) bool {
	h, err := password.NewHasher(password.Options{})
	if err != nil {
		return false
	}
	ok, err := h.Verify(context.Background(), phc, refreshToken)
	return err == nil && ok
}
