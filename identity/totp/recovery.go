package totp

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
)

// Recovery codes are 12 symbols of Crockford's base32 alphabet (no i, l, o
// or u), 60 bits from crypto/rand, shown in groups of four:
// "7k2m-q9xd-4hbt".
const (
	// DefaultRecoveryCodes is the number of codes NewRecoveryCodes makes
	// when asked for 0.
	DefaultRecoveryCodes = 10
	// MaxRecoveryCodes bounds one batch.
	MaxRecoveryCodes = 100
	// recoverySymbols is the length of a code without its dashes.
	recoverySymbols = 12
	// recoveryGroup is the number of symbols between dashes.
	recoveryGroup = 4
	// crockford is Crockford's base32 alphabet in lower case.
	crockford = "0123456789abcdefghjkmnpqrstvwxyz"
	// maxRecoveryInput bounds what MatchRecoveryCode normalises.
	maxRecoveryInput = 64
)

// NewRecoveryCodes makes n distinct recovery codes (DefaultRecoveryCodes
// when n is 0) and their digests, in the same order. Show plain to the user
// once and store only digests.
func NewRecoveryCodes(n int) (plain []string, digests []string, err error) {
	if n == 0 {
		n = DefaultRecoveryCodes
	}
	if n < 0 || n > MaxRecoveryCodes {
		return nil, nil, fmt.Errorf("totp: recovery codes: count %d (want 1 to %d)", n, MaxRecoveryCodes)
	}
	seen := make(map[string]bool, n)
	raw := make([]byte, recoverySymbols)
	for len(plain) < n {
		if _, err := rand.Read(raw); err != nil {
			return nil, nil, fmt.Errorf("totp: recovery codes: random: %w", err)
		}
		var b strings.Builder
		for i, r := range raw {
			if i > 0 && i%recoveryGroup == 0 {
				b.WriteByte('-')
			}
			b.WriteByte(crockford[r&31]) // 256 is a multiple of 32: uniform
		}
		code := b.String()
		if seen[code] {
			continue
		}
		seen[code] = true
		norm, _ := normaliseRecoveryCode(code)
		plain = append(plain, code)
		digests = append(digests, recoveryDigest(norm))
	}
	return plain, digests, nil
}

// MatchRecoveryCode reports which of digests (from NewRecoveryCodes) code
// matches. Case, spaces and dashes are ignored, and the look-alikes o, i
// and l read as 0, 1 and 1. Every digest is compared, each in constant
// time; input that cannot be a recovery code matches nothing. The caller
// removes the matched digest so that the code is used once.
func MatchRecoveryCode(code string, digests []string) (index int, ok bool) {
	norm, valid := normaliseRecoveryCode(code)
	if !valid {
		return -1, false
	}
	d := []byte(recoveryDigest(norm))
	index = -1
	for i, s := range digests {
		if subtle.ConstantTimeCompare(d, []byte(s)) == 1 && index < 0 {
			index = i
		}
	}
	return index, index >= 0
}

// normaliseRecoveryCode lower-cases code, drops spaces and dashes, maps
// look-alikes into the alphabet and reports whether the result is a
// recovery code.
func normaliseRecoveryCode(code string) (string, bool) {
	if len(code) > maxRecoveryInput {
		return "", false
	}
	out := make([]byte, 0, recoverySymbols)
	for i := 0; i < len(code); i++ {
		c := code[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		switch c {
		case ' ', '\t', '-':
			continue
		case 'o':
			c = '0'
		case 'i', 'l':
			c = '1'
		}
		if strings.IndexByte(crockford, c) < 0 || len(out) == recoverySymbols {
			return "", false
		}
		out = append(out, c)
	}
	return string(out), len(out) == recoverySymbols
}

// recoveryDigest is the stored form of a normalised code: hex SHA-256.
func recoveryDigest(norm string) string {
	sum := sha256.Sum256([]byte(norm))
	return hex.EncodeToString(sum[:])
}
