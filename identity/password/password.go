// Package password hashes and verifies passwords with argon2id in the PHC
// string format that argon2-cffi (the reference's hasher) writes and reads:
//
//	$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>
//
// with salt and hash in standard base64 without padding. Verification reads
// the parameters from the stored string and the hash length from the hash,
// so hashes written by older argon2-cffi versions (16-byte hashes with
// m=102400, t=2, p=8) keep working. A memory budget bounds how much memory
// concurrent hashes may use together.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// Params are argon2 cost parameters.
type Params struct {
	// Memory in KiB.
	Memory uint32
	// Time is the number of passes.
	Time uint32
	// Threads is the degree of parallelism (lanes).
	Threads uint8
	// KeyLen is the hash length in bytes.
	KeyLen uint32
	// SaltLen is the salt length in bytes.
	SaltLen uint32
}

// DefaultParams are argon2-cffi's current defaults (RFC 9106 low-memory):
// 64 MiB, 3 passes, 4 lanes, 32-byte hash, 16-byte salt.
func DefaultParams() Params {
	return Params{Memory: 65536, Time: 3, Threads: 4, KeyLen: 32, SaltLen: 16}
}

// Bounds on argon2 parameters, for the server's own and for every stored
// hash before it is used (at login and at import). Each has its reason in
// checkBounds.
const (
	maxMemory  = 1 << 20 // KiB: 1 GiB
	maxTime    = 20
	maxThreads = 64
	minKeyLen  = 4
	minNewKey  = 16
	maxKeyLen  = 64
	minSaltLen = 8
	maxSaltLen = 64
)

// BoundError says which argon2 parameter is out of bounds and why the
// bound exists.
type BoundError struct {
	// Param names the parameter: memory, time, parallelism, hash length or
	// salt length.
	Param string
	// Value is the parameter's value.
	Value uint64
	// Min and Max are the accepted range.
	Min, Max uint64
	// Reason says why the bound exists.
	Reason string
}

// Error implements error.
func (e *BoundError) Error() string {
	return fmt.Sprintf("argon2 %s %d is outside %d..%d: %s", e.Param, e.Value, e.Min, e.Max, e.Reason)
}

// checkBounds checks p against the bounds, one check per parameter with
// its reason; minKey is the shortest hash accepted (new hashes need 16
// bytes, stored ones 4, as argon2-cffi reads them).
func checkBounds(p Params, minKey uint32) error {
	checks := []BoundError{
		{"parallelism", uint64(p.Threads), 1, maxThreads,
			"argon2 needs one lane at least; more than 64 lanes only multiply the threads one login starts"},
		{"memory", uint64(p.Memory), 8 * uint64(max(p.Threads, 1)), maxMemory,
			"argon2 needs 8 KiB per lane; more than 1 GiB (KiB units) for one hash would let one stored string or " +
				"setting take the server's memory on a single login"},
		{"time", uint64(p.Time), 1, maxTime,
			"one pass at least; more than 20 passes would make one login cost seconds of CPU"},
		{"hash length", uint64(p.KeyLen), uint64(minKey), maxKeyLen,
			"a shorter hash can be guessed (new hashes need 16 bytes); a longer one adds nothing"},
		{"salt length", uint64(p.SaltLen), minSaltLen, maxSaltLen,
			"RFC 9106 asks for 8 bytes of salt at least; more than 64 adds nothing"},
	}
	for _, c := range checks {
		if c.Value < c.Min || c.Value > c.Max {
			return &c
		}
	}
	return nil
}

// Validate reports whether p is within the accepted bounds for new hashes
// (a *BoundError when not).
func (p Params) Validate() error { return checkBounds(p, minNewKey) }

// ErrBusy means the memory budget could not be had in time: too many
// hashes are running.
var ErrBusy = errors.New("password: too many concurrent hashes")

// ErrMalformed means a stored hash is not a PHC string this package reads.
var ErrMalformed = errors.New("password: malformed hash")

