package password_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/authnzrv/authnzrv/identity/password"
)

type bergsonCases struct {
	Cases []struct {
		Name, Password, Salt, Digest string
		Match                        bool
	} `json:"cases"`
	Malformed []string `json:"malformed"`
}

func loadBergsonCases(t testing.TB) bergsonCases {
	t.Helper()
	b, err := os.ReadFile("../../testdata/bergson/pbkdf2.json")
	if err != nil {
		t.Fatal(err)
	}
	var c bergsonCases
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Cases) == 0 || len(c.Malformed) == 0 {
		t.Fatal("no cases")
	}
	return c
}

// TestBergsonVerify checks imported Bergson hashes against the source's own
// vectors: they verify as they are, and always need a rehash.
func TestBergsonVerify(t *testing.T) {
	t.Parallel()
	h := newHasher(t, password.Options{Params: cheap()})
	for _, c := range loadBergsonCases(t).Cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			enc, err := password.BergsonHash(c.Salt, c.Digest)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(enc, "$bergson-pbkdf2-sha256$100000$"+c.Salt+"$") || !password.IsBergson(enc) {
				t.Fatalf("stored form %q", enc)
			}
			ok, err := h.Verify(context.Background(), enc, c.Password)
			if err != nil || ok != c.Match {
				t.Fatalf("Verify = %v, %v; want %v", ok, err, c.Match)
			}
			if !h.NeedsRehash(enc) {
				t.Fatal("a Bergson hash must need a rehash")
			}
			if c.Match {
				if got := password.BergsonDigest(c.Password, c.Salt, password.BergsonIterations); got != c.Digest {
					t.Fatalf("BergsonDigest = %s, want %s", got, c.Digest)
				}
			}
		})
	}
}

// TestBergsonRehashed: after the rehash the argon2id hash verifies the same
// password and needs no further rehash.
func TestBergsonRehashed(t *testing.T) {
	t.Parallel()
	h := newHasher(t, password.Options{Params: cheap()})
	c := loadBergsonCases(t).Cases[0]
	next, err := h.Hash(context.Background(), c.Password)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := h.Verify(context.Background(), next, c.Password); !ok || err != nil {
		t.Fatalf("Verify(rehashed) = %v, %v", ok, err)
	}
	if h.NeedsRehash(next) || password.IsBergson(next) {
		t.Fatal("the argon2id hash must not need a rehash")
	}
}

func TestBergsonMalformed(t *testing.T) {
	t.Parallel()
	h := newHasher(t, password.Options{Params: cheap()})
	for _, enc := range loadBergsonCases(t).Malformed {
		ok, err := h.Verify(context.Background(), enc, "YaQ903ENr")
		if ok || !errors.Is(err, password.ErrMalformed) {
			t.Errorf("Verify(%q) = %v, %v; want ErrMalformed", enc, ok, err)
		}
	}
	if _, err := password.BergsonHash("salt", "02ec7f"); !errors.Is(err, password.ErrMalformed) {
		t.Errorf("BergsonHash with a short digest: %v", err)
	}
}

// FuzzBergsonVerify: stored hashes come from an imported table; no input
// may panic, and only a well-formed hash may verify.
func FuzzBergsonVerify(f *testing.F) {
	for _, c := range loadBergsonCases(f).Cases {
		enc, err := password.BergsonHash(c.Salt, c.Digest)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(strings.Replace(enc, "$100000$", "$1$", 1), c.Password)
	}
	for _, m := range loadBergsonCases(f).Malformed {
		f.Add(m, "x")
	}
	h, err := password.NewHasher(password.Options{Params: cheap()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, enc, pw string) {
		if !password.IsBergson(enc) {
			return
		}
		// Keep the fuzzer fast: large iteration counts are valid but slow.
		if strings.Count(enc, "$") >= 3 {
			iter := strings.SplitN(strings.TrimPrefix(enc, password.BergsonPrefix), "$", 2)[0]
			if len(iter) > 3 {
				return
			}
		}
		ok, err := h.Verify(context.Background(), enc, pw)
		if ok && err != nil {
			t.Fatalf("verified with an error: %v", err)
		}
		if err != nil && !errors.Is(err, password.ErrMalformed) && !errors.Is(err, password.ErrBusy) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}
