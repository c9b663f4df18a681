package wire_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/fernet/fernet-go"

	"github.com/authnzrv/authnzrv/wire"
)

type vectors struct {
	Key     string `json:"key"`
	Vectors []struct {
		Plaintext string `json:"plaintext"`
		Wire      string `json:"wire"`
	} `json:"vectors"`
}

func loadVectors(t testing.TB) vectors {
	t.Helper()
	b, err := os.ReadFile("../testdata/wire/python_fernet_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestPythonVectors: bodies encrypted by Python's cryptography decrypt here.
func TestPythonVectors(t *testing.T) {
	v := loadVectors(t)
	c, err := wire.NewCodec(v.Key, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, vec := range v.Vectors {
		plain, _, err := c.Open([]byte(vec.Wire))
		if err != nil || string(plain) != vec.Plaintext {
			t.Fatalf("vector %q: got %q, %v", vec.Plaintext, plain, err)
		}
	}
}

// TestTTL: without a TTL a year-old token is accepted (checklist 8, the
// reference's default); with one it is refused.
func TestTTL(t *testing.T) {
	v := loadVectors(t)
	k := fernet.MustDecodeKeys(v.Key)[0]
	tok, err := fernet.EncryptAndSignAtTime([]byte(`{"a": 1}`), k, time.Now().Add(-365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(base64.StdEncoding.EncodeToString(tok))
	lax, _ := wire.NewCodec(v.Key, 0)
	if _, _, err := lax.Open(body); err != nil {
		t.Fatalf("no TTL: %v", err)
	}
	strict, _ := wire.NewCodec(v.Key, time.Minute)
	_, _, err = strict.Open(body)
	var stale *wire.StaleError
	if !errors.As(err, &stale) || !errors.Is(err, wire.ErrUndecryptable) || time.Since(stale.Minted) < 364*24*time.Hour {
		t.Fatalf("a year-old token: %v, want a StaleError with its time", err)
	}
	// Another key's token is not stale, only undecryptable.
	other, _ := wire.NewCodec("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=", 0)
	sealed, _ := other.SealBytes([]byte(`{"a": 1}`))
	if _, _, err := strict.Open(sealed); !errors.Is(err, wire.ErrUndecryptable) || errors.As(err, &stale) {
		t.Fatalf("foreign token: %v", err)
	}
	fresh, _ := strict.SealBytes([]byte(`{"a": 1}`))
	if _, _, err := strict.Open(fresh); err != nil {
		t.Fatalf("fresh token refused: %v", err)
	}
}

// TestSealDecryptsInPython: our tokens decrypt with Python's cryptography.
func TestSealDecryptsInPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil || exec.Command(py, "-c", "import cryptography.fernet").Run() != nil {
		t.Skip("python3 with the cryptography package is not installed; the Python-made vectors are checked by TestPythonVectors")
	}
	v := loadVectors(t)
	c, _ := wire.NewCodec(v.Key, 0)
	msg := `{"success": true, "reqid": "r\u00e9q"}`
	sealed, err := c.SealBytes([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	script := "import sys,base64;from cryptography.fernet import Fernet;" +
		"sys.stdout.write(Fernet(sys.argv[1]).decrypt(base64.b64decode(sys.stdin.read())).decode())"
	cmd := exec.Command(py, "-c", script, v.Key)
	cmd.Stdin = bytes.NewReader(sealed)
	out, err := cmd.Output()
	if err != nil || string(out) != msg {
		t.Fatalf("python decrypt: %q, %v", out, err)
	}
}

func TestOpenRejects(t *testing.T) {
	v := loadVectors(t)
	c, _ := wire.NewCodec(v.Key, 0)
	other, _ := wire.NewCodec("0aVGrC6WLGQe8DPPVJ6Jb5_nDrwRbbNTq6fakBAMHTs=", 0)
	good, _ := c.SealBytes([]byte(`{"a": 1}`))
	foreign, _ := other.SealBytes([]byte(`{"a": 1}`))
	inner, _ := base64.StdEncoding.DecodeString(string(good))
	flipped := append([]byte(nil), inner...)
	flipped[len(flipped)/2] ^= 1
	for name, body := range map[string][]byte{
		"empty": nil, "other key": foreign, "no outer layer": inner, "truncated": good[:len(good)-8],
		"bit flip": []byte(base64.StdEncoding.EncodeToString(flipped)), "not base64": []byte("%%%"),
	} {
		if _, _, err := c.Open(body); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := wire.NewCodec("not a key", 0); err == nil {
		t.Fatal("a malformed key was accepted")
	}
	k := fernet.Key{}
	if _, err := wire.NewCodec(k.Encode(), 0); err != nil {
		t.Fatalf("valid key refused: %v", err)
	}
}

// FuzzOpen: no request body can make the decoder panic.
func FuzzOpen(f *testing.F) {
	v := loadVectors(f)
	for _, vec := range v.Vectors {
		f.Add([]byte(vec.Wire))
	}
	f.Add([]byte(""))
	f.Add([]byte("gAAAAA=="))
	c, _ := wire.NewCodec(v.Key, 0)
	f.Fuzz(func(t *testing.T, body []byte) {
		plain, _, err := c.Open(body)
		if err == nil && plain == nil {
			t.Fatal("nil plaintext without an error")
		}
	})
}

// TestTokenTime: the timestamp a token was minted with is read back; text
// that is not a token is refused.
func TestTokenTime(t *testing.T) {
	t.Parallel()
	k := fernet.MustDecodeKeys("uQ0D2Mz_Xpm3Hn5ehwJb8BVcgGJdfoXU2p-2vvENJeM=")[0]
	at := time.Unix(1700000000, 0)
	tok, err := fernet.EncryptAndSignAtTime([]byte("{}"), k, at)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := wire.TokenTime(tok); !ok || !got.Equal(at) {
		t.Fatalf("TokenTime = %v %v, want %v", got, ok, at)
	}
	for _, bad := range []string{"", "short", "!!!!!!!!!!!!!!!!!!!!", "gAAAAA"} {
		if _, ok := wire.TokenTime([]byte(bad)); ok {
			t.Errorf("TokenTime(%q) accepted", bad)
		}
	}
}

// FuzzTokenTime: any bytes, no panic.
func FuzzTokenTime(f *testing.F) {
	f.Add([]byte("gAAAAABlU_tok"))
	f.Fuzz(func(t *testing.T, b []byte) { wire.TokenTime(b) })
}