// Options configure a Hasher.
type Options struct {
	// Params for new hashes (zero: DefaultParams).
	Params Params
	// MemoryBudget in KiB that all running hashes share (0: 4 × Params.Memory).
	MemoryBudget uint64
	// QueueTimeout is how long a hash waits for budget (0: 5 s).
	QueueTimeout time.Duration
	// MaxWaiting bounds the hashes waiting for budget (0: 4096); beyond it,
	// or when the wait would exceed QueueTimeout, a hash is refused at once
	// with a retry hint.
	MaxWaiting int
	// MaxWaitingPerKey bounds the waiting hashes of one queue key (one
	// client, see WithQueueKey; 0: 2).
	MaxWaitingPerKey int
	// Observe, when set, is told of every hash ("hash" or "verify"): how
	// long it waited for memory budget and how long argon2 ran (0 when it
	// never got budget: err is ErrBusy then).
	Observe func(op string, wait, run time.Duration, err error)
}

// Hasher hashes and verifies passwords. It is safe for concurrent use.
type Hasher struct {
	p       Params
	budget  int64
	queue   *fairQueue
	timeout time.Duration
	observe func(op string, wait, run time.Duration, err error)
}

// NewHasher returns a Hasher.
func NewHasher(o Options) (*Hasher, error) {
	if o.Params == (Params{}) {
		o.Params = DefaultParams()
	}
	if err := o.Params.Validate(); err != nil {
		return nil, err
	}
	if o.MemoryBudget == 0 {
		o.MemoryBudget = 4 * uint64(o.Params.Memory)
	}
	if o.MemoryBudget < uint64(o.Params.Memory) {
		return nil, fmt.Errorf("password: memory budget %d KiB is below one hash's %d KiB", o.MemoryBudget, o.Params.Memory)
	}
	if o.QueueTimeout <= 0 {
		o.QueueTimeout = 5 * time.Second
	}
	b := int64(o.MemoryBudget)
	observe := o.Observe
	if observe == nil {
		observe = func(string, time.Duration, time.Duration, error) {}
	}
	if o.MaxWaiting <= 0 {
		o.MaxWaiting = 4096
	}
	if o.MaxWaitingPerKey <= 0 {
		o.MaxWaitingPerKey = 2
	}
	q := newFairQueue(b, o.MaxWaiting, o.MaxWaitingPerKey, o.QueueTimeout)
	return &Hasher{p: o.Params, budget: b, queue: q, timeout: o.QueueTimeout, observe: observe}, nil
}

// Params returns the parameters of new hashes.
func (h *Hasher) Params() Params { return h.p }

// acquire takes memory KiB of the budget in the fair queue (queue.go),
// waiting at most the queue timeout; a full queue answers at once.
func (h *Hasher) acquire(ctx context.Context, memory uint32) (func(), error) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	return h.queue.acquire(ctx, keyOf(ctx), int64(memory))
}

// Hash returns the PHC string of a new argon2id hash of password.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	start := time.Now()
	release, err := h.acquire(ctx, h.p.Memory)
	if err != nil {
		h.observe("hash", time.Since(start), 0, err)
		return "", err
	}
	got := time.Now()
	key := argon2.IDKey([]byte(Truncate(password)), salt, h.p.Time, h.p.Memory, h.p.Threads, h.p.KeyLen)
	release()
	h.observe("hash", got.Sub(start), time.Since(got), nil)
	return Encode(h.p, salt, key), nil
}

// Encode renders a PHC argon2id string.
func Encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// decoded is a parsed PHC string.
type decoded struct {
	variant string
	version int
	p       Params
	salt    []byte
	key     []byte
}

