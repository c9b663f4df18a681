// Package pii hashes personally identifiable values (e-mails, user ids, IP
// addresses, tokens) before they reach a log line (spec security.md §9).
package pii

import (
	"encoding/hex"
	"fmt"

	"golang.org/x/crypto/blake2b"
)

// Hasher turns PII into a short keyed digest. The zero value is not usable;
// create one with New.
type Hasher struct {
	key   []byte
	plain bool
}

// New returns a Hasher keyed with salt. The salt "none" disables hashing (the
// reference's convention: PII is logged in plain text). A salt longer than 64
// bytes — too long for a BLAKE2b key, which broke every logging path in the
// reference (quirk #34) — is first reduced with BLAKE2b-512.
func New(salt string) (*Hasher, error) {
	if salt == "" {
		return nil, fmt.Errorf("pii: empty salt")
	}
	if salt == "none" {
		return &Hasher{plain: true}, nil
	}
	key := []byte(salt)
	if len(key) > blake2b.Size {
		sum := blake2b.Sum512(key)
		key = sum[:]
	}
	return &Hasher{key: key}, nil
}

// Hash returns the 24-hex-character keyed BLAKE2b digest of v's string form
// (or v itself when hashing is disabled).
func (h *Hasher) Hash(v any) string {
	s := fmt.Sprint(v)
	if h.plain {
		return s
	}
	d, err := blake2b.New(12, h.key)
	if err != nil {
		return "unhashable"
	}
	d.Write([]byte("authnzrv-pii"))
	d.Write([]byte(s))
	return hex.EncodeToString(d.Sum(nil))
}

// Key returns a fixed-size digest of s for use as a storage key (rate-limit
// buckets, replay guards, caches): keyed BLAKE2b-128 with the salt, hex, so
// that keys never hold the value and never grow with it. With the salt
// "none" it is an unkeyed BLAKE2b-128 (keys must not hold PII even when logs
// may).
func (h *Hasher) Key(s string) string {
	d, err := blake2b.New(16, h.key)
	if err != nil {
		return "unhashable"
	}
	d.Write([]byte("authnzrv-key\x00"))
	d.Write([]byte(s))
	return hex.EncodeToString(d.Sum(nil))
}
