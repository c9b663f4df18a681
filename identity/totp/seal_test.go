package totp_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/authnzrv/authnzrv/identity/totp"
)

// fernetKey is a Fernet key string as the server's secret.
const fernetKey = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4="

type sealVectors struct {
	ServerSecret string `json:"server_secret"`
	Vectors      []struct {
		AAD, Plain, Sealed string
	} `json:"vectors"`
}

func loadSealVectors(t testing.TB) sealVectors {
	t.Helper()
	b, err := os.ReadFile("../../testdata/totp/seal.json")
	if err != nil {
		t.Fatal(err)
	}
	var v sealVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Vectors) == 0 {
		t.Fatal("no seal vectors")
	}
	return v
}

func newSealer(t testing.TB, secret string) *totp.Sealer {
	t.Helper()
	s, err := totp.NewSealer(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestOpenPythonVectors: texts sealed by Python's cryptography package
// (HKDF-SHA256, AES-256-GCM) open here, and only with their own aad.
func TestOpenPythonVectors(t *testing.T) {
	t.Parallel()
	v := loadSealVectors(t)
	s := newSealer(t, v.ServerSecret)
	for _, tc := range v.Vectors {
		got, err := s.Open(tc.Sealed, []byte(tc.AAD))
		if err != nil || string(got) != tc.Plain {
			t.Fatalf("%s: %q, %v; want %q", tc.Sealed, got, err, tc.Plain)
		}
		if _, err := s.Open(tc.Sealed, []byte(tc.AAD+"0")); !errors.Is(err, totp.ErrSealedAuth) {
			t.Fatalf("%s with another aad: %v", tc.Sealed, err)
		}
	}
}

// TestSealRoundTrip: Seal then Open gives the plain text back; two seals
// of the same text differ (random nonce); the text has the v1 form.
func TestSealRoundTrip(t *testing.T) {
	t.Parallel()
	s := newSealer(t, fernetKey)
	for _, tc := range []struct{ plain, aad []byte }{
		{[]byte(testSecret), []byte("42")},
		{[]byte(""), []byte("1")},
		{[]byte{0, 1, 2, 255}, nil},
		{bytes.Repeat([]byte("A"), 2048), []byte("a long one")},
	} {
		a, err := s.Seal(tc.plain, tc.aad)
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Seal(tc.plain, tc.aad)
		if err != nil {
			t.Fatal(err)
		}
		if a == b {
			t.Fatalf("two seals of %q are equal", tc.plain)
		}
		if want := 3 + base64.RawURLEncoding.EncodedLen(12+len(tc.plain)+16); !strings.HasPrefix(a, "v1.") || len(a) != want {
			t.Fatalf("sealed %q: length %d, want v1. and %d", a, len(a), want)
		}
		if len(tc.plain) > 3 && strings.Contains(a, string(tc.plain)) {
			t.Fatalf("sealed text shows the plain text")
		}
		for _, sealed := range []string{a, b} {
			got, err := s.Open(sealed, tc.aad)
			if err != nil || !bytes.Equal(got, tc.plain) {
				t.Fatalf("Open: %q, %v; want %q", got, err, tc.plain)
			}
		}
	}
	if _, err := s.Seal(make([]byte, 2049), nil); err == nil {
		t.Fatal("2049 bytes sealed")
	}
}

// TestOpenRefuses: other keys, other aad, tampering, truncation, bad
// versions and bad encodings all fail with the right error.
func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	s := newSealer(t, fernetKey)
	aad := []byte("user-42")
	sealed, err := s.Seal([]byte(testSecret), aad)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.TrimPrefix(sealed, "v1.")
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(b []byte) string { return "v1." + base64.RawURLEncoding.EncodeToString(b) }

	type refusal struct {
		name   string
		sealer *totp.Sealer
		text   string
		aad    []byte
		want   error
	}
	cases := []refusal{
		{"other key", newSealer(t, "rM2tR5m5yBq2uYb8Vd9xQWk4n6JcZp1sHfE3aLgT0Io="), sealed, aad, totp.ErrSealedAuth},
		{"key one character off", newSealer(t, fernetKey[:43]+"0"), sealed, aad, totp.ErrSealedAuth},
		{"other aad", s, sealed, []byte("user-43"), totp.ErrSealedAuth},
		{"no aad", s, sealed, nil, totp.ErrSealedAuth},
		{"aad with a suffix", s, sealed, []byte("user-420"), totp.ErrSealedAuth},
		{"empty", s, "", aad, totp.ErrSealedFormat},
		{"prefix only", s, "v1.", aad, totp.ErrSealedFormat},
		{"no version", s, body, aad, totp.ErrSealedFormat},
		{"v2", s, "v2." + body, aad, totp.ErrSealedFormat},
		{"V1", s, "V1." + body, aad, totp.ErrSealedFormat},
		{"v1 without dot", s, "v1" + body, aad, totp.ErrSealedFormat},
		{"padded", s, sealed + strings.Repeat("=", (4-len(body)%4)%4+4), aad, totp.ErrSealedFormat},
		{"standard alphabet", s, "v1." + base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb, 0xff}, 30)), aad, totp.ErrSealedFormat},
		{"space inside", s, sealed[:10] + " " + sealed[10:], aad, totp.ErrSealedFormat},
		{"newline at end", s, sealed + "\n", aad, totp.ErrSealedFormat},
		{"nonce and tag only, empty ciphertext cut", s, enc(raw[:28]), aad, totp.ErrSealedAuth},
		{"shorter than nonce and tag", s, enc(raw[:27]), aad, totp.ErrSealedFormat},
		{"one byte", s, enc(raw[:1]), aad, totp.ErrSealedFormat},
		{"huge", s, "v1." + strings.Repeat("A", 1<<20), aad, totp.ErrSealedFormat},
	}
	// Every truncation of the decoded bytes fails.
	for n := 0; n < len(raw); n++ {
		want := totp.ErrSealedAuth
		if n < 28 {
			want = totp.ErrSealedFormat
		}
		cases = append(cases, refusal{fmt.Sprintf("truncated to %d bytes", n), s, enc(raw[:n]), aad, want})
	}
	// Every truncation of the text fails (some lengths are not base64).
	for n := 0; n < len(sealed); n++ {
		cases = append(cases, refusal{fmt.Sprintf("text cut to %d", n), s, sealed[:n], aad, nil})
	}
	// Every flipped bit of nonce, ciphertext and tag fails.
	for i := range raw {
		for bit := range 8 {
			b := bytes.Clone(raw)
			b[i] ^= 1 << bit
			cases = append(cases, refusal{fmt.Sprintf("bit %d of byte %d", bit, i), s, enc(b), aad, totp.ErrSealedAuth})
		}
	}
	// A byte appended fails.
	cases = append(cases, refusal{"byte appended", s, enc(append(bytes.Clone(raw), 0)), aad, totp.ErrSealedAuth})

	for _, tc := range cases {
		got, err := tc.sealer.Open(tc.text, tc.aad)
		if err == nil || got != nil {
			t.Errorf("%s: opened to %q", tc.name, got)
			continue
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if tc.want == nil && !errors.Is(err, totp.ErrSealedFormat) && !errors.Is(err, totp.ErrSealedAuth) {
			t.Errorf("%s: untyped error %v", tc.name, err)
		}
	}
	if got, err := s.Open(sealed, aad); err != nil || string(got) != testSecret {
		t.Fatalf("the original no longer opens: %q, %v", got, err)
	}
}

// TestNewSealerRefusesShortSecrets: a server secret under 32 bytes is
// refused.
func TestNewSealerRefusesShortSecrets(t *testing.T) {
	t.Parallel()
	for _, secret := range []string{"", "short", strings.Repeat("x", 31)} {
		if _, err := totp.NewSealer(secret); err == nil {
			t.Errorf("secret of %d bytes accepted", len(secret))
		}
	}
	newSealer(t, strings.Repeat("x", 32))
}

// TestSealerConcurrent: one Sealer serves many goroutines (run with -race).
func TestSealerConcurrent(t *testing.T) {
	t.Parallel()
	s := newSealer(t, fernetKey)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			aad := []byte(fmt.Sprint(g))
			for i := range 50 {
				plain := []byte(fmt.Sprintf("%d-%d", g, i))
				sealed, err := s.Seal(plain, aad)
				if err != nil {
					errs <- err
					return
				}
				got, err := s.Open(sealed, aad)
				if err != nil || !bytes.Equal(got, plain) {
					errs <- fmt.Errorf("goroutine %d: %q, %v", g, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
