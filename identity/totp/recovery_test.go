package totp_test

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	"github.com/authnzrv/authnzrv/identity/totp"
)

// recoveryFormat: three groups of four symbols of Crockford's base32
// alphabet in lower case (no i, l, o, u).
var recoveryFormat = regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}$`)

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestNewRecoveryCodes: count, format, uniqueness, and each digest is the
// SHA-256 of the code without dashes.
func TestNewRecoveryCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ n, want int }{{0, 10}, {1, 1}, {3, 3}, {100, 100}} {
		plain, digests, err := totp.NewRecoveryCodes(tc.n)
		if err != nil {
			t.Fatal(err)
		}
		if len(plain) != tc.want || len(digests) != tc.want {
			t.Fatalf("n=%d: %d codes, %d digests; want %d", tc.n, len(plain), len(digests), tc.want)
		}
		seen := map[string]bool{}
		for i, p := range plain {
			if !recoveryFormat.MatchString(p) {
				t.Fatalf("code %q is not in the format", p)
			}
			if seen[p] || seen[digests[i]] {
				t.Fatalf("code %q repeats", p)
			}
			seen[p], seen[digests[i]] = true, true
			if digests[i] != sha256Hex(strings.ReplaceAll(p, "-", "")) {
				t.Fatalf("digest %s is not SHA-256 of %q", digests[i], p)
			}
			if strings.Contains(digests[i], p) || strings.Contains(digests[i], strings.ReplaceAll(p, "-", "")) {
				t.Fatalf("digest holds the code")
			}
		}
	}
	for _, n := range []int{-1, 101} {
		if _, _, err := totp.NewRecoveryCodes(n); err == nil {
			t.Errorf("n=%d accepted", n)
		}
	}
}

// TestRecoveryCodeSymbols: over many codes every symbol of the alphabet
// shows up, each about equally often (60 bits a code, no bias).
func TestRecoveryCodeSymbols(t *testing.T) {
	t.Parallel()
	counts := map[rune]int{}
	for range 20 {
		plain, _, err := totp.NewRecoveryCodes(100)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range plain {
			for _, r := range strings.ReplaceAll(p, "-", "") {
				counts[r]++
			}
		}
	}
	// 24000 symbols over 32: 750 expected each, σ ≈ 27; 600..900 is >5σ.
	if len(counts) != 32 {
		t.Fatalf("%d distinct symbols, want 32: %v", len(counts), counts)
	}
	for r, c := range counts {
		if c < 600 || c > 900 {
			t.Errorf("symbol %q seen %d times of 24000", r, c)
		}
	}
}

// TestMatchRecoveryCode: a code matches its digest whatever its case,
// spaces, dashes and look-alikes; nothing else matches.
func TestMatchRecoveryCode(t *testing.T) {
	t.Parallel()
	plain, digests, err := totp.NewRecoveryCodes(0)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range plain {
		bare := strings.ReplaceAll(p, "-", "")
		for _, form := range []string{p, strings.ToUpper(p), bare, strings.ToUpper(bare),
			strings.ReplaceAll(p, "-", " "), "  " + strings.ReplaceAll(p, "-", " - ") + " \t",
			bare[:6] + "-" + strings.ToUpper(bare[6:]), strings.Join(strings.Split(bare, ""), " ")} {
			if got, ok := totp.MatchRecoveryCode(form, digests); !ok || got != i {
				t.Errorf("%q (code %d): %d, %v", form, i, got, ok)
			}
		}
	}

	// A known answer, with the look-alikes o, i and l for 0 and 1.
	known := sha256Hex("0123456789ab")
	list := []string{"", digests[0], known, digests[1]}
	for _, form := range []string{"0123-4567-89ab", "O123-4567-89AB", "oi23 4567 89ab", "0L23456789Ab", "0I23-4567-89aB"} {
		if got, ok := totp.MatchRecoveryCode(form, list); !ok || got != 2 {
			t.Errorf("%q: %d, %v; want 2, true", form, got, ok)
		}
	}

	// A digest listed twice matches at its first place.
	if got, ok := totp.MatchRecoveryCode(plain[3], []string{digests[3], digests[3]}); !ok || got != 0 {
		t.Errorf("duplicate digest: %d, %v", got, ok)
	}

	other, _, err := totp.NewRecoveryCodes(1)
	if err != nil {
		t.Fatal(err)
	}
	changed := []byte(plain[0])
	changed[0] = map[bool]byte{true: 'b', false: 'a'}[changed[0] == 'a']
	for _, code := range []string{
		other[0], string(changed), "", "-", "0123-4567-89a", "0123-4567-89abc", "0123-4567-89au",
		"0123-4567-89a_", "0123_4567_89ab", "0123-4567-89ą", "０123-4567-89ab", plain[0] + "\x00",
		strings.Repeat(" ", 60) + plain[0], digests[0], sha256Hex(plain[0]),
	} {
		if got, ok := totp.MatchRecoveryCode(code, digests); ok || got != -1 {
			t.Errorf("%q matched code %d", code, got)
		}
	}
	if got, ok := totp.MatchRecoveryCode(plain[0], nil); ok || got != -1 {
		t.Errorf("empty list matched: %d", got)
	}
	if got, ok := totp.MatchRecoveryCode(plain[0], []string{"", strings.ToUpper(digests[0])}); ok {
		t.Errorf("upper-case digest matched: %d", got)
	}
}
