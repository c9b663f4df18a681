package totp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/hkdf"
)

// Sealing errors. Open wraps one of them.
var (
	// ErrSealedFormat: the text is not "v1." and base64url of at least a
	// nonce and a GCM tag.
	ErrSealedFormat = errors.New("totp: sealed secret: bad format")
	// ErrSealedAuth: the text is well formed but does not authenticate:
	// another key, other associated data, or tampered with.
	ErrSealedAuth = errors.New("totp: sealed secret: does not authenticate")
)

const (
	// sealPrefix names the format: HKDF-SHA256 key, AES-256-GCM, random
	// 12-byte nonce, base64url (unpadded) of nonce|ciphertext|tag.
	sealPrefix = "v1."
	// sealInfo is the HKDF info string of the v1 key.
	sealInfo = "authnzrv totp secret v1"
	// minServerSecret is the shortest server secret accepted (a Fernet key
	// string is 44 characters).
	minServerSecret = 32
	// maxSealed bounds the text Open decodes.
	maxSealed = 4096
)

// sealEncoding is base64url without padding, refusing non-canonical input.
func sealEncoding() *base64.Encoding { return base64.RawURLEncoding.Strict() }

// Sealer encrypts TOTP secrets for storage. It is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer derives the sealing key from serverSecret, the server's Fernet
// key string, with HKDF-SHA256 (no salt, info "authnzrv totp secret v1").
// Secrets sealed under one server secret open only under the same one.
func NewSealer(serverSecret string) (*Sealer, error) {
	if len(serverSecret) < minServerSecret {
		return nil, fmt.Errorf("totp: sealer: server secret shorter than %d bytes", minServerSecret)
	}
	key := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, []byte(serverSecret), nil, []byte(sealInfo)), key); err != nil {
		return nil, fmt.Errorf("totp: sealer: derive key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("totp: sealer: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("totp: sealer: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plain, binding it to aad (pass the user id, so that a
// sealed secret cannot be moved to another user), as
// "v1." + base64url(nonce|ciphertext).
func (s *Sealer) Seal(plain, aad []byte) (string, error) {
	if len(plain) > maxSealed/2 {
		return "", fmt.Errorf("totp: seal: %d bytes is too long", len(plain))
	}
	return sealPrefix + sealEncoding().EncodeToString(s.aead.Seal(nil, nil, plain, aad)), nil
}

// Open decrypts what Seal returned with the same aad. It never panics: bad
// input gives an error wrapping ErrSealedFormat or ErrSealedAuth.
func (s *Sealer) Open(sealed string, aad []byte) ([]byte, error) {
	rest, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: unknown version", ErrSealedFormat)
	}
	if len(rest) > maxSealed {
		return nil, fmt.Errorf("%w: too long", ErrSealedFormat)
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			// The decoder would skip \r and \n: refuse all that Seal never writes.
			return nil, fmt.Errorf("%w: byte %d is not base64url", ErrSealedFormat, i)
		}
	}
	raw, err := sealEncoding().DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("%w: base64url: %w", ErrSealedFormat, err)
	}
	if len(raw) < s.aead.Overhead() {
		return nil, fmt.Errorf("%w: %d bytes is shorter than nonce and tag", ErrSealedFormat, len(raw))
	}
	plain, err := s.aead.Open(nil, nil, raw, aad)
	if err != nil {
		return nil, ErrSealedAuth
	}
	return plain, nil
}
