// Package totp is the TOTP (RFC 6238) second factor: enrolment (secret,
// otpauth:// URL and QR code), code validation with replay protection,
// single-use recovery codes stored as digests, and sealing of TOTP secrets
// at rest with a key derived from the server's Fernet key.
//
// Nothing here reads the clock: every function that needs the time takes it.
// Storage is the caller's job: it keeps the sealed secret, the last accepted
// step and the recovery-code digests.
package totp

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"image/png"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// Errors returned by Check. ErrMalformed, ErrInvalidCode and ErrReused are
// the user's doing; ErrBadSecret and ErrBadOptions are the server's.
var (
	// ErrMalformed: the code is not a string of exactly Digits ASCII digits.
	ErrMalformed = errors.New("totp: malformed code")
	// ErrInvalidCode: the code matches no step of the accepted window.
	ErrInvalidCode = errors.New("totp: invalid code")
	// ErrReused: the code is right but of a step at or before the last
	// accepted one (a code is accepted once).
	ErrReused = errors.New("totp: code already used")
	// ErrBadSecret: the stored secret is not base32 of at least
	// MinSecretSize bytes.
	ErrBadSecret = errors.New("totp: unusable secret")
	// ErrBadOptions: Options outside what this package supports.
	ErrBadOptions = errors.New("totp: unsupported options")
)

// Algorithm is the HMAC hash of the one-time password (RFC 6238 §1.2).
type Algorithm = otp.Algorithm

// The supported algorithms. Authenticator apps support SHA1 everywhere; the
// others only in some apps.
const (
	SHA1   Algorithm = otp.AlgorithmSHA1
	SHA256 Algorithm = otp.AlgorithmSHA256
	SHA512 Algorithm = otp.AlgorithmSHA512
)

// Defaults: what every authenticator app supports.
const (
	// DefaultDigits is the length of a code.
	DefaultDigits = 6
	// DefaultPeriod is the lifetime of one step.
	DefaultPeriod = 30 * time.Second
	// DefaultSecretSize is the size of a new secret in bytes (RFC 4226
	// §4 recommends 160 bits).
	DefaultSecretSize = 20
	// MinSecretSize is the smallest secret accepted (RFC 4226 §4: 128 bits).
	MinSecretSize = 16
	// DefaultQRSize is the width and height of the QR code in pixels.
	DefaultQRSize = 256
	// Skew is the number of steps accepted either side of the current one.
	Skew = 1
)

// Options selects the code parameters. The zero value means the defaults:
// SHA1, 6 digits, 30 s steps, 20-byte secrets, 256-pixel QR codes. A
// caller using anything but the defaults must store the options with the
// secret and pass the same ones to Check.
type Options struct {
	// Algorithm is SHA1 (default; the zero value), SHA256 or SHA512.
	Algorithm Algorithm
	// Digits is the code length, 6 (default when 0) to 8.
	Digits int
	// Period is the step length, whole seconds (default 30 s when 0).
	Period time.Duration
	// SecretSize is the size of a new secret in bytes, at least
	// MinSecretSize (default DefaultSecretSize when 0). Enroll only.
	SecretSize int
	// QRSize is the QR image width and height in pixels (default
	// DefaultQRSize when 0). Enroll only.
	QRSize int
	// Rand is the source of new secrets; nil means crypto/rand. Enroll only.
	Rand io.Reader
}

