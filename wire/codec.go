// Package wire is the authnzerver transport encoding shared by the server
// and the Go client: JSON, Fernet-encrypted with the pre-shared key, wrapped
// in one more layer of standard base64 (protocol.md §3).
package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fernet/fernet-go"
)

// Codec encrypts and decrypts wire messages: JSON, Fernet-encrypted with the
// shared key, then wrapped in one more layer of standard base64.
type Codec struct {
	keys []*fernet.Key
	ttl  time.Duration
}

// ErrUndecryptable is returned for any body that does not decode, verify or
// decrypt (the server answers HTTP 401).
var ErrUndecryptable = errors.New("wire: message could not be decrypted")

// StaleError is returned by Open for an authentic token (the key verifies
// it) whose timestamp is outside its lifetime: older than the TTL, or more
// than MaxClockSkew in the future. It wraps ErrUndecryptable; the message
// is refused all the same, but the server can tell its operator that a
// frontend's clock is off (or that an old capture was replayed).
type StaleError struct {
	// Minted is the token's timestamp.
	Minted time.Time
}

// Error implements error.
func (e *StaleError) Error() string {
	return fmt.Sprintf("wire: authentic request token outside its lifetime (minted %s)", e.Minted.UTC().Format(time.RFC3339))
}

// Unwrap makes a StaleError an ErrUndecryptable.
func (e *StaleError) Unwrap() error { return ErrUndecryptable }

// NewCodec returns a Codec for a Fernet key (URL-safe base64 of 32 bytes).
// A ttl > 0 refuses tokens older than ttl (or from more than 60 s in the
// future); 0 accepts any age, as the reference does.
func NewCodec(secret string, ttl time.Duration) (*Codec, error) {
	k, err := fernet.DecodeKey(secret)
	if err != nil {
		return nil, fmt.Errorf("wire: the shared secret is not a valid Fernet key: %w", err)
	}
	return &Codec{keys: []*fernet.Key{k}, ttl: ttl}, nil
}

// Seal encodes v as the wire form.
func (c *Codec) Seal(v any) ([]byte, error) {
	msg, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("wire: encode message: %w", err)
	}
	return c.SealBytes(msg)
}

// MaxClockSkew is how far in the future a token's timestamp may be when a
// TTL is set (fernet-go's rule).
const MaxClockSkew = 60 * time.Second

// TokenTime returns the timestamp a Fernet token (as Open returns it:
// URL-safe base64 text) was minted with: its bytes 1-8, big-endian seconds.
func TokenTime(token []byte) (time.Time, bool) {
	var head [12]byte // the first 16 characters decode to 12 bytes
	if len(token) < 16 {
		return time.Time{}, false
	}
	if _, err := base64.URLEncoding.Decode(head[:], token[:16]); err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(binary.BigEndian.Uint64(head[1:9])), 0), true
}

// SealBytes encrypts an already-encoded JSON message.
func (c *Codec) SealBytes(msg []byte) ([]byte, error) {
	tok, err := fernet.EncryptAndSign(msg, c.keys[0])
	if err != nil {
		return nil, fmt.Errorf("wire: encrypt: %w", err)
	}
	out := make([]byte, base64.StdEncoding.EncodedLen(len(tok)))
	base64.StdEncoding.Encode(out, tok)
	return out, nil
}

// Open returns the decrypted plaintext of a wire body. Surrounding white
// space is tolerated. The Fernet token (the inner layer) is returned too:
// the replay guard keys on it.
func (c *Codec) Open(body []byte) (plaintext, token []byte, err error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, nil, ErrUndecryptable
	}
	token = make([]byte, base64.StdEncoding.DecodedLen(len(body)))
	n, err := base64.StdEncoding.Decode(token, body)
	if err != nil {
		return nil, nil, ErrUndecryptable
	}
	token = token[:n]
	plaintext = fernet.VerifyAndDecrypt(token, c.ttl, c.keys)
	if plaintext == nil {
		// Authentic but outside its lifetime? (Checked only for tokens
		// the key verifies: garbage costs one more HMAC, nothing else.)
		if c.ttl > 0 && fernet.VerifyAndDecrypt(token, 0, c.keys) != nil {
			minted, _ := TokenTime(token)
			return nil, nil, &StaleError{Minted: minted}
		}
		return nil, nil, ErrUndecryptable
	}
	return plaintext, token, nil
}
