package password_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/authnzrv/authnzrv/identity/password"
)

type vectors struct {
	PHC []struct {
		Password string `json:"password"`
		Hash     string `json:"hash"`
	} `json:"phc"`
	Raw []struct {
		Password, Salt, Type, Key string
		Time, Memory              uint32
		Threads                   uint8
	} `json:"raw"`
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile("../../testdata/argon2/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.PHC) == 0 || len(v.Raw) == 0 {
		t.Fatal("no vectors")
	}
	return v
}

func cheap() password.Params {
	p := password.DefaultParams()
	p.Memory, p.Time, p.Threads = 64, 1, 1
	return p
}

func newHasher(t testing.TB, o password.Options) *password.Hasher {
	t.Helper()
	h, err := password.NewHasher(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestArgon2CFFIHashesVerify: every hash argon2-cffi wrote verifies here
// with its password and fails with another, including the old 16-byte
// hashes with m=100 MiB, t=2, p=8.
func TestArgon2CFFIHashesVerify(t *testing.T) {
	h := newHasher(t, password.Options{Params: cheap(), MemoryBudget: 1 << 20})
	for _, v := range loadVectors(t).PHC {
		t.Run(v.Hash[:30], func(t *testing.T) {
			ctx := context.Background()
			if len([]rune(v.Password)) > password.MaxLength {
				// argon2-cffi hashed all 300 characters; the hasher uses the
				// first 256, as the reference does before hashing, so the
				// reference never stores such a hash.
				if ok, err := h.Verify(ctx, v.Hash, v.Password); err != nil || ok {
					t.Fatalf("untruncated hash of a long password: %v %v", ok, err)
				}
				return
			}
			ok, err := h.Verify(ctx, v.Hash, v.Password)
			if err != nil || !ok {
				t.Fatalf("right password: %v %v", ok, err)
			}
			ok, err = h.Verify(ctx, v.Hash, v.Password+"x")
			if err != nil || ok {
				t.Fatalf("wrong password: %v %v", ok, err)
			}
			cheapOne := strings.HasPrefix(v.Hash, "$argon2id$v=19$m=64,t=1,p=1$")
			if h.NeedsRehash(v.Hash) == cheapOne {
				t.Fatalf("NeedsRehash = %v for %s", !cheapOne, v.Hash)
			}
		})
	}
}

// TestRawVectors: x/crypto/argon2 gives argon2-cffi's exact bytes.
func TestRawVectors(t *testing.T) {
	for _, v := range loadVectors(t).Raw {
		salt, _ := base64.StdEncoding.DecodeString(v.Salt)
		want, _ := base64.StdEncoding.DecodeString(v.Key)
		f := argon2.IDKey
		if v.Type == "argon2i" {
			f = argon2.Key
		}
		if got := f([]byte(v.Password), salt, v.Time, v.Memory, v.Threads, uint32(len(want))); string(got) != string(want) {
			t.Errorf("%s %q: bytes differ", v.Type, v.Password)
		}
	}
}

// TestPythonVerifiesOurHashes hashes in Go and asks argon2-cffi to verify.
func TestPythonVerifiesOurHashes(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import argon2").Run(); err != nil {
		t.Skip("python3 with argon2-cffi (Debian python3-argon2) is not installed: skipping the reverse check")
	}
	h := newHasher(t, password.Options{Params: cheap()})
	pw := "pässwörd ✓ 鍵"
	enc, err := h.Hash(context.Background(), pw)
	if err != nil {
		t.Fatal(err)
	}
	script := `import sys, argon2
ph = argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=1, hash_len=32, salt_len=16)
print(ph.verify(sys.argv[1], sys.argv[2]), ph.check_needs_rehash(sys.argv[1]))`
	out, err := exec.Command("/usr/bin/python3", "-c", script, enc, pw).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "True False" {
		t.Fatalf("argon2-cffi on %s: %s %v", enc, out, err)
	}
}

func TestHashFormat(t *testing.T) {
	h := newHasher(t, password.Options{Params: cheap()})
	enc, err := h.Hash(context.Background(), "secret")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(enc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v=19" || parts[3] != "m=64,t=1,p=1" || len(parts[4]) != 22 || len(parts[5]) != 43 {
		t.Fatalf("hash %q", enc)
	}
	if h.NeedsRehash(enc) {
		t.Fatal("fresh hash needs rehash")
	}
	other, _ := h.Hash(context.Background(), "secret")
	if other == enc {
		t.Fatal("salt not random")
	}
}

func TestNeedsRehash(t *testing.T) {
	h := newHasher(t, password.Options{Params: cheap()})
	mk := func(f func(*password.Params)) string {
		p := cheap()
		f(&p)
		salt := make([]byte, p.SaltLen)
		return password.Encode(p, salt, argon2.IDKey([]byte("x"), salt, p.Time, p.Memory, p.Threads, p.KeyLen))
	}
	tests := []struct {
		name string
		enc  string
		want bool
	}{
		{"same", mk(func(*password.Params) {}), false},
		{"memory", mk(func(p *password.Params) { p.Memory = 128 }), true},
		{"time", mk(func(p *password.Params) { p.Time = 2 }), true},
		{"threads", mk(func(p *password.Params) { p.Threads = 2 }), true},
		{"hash length", mk(func(p *password.Params) { p.KeyLen = 16 }), true},
		{"salt length", mk(func(p *password.Params) { p.SaltLen = 8 }), true},
		{"argon2i", strings.Replace(mk(func(*password.Params) {}), "argon2id", "argon2i", 1), true},
		{"garbage", "not a hash", true},
	}
	for _, tc := range tests {
		if got := h.NeedsRehash(tc.enc); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestMalformedHashes(t *testing.T) {
	h := newHasher(t, password.Options{Params: cheap()})
	good := "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA"
	bad := []string{
		"", "$", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA", "$argon2d$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaA",
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA", // 95 GiB
		"$argon2id$v=19$m=64,t=1000,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1,m=64$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$!!!$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA", // 4-byte salt
	}
	if _, err := h.Verify(context.Background(), good, "x"); err != nil {
		t.Fatalf("good: %v", err)
	}
	for _, enc := range bad {
		if ok, err := h.Verify(context.Background(), enc, "x"); err == nil || ok {
			t.Errorf("%q: ok=%v err=%v", enc, ok, err)
		}
	}
}

// TestMemoryBudget: with room for one hash at a time and a short queue,
// a burst gets ErrBusy for some hashes instead of unbounded memory.
func TestMemoryBudget(t *testing.T) {
	p := cheap()
	p.Memory, p.Time = 32*1024, 2
	h := newHasher(t, password.Options{Params: p, MemoryBudget: uint64(p.Memory), QueueTimeout: time.Millisecond})
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, busy := 0, 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := h.Hash(context.Background(), "pw")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, password.ErrBusy):
				busy++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok == 0 || busy == 0 {
		t.Fatalf("ok=%d busy=%d: want both", ok, busy)
	}
	// A stored hash costlier than the whole budget still verifies.
	big := password.DefaultParams()
	salt := make([]byte, 16)
	enc := password.Encode(big, salt, argon2.IDKey([]byte("pw"), salt, big.Time, big.Memory, big.Threads, big.KeyLen))
	if good, err := newHasher(t, password.Options{Params: cheap()}).Verify(context.Background(), enc, "pw"); err != nil || !good {
		t.Fatalf("over-budget verify: %v %v", good, err)
	}
}

func TestTruncate(t *testing.T) {
	long := strings.Repeat("é", 300)
	if got := password.Truncate(long); got != strings.Repeat("é", 256) {
		t.Fatalf("len %d", len([]rune(got)))
	}
	if password.Truncate("short") != "short" {
		t.Fatal("short changed")
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("$argon2i$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaA")
	f.Add("$$$$$")
	h, err := password.NewHasher(password.Options{Params: cheap()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, enc string) {
		// Keep each run cheap: skip strings asking for real work.
		if strings.Contains(enc, "m=") && !strings.Contains(enc, "m=8,") && !strings.Contains(enc, "m=64,") {
			return
		}
		ok, err := h.Verify(context.Background(), enc, "pw")
		if err != nil && ok {
			t.Fatal("ok with error")
		}
		h.NeedsRehash(enc)
	})
}