// withDefaults fills in zero fields and refuses unsupported values.
func (o Options) withDefaults() (Options, error) {
	switch o.Algorithm {
	case SHA1, SHA256, SHA512:
	default:
		return o, fmt.Errorf("%w: algorithm %v", ErrBadOptions, o.Algorithm)
	}
	if o.Digits == 0 {
		o.Digits = DefaultDigits
	}
	if o.Digits < 6 || o.Digits > 8 {
		return o, fmt.Errorf("%w: %d digits (want 6 to 8)", ErrBadOptions, o.Digits)
	}
	if o.Period == 0 {
		o.Period = DefaultPeriod
	}
	if o.Period < time.Second || o.Period%time.Second != 0 {
		return o, fmt.Errorf("%w: period %v (want whole seconds)", ErrBadOptions, o.Period)
	}
	if o.SecretSize == 0 {
		o.SecretSize = DefaultSecretSize
	}
	if o.SecretSize < MinSecretSize || o.SecretSize > 128 {
		return o, fmt.Errorf("%w: secret size %d (want %d to 128 bytes)", ErrBadOptions, o.SecretSize, MinSecretSize)
	}
	if o.QRSize == 0 {
		o.QRSize = DefaultQRSize
	}
	if o.QRSize < 64 || o.QRSize > 2048 {
		return o, fmt.Errorf("%w: QR size %d (want 64 to 2048 pixels)", ErrBadOptions, o.QRSize)
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	return o, nil
}

// Enrollment is a new TOTP secret as shown to the user once.
type Enrollment struct {
	// Secret is the shared secret, base32 without padding: the value to
	// seal and store, and to show for manual entry.
	Secret string
	// URL is the otpauth://totp/ key URI the QR code encodes.
	URL string
	// QRCode is a PNG image of URL; the caller base64-encodes it.
	QRCode []byte
}

// Enroll makes a new random secret for account at issuer (neither may be
// empty or hold a colon, which separates them in the key URI) with its
// otpauth:// URL and its QR code made by pquerna/otp.
func Enroll(issuer, account string, opts Options) (*Enrollment, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	for _, f := range [...]struct{ name, v string }{{"issuer", issuer}, {"account", account}} {
		if strings.TrimSpace(f.v) == "" || strings.Contains(f.v, ":") {
			return nil, fmt.Errorf("totp: enroll: %s must be non-empty and hold no colon", f.name)
		}
	}
	raw := make([]byte, o.SecretSize)
	if _, err := io.ReadFull(o.Rand, raw); err != nil {
		return nil, fmt.Errorf("totp: enroll: random secret: %w", err)
	}
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw)
	key, err := otp.NewKeyFromURL(keyURI(issuer, account, secret, o))
	if err != nil {
		return nil, fmt.Errorf("totp: enroll: key URI: %w", err)
	}
	img, err := key.Image(o.QRSize, o.QRSize)
	if err != nil {
		return nil, fmt.Errorf("totp: enroll: QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("totp: enroll: encode PNG: %w", err)
	}
	return &Enrollment{Secret: secret, URL: key.URL(), QRCode: buf.Bytes()}, nil
}

// keyURI is the otpauth://totp/ URI of the Google Authenticator key URI
// format, with the parameters pquerna/otp's Generate writes. Generate
// escapes the query with url.PathEscape, which leaves "&", "+" and "=" in
// an issuer as they are and so corrupts the issuer parameter; here the
// query is escaped as a query, with %20 for spaces as authenticator apps
// expect.
func keyURI(issuer, account, secret string, o Options) string {
	q := func(v string) string { return strings.ReplaceAll(url.QueryEscape(v), "+", "%20") }
	u := url.URL{
		Scheme: "otpauth",
		Host:   "totp",
		Path:   "/" + issuer + ":" + account,
		RawQuery: "algorithm=" + q(o.Algorithm.String()) +
			"&digits=" + strconv.Itoa(o.Digits) +
			"&issuer=" + q(issuer) +
			"&period=" + strconv.FormatInt(int64(o.Period/time.Second), 10) +
			"&secret=" + secret,
	}
	return u.String()
}

// Check validates code against secret at time at with the default options;
// see Options.Check.
func Check(secret string, code string, at time.Time, lastStep int64) (step int64, err error) {
	return Options{}.Check(secret, code, at, lastStep)
}

// Check validates code against secret (base32, as Enroll returns it) at
// time at. It accepts the code of the current step and of Skew steps either
// side, but only of a step after lastStep (pass 0 before the first use):
// on success it returns the step the code belongs to, which the caller
// stores as the new lastStep so that the code cannot be used again.
//
// A code that is not exactly o.Digits ASCII digits is refused with
// ErrMalformed before any work. A code matching only steps at or before
// lastStep gives ErrReused, one matching no step ErrInvalidCode. Every
// step of the window is computed and compared in constant time.
func (o Options) Check(secret string, code string, at time.Time, lastStep int64) (step int64, err error) {
	o, err = o.withDefaults()
	if err != nil {
		return 0, err
	}
	if len(code) != o.Digits {
		return 0, ErrMalformed
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return 0, ErrMalformed
		}
	}
	secret, err = checkSecret(secret)
	if err != nil {
		return 0, err
	}
	period := int64(o.Period / time.Second)
	now := floorDiv(at.Unix(), period)
	hopts := hotp.ValidateOpts{Digits: otp.Digits(o.Digits), Algorithm: o.Algorithm}
	accepted, reused := int64(-1), false
	for s := now - Skew; s <= now+Skew; s++ {
		if s < 0 {
			continue
		}
		want, err := hotp.GenerateCodeCustom(secret, uint64(s), hopts)
		if err != nil {
			return 0, fmt.Errorf("%w: %w", ErrBadSecret, err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) != 1 {
			continue
		}
		if s > lastStep {
			accepted = s // the latest matching step: burns the most
		} else {
			reused = true
		}
	}
	switch {
	case accepted >= 0:
		return accepted, nil
	case reused:
		return 0, ErrReused
	default:
		return 0, ErrInvalidCode
	}
}

// checkSecret refuses secrets that are not base32 (upper or lower case,
// padded or not) of at least MinSecretSize bytes, and returns the secret
// in upper case without padding.
func checkSecret(secret string) (string, error) {
	s := strings.TrimRight(strings.ToUpper(secret), "=")
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("%w: not base32", ErrBadSecret)
	}
	if len(b) < MinSecretSize {
		return "", fmt.Errorf("%w: %d bytes (want at least %d)", ErrBadSecret, len(b), MinSecretSize)
	}
	return s, nil
}

// floorDiv is a/b rounded towards minus infinity (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
