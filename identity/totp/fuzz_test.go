package totp_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/identity/totp"
)

// FuzzOpen: Open never panics, fails only with its typed errors, and what
// it opens seals and opens again the same.
func FuzzOpen(f *testing.F) {
	v := loadSealVectors(f)
	for _, tc := range v.Vectors {
		f.Add(tc.Sealed, []byte(tc.AAD))
		f.Add(tc.Sealed[:len(tc.Sealed)-1], []byte(tc.AAD))
		f.Add(strings.Replace(tc.Sealed, "v1.", "v2.", 1), []byte(tc.AAD))
	}
	f.Add("", []byte(nil))
	f.Add("v1.", []byte("x"))
	f.Add("v1.====\n\r", []byte("1"))
	s := newSealer(f, v.ServerSecret)
	f.Fuzz(func(t *testing.T, sealed string, aad []byte) {
		plain, err := s.Open(sealed, aad)
		if err != nil {
			if plain != nil || !errors.Is(err, totp.ErrSealedFormat) && !errors.Is(err, totp.ErrSealedAuth) {
				t.Fatalf("Open(%q): %q, %v", sealed, plain, err)
			}
			return
		}
		again, err := s.Seal(plain, aad)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := s.Open(again, aad); err != nil || string(back) != string(plain) {
			t.Fatalf("reseal of %q: %q, %v", plain, back, err)
		}
	})
}

// FuzzCheck: Check never panics, accepts only six ASCII digits, and fails
// only with its typed errors.
func FuzzCheck(f *testing.F) {
	for _, c := range []string{"123456", "000000", "12345", "１２３４５６", "12345\x00", ""} {
		f.Add(testSecret, c, base.Unix(), int64(0))
	}
	f.Add("", "123456", int64(-1), int64(-5))
	f.Add("jbswy3dpehpk3pxp", "654321", int64(1<<62), int64(1<<60))
	f.Fuzz(func(t *testing.T, secret, code string, unix, last int64) {
		step, err := totp.Check(secret, code, time.Unix(unix, 0), last)
		if err == nil {
			if len(code) != 6 || strings.Trim(code, "0123456789") != "" || step <= last {
				t.Fatalf("Check(%q, %q, %d, %d) accepted at step %d", secret, code, unix, last, step)
			}
			return
		}
		for _, e := range []error{totp.ErrMalformed, totp.ErrInvalidCode, totp.ErrReused, totp.ErrBadSecret} {
			if errors.Is(err, e) {
				return
			}
		}
		t.Fatalf("Check(%q, %q): untyped error %v", secret, code, err)
	})
}

// FuzzMatchRecoveryCode: matching never panics, and only a form of the
// known code (case, spaces, dashes and look-alikes aside) matches it.
func FuzzMatchRecoveryCode(f *testing.F) {
	const known = "0123-4567-89ab"
	digests := []string{sha256Hex("zzzzzzzzzzzz"), sha256Hex("0123456789ab")}
	for _, c := range []string{known, "O123 4567 89AB", "oi23456789ab", "", "----", "0123-4567-89au", strings.Repeat(" ", 70)} {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, code string) {
		i, ok := totp.MatchRecoveryCode(code, digests)
		if !ok {
			if i != -1 {
				t.Fatalf("%q: no match but index %d", code, i)
			}
			return
		}
		norm := strings.NewReplacer(" ", "", "\t", "", "-", "", "o", "0", "i", "1", "l", "1").Replace(strings.ToLower(code))
		want := map[int]string{0: "zzzzzzzzzzzz", 1: "0123456789ab"}[i]
		if norm != want || len(code) > 64 {
			t.Fatalf("%q matched digest %d", code, i)
		}
	})
}
