package password

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/pbkdf2"
)

// Bergson Authenticator password hashes.
//
// The Bergson Authenticator stores, per account, a salt string (16 random
// bytes in base64) and the hex digest of PBKDF2-HMAC-SHA256 over the
// password's bytes with the salt string's bytes as the salt, 100,000
// iterations, 32 bytes. Imported accounts keep that hash, written in the
// password column in this self-describing form:
//
//	$bergson-pbkdf2-sha256$<iterations>$<salt>$<hexdigest>
//
// where <salt> is the stored salt string exactly as it was (its bytes are
// the PBKDF2 salt; it may contain '$', so the digest is the last field and
// the iterations the first). Verify understands the form; NeedsRehash is
// always true for it, so the first successful password check replaces it
// with argon2id.

// BergsonPrefix starts every imported Bergson Authenticator hash.
const BergsonPrefix = "$bergson-pbkdf2-sha256$"

// BergsonIterations is the Bergson Authenticator's PBKDF2 iteration count.
const BergsonIterations = 100_000

// Bounds on a stored hash's iteration count (a corrupt or hostile row must
// not make one verification take minutes).
const (
	minBergsonIterations = 1
	maxBergsonIterations = 10_000_000
)

// bergsonKeyLen is the digest length: SHA-256's.
const bergsonKeyLen = sha256.Size

// BergsonHash renders an imported account's salt string and hex digest in
// the stored form, with the Bergson Authenticator's iteration count. The
// digest is checked to be 64 hex digits and stored in lower case.
func BergsonHash(salt, hexDigest string) (string, error) {
	d, err := hex.DecodeString(hexDigest)
	if err != nil || len(d) != bergsonKeyLen {
		return "", fmt.Errorf("%w: Bergson digest is not %d hex digits", ErrMalformed, 2*bergsonKeyLen)
	}
	return BergsonPrefix + strconv.Itoa(BergsonIterations) + "$" + salt + "$" + hex.EncodeToString(d), nil
}

// IsBergson reports whether a stored hash is in the Bergson form.
func IsBergson(encoded string) bool { return strings.HasPrefix(encoded, BergsonPrefix) }

// bergsonHash is a parsed Bergson hash.
type bergsonHash struct {
	iterations int
	salt       string
	digest     []byte
}

// decodeBergson parses the stored form.
func decodeBergson(encoded string) (*bergsonHash, error) {
	rest, ok := strings.CutPrefix(encoded, BergsonPrefix)
	if !ok {
		return nil, ErrMalformed
	}
	iter, rest, ok := strings.Cut(rest, "$")
	last := strings.LastIndexByte(rest, '$')
	if !ok || last < 0 {
		return nil, fmt.Errorf("%w: Bergson hash fields", ErrMalformed)
	}
	n, err := strconv.Atoi(iter)
	if err != nil || n < minBergsonIterations || n > maxBergsonIterations || strconv.Itoa(n) != iter {
		return nil, fmt.Errorf("%w: Bergson iteration count", ErrMalformed)
	}
	d, err := hex.DecodeString(rest[last+1:])
	if err != nil || len(d) != bergsonKeyLen {
		return nil, fmt.Errorf("%w: Bergson digest", ErrMalformed)
	}
	return &bergsonHash{iterations: n, salt: rest[:last], digest: d}, nil
}

// BergsonDigest is the Bergson Authenticator's hash of a password: the hex
// PBKDF2-HMAC-SHA256 digest with the salt string's bytes, as its
// ba_password_hashing computes it.
func BergsonDigest(password, salt string, iterations int) string {
	return hex.EncodeToString(pbkdf2.Key([]byte(password), []byte(salt), iterations, bergsonKeyLen, sha256.New))
}

// verifyBergson checks a password against a Bergson hash in constant time.
// It takes a hash's share of the memory budget like argon2 does, so that
// PBKDF2 verifications queue fairly with the rest and never run unbounded.
func (h *Hasher) verifyBergson(ctx context.Context, encoded, password string) (bool, error) {
	b, err := decodeBergson(encoded)
	if err != nil {
		return false, err
	}
	start := time.Now()
	release, err := h.acquire(ctx, h.p.Memory)
	if err != nil {
		h.observe("verify", time.Since(start), 0, err)
		return false, err
	}
	got := time.Now()
	key := pbkdf2.Key([]byte(password), []byte(b.salt), b.iterations, bergsonKeyLen, sha256.New)
	release()
	h.observe("verify", got.Sub(start), time.Since(got), nil)
	return subtle.ConstantTimeCompare(key, b.digest) == 1, nil
}
