// Package hawk implements the Hawk HTTP request-signing scheme (version 1,
// as the reference implementation @hapi/hawk 8 and Python's Mohawk speak it):
// parsing the Authorization header, the request, response and payload MACs,
// server-side authentication of a request, the Server-Authorization response
// header, and the client side (signing a request, verifying the server's
// answer) for Go callers and tests.
//
// Bewits and Hawk "messages" are not implemented: the Bergson Authenticator
// REST API, the reason this package exists, uses neither.
package hawk

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // Hawk's HMAC-SHA1 option; HMAC-SHA1 is not broken by SHA-1 collisions.
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
)

// Algorithm names the HMAC hash function of a Hawk credential, spelled as
// Hawk spells it.
type Algorithm string

// The algorithms Hawk defines.
const (
	SHA256 Algorithm = "sha256"
	SHA1   Algorithm = "sha1"
)

// newHash returns the hash constructor of a, or an error for an algorithm
// Hawk does not define.
func (a Algorithm) newHash() (func() hash.Hash, error) {
	switch a {
	case SHA256:
		return sha256.New, nil
	case SHA1:
		return sha1.New, nil
	default:
		return nil, fmt.Errorf("hawk: unsupported algorithm %q", string(a))
	}
}

// Credentials are one Hawk identity: the id the client sends, the shared key
// and the HMAC algorithm.
type Credentials struct {
	// ID is the Hawk id (the "id" attribute of the Authorization header).
	ID string
	// Key is the shared secret, used as the HMAC key as is.
	Key []byte
	// Algorithm is SHA256 or SHA1.
	Algorithm Algorithm
}

// check reports whether c can sign or verify anything.
func (c Credentials) check() (func() hash.Hash, error) {
	if len(c.Key) == 0 {
		return nil, errors.New("hawk: credentials have an empty key")
	}
	return c.Algorithm.newHash()
}

// Artifacts are the inputs of a request MAC: the attributes of the
// Authorization header and the parts of the request they cover.
type Artifacts struct {
	// Method is the HTTP method; the MAC covers it upper-cased.
	Method string
	// Resource is the request target as sent: path and query.
	Resource string
	// Host is the host name; the MAC covers it lower-cased.
	Host string
	// Port is the port the client connected to.
	Port int

	// ID is the credentials id.
	ID string
	// TS is the client's timestamp in seconds since the Unix epoch.
	TS int64
	// Nonce is the client's nonce.
	Nonce string
	// Hash is the payload hash (base64), empty when the client sent none.
	Hash string
	// Ext is the application-specific data, empty when absent.
	Ext string
	// MAC is the request MAC as sent (base64).
	MAC string
	// App is the Oz application id, empty when absent.
	App string
	// Dlg is the Oz delegated-by application id, empty when absent.
	Dlg string
}

// Errors of parsing, authentication and verification. Every error this
// package returns for a client fault matches exactly one of them with
// errors.Is; other errors (a failing credentials lookup or nonce store, bad
// configuration) match none, and callers should answer them as server errors.
var (
	// ErrMissing: no Hawk authorization at all (empty header, or another
	// scheme). Answer 401 with "WWW-Authenticate: Hawk".
	ErrMissing = errors.New("hawk: no Hawk authorization")
	// ErrMalformed: the header does not parse, or lacks a required attribute.
	// Answer 400.
	ErrMalformed = errors.New("hawk: malformed header")
	// ErrUnknownID: no credentials for the id. The credentials lookup returns
	// it (possibly wrapped) for an unknown id. Answer 401.
	ErrUnknownID = errors.New("hawk: unknown credentials")
	// ErrBadMAC: the MAC does not match. Answer 401.
	ErrBadMAC = errors.New("hawk: bad mac")
	// ErrBadHash: the payload hash does not match the payload, or is missing
	// where it is required. Answer 401.
	ErrBadHash = errors.New("hawk: bad payload hash")
	// ErrReplay: the nonce was seen before. Answer 401.
	ErrReplay = errors.New("hawk: nonce already used")
	// ErrStale: the timestamp is outside the allowed skew. The error is a
	// *StaleError carrying the server time. Answer 401 with its
	// WWWAuthenticate value.
	ErrStale = errors.New("hawk: stale timestamp")
)

// macEqual compares two base64 MACs or hashes in constant time (for equal
// lengths; the length of a base64 digest is not secret).
func macEqual(a, b string) bool {
	return hmac.Equal([]byte(a), []byte(b))
}