// b64 decodes PHC base64: standard alphabet, padding optional.
func b64(s string) ([]byte, error) {
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

// decode parses and bounds-checks a PHC argon2 string.
func decode(encoded string) (*decoded, error) {
	parts := strings.Split(encoded, "$")
	// "", variant, [v=19], params, salt, hash
	if len(parts) != 6 && len(parts) != 5 {
		return nil, ErrMalformed
	}
	d := &decoded{variant: parts[1], version: 0x10}
	if d.variant != "argon2id" && d.variant != "argon2i" {
		return nil, fmt.Errorf("%w: unsupported variant %q", ErrMalformed, d.variant)
	}
	rest := parts[2:]
	if len(parts) == 6 {
		v, ok := strings.CutPrefix(parts[2], "v=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil {
			return nil, fmt.Errorf("%w: version", ErrMalformed)
		}
		d.version = n
		rest = parts[3:]
	}
	if d.version != argon2.Version {
		return nil, fmt.Errorf("%w: unsupported version %d", ErrMalformed, d.version)
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(rest[0], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil || seen[k] {
			return nil, fmt.Errorf("%w: parameters", ErrMalformed)
		}
		seen[k] = true
		switch k {
		case "m":
			d.p.Memory = uint32(n)
		case "t":
			d.p.Time = uint32(n)
		case "p":
			if n > 255 {
				return nil, fmt.Errorf("%w: parallelism", ErrMalformed)
			}
			d.p.Threads = uint8(n)
		default:
			return nil, fmt.Errorf("%w: unknown parameter %q", ErrMalformed, k)
		}
	}
	if !seen["m"] || !seen["t"] || !seen["p"] {
		return nil, fmt.Errorf("%w: missing parameter", ErrMalformed)
	}
	var err error
	if d.salt, err = b64(rest[1]); err != nil {
		return nil, fmt.Errorf("%w: salt", ErrMalformed)
	}
	if d.key, err = b64(rest[2]); err != nil {
		return nil, fmt.Errorf("%w: hash", ErrMalformed)
	}
	d.p.KeyLen, d.p.SaltLen = uint32(len(d.key)), uint32(len(d.salt))
	if err := checkBounds(d.p, minKeyLen); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return d, nil
}

// Verify reports whether password matches the stored PHC string, or an
// imported Bergson Authenticator hash (bergson.go). A stored string that
// cannot be read is an error (never a panic).
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	if IsBergson(encoded) {
		return h.verifyBergson(ctx, encoded, password)
	}
	d, err := decode(encoded)
	if err != nil {
		return false, err
	}
	start := time.Now()
	release, err := h.acquire(ctx, d.p.Memory)
	if err != nil {
		h.observe("verify", time.Since(start), 0, err)
		return false, err
	}
	got := time.Now()
	defer func() { h.observe("verify", got.Sub(start), time.Since(got), nil) }()
	var key []byte
	if pw := []byte(Truncate(password)); d.variant == "argon2i" {
		key = argon2.Key(pw, d.salt, d.p.Time, d.p.Memory, d.p.Threads, d.p.KeyLen)
	} else {
		key = argon2.IDKey(pw, d.salt, d.p.Time, d.p.Memory, d.p.Threads, d.p.KeyLen)
	}
	release()
	return subtle.ConstantTimeCompare(key, d.key) == 1, nil
}

// NeedsRehash reports whether a stored hash was made with other parameters
// than the Hasher's (variant, version, memory, time, lanes, hash or salt
// length), as argon2-cffi's check_needs_rehash does.
func (h *Hasher) NeedsRehash(encoded string) bool {
	d, err := decode(encoded)
	if err != nil {
		return true
	}
	return d.variant != "argon2id" || d.p != h.p
}

// MaxLength is the longest password hashed as given: Hash and Verify use
// the first MaxLength characters (runes) of longer ones (security.md §1:
// the reference truncates to 256 characters), so callers never truncate.
const MaxLength = 256

// CheckStored reports whether encoded is a stored hash this package can
// verify: an argon2 PHC string within the bounds (a *BoundError inside
// ErrMalformed when not) or an imported Bergson Authenticator hash.
func CheckStored(encoded string) error {
	var err error
	if IsBergson(encoded) {
		_, err = decodeBergson(encoded)
	} else {
		_, err = decode(encoded)
	}
	return err
}

// Truncate cuts a password to MaxLength characters, as Hash and Verify do
// themselves; callers need it only to validate what will be hashed (the
// reference checks the password policy on the truncated string).
func Truncate(pw string) string {
	if len(pw) <= MaxLength {
		return pw
	}
	r := []rune(pw)
	if len(r) <= MaxLength {
		return pw
	}
	return string(r[:MaxLength])
}
