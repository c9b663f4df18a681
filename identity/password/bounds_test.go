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

// TestStoredHashBounds: every bound on a stored hash holds with its reason,
// through CheckStored (the importer's check) and Verify (a login), cases in
// testdata/password/stored_bounds.json.
func TestStoredHashBounds(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../testdata/password/stored_bounds.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []struct{ Name, Stored, Param string }
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	h := newHasher(t, password.Options{Params: cheap()})
	for _, c := range file.Cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			err := password.CheckStored(c.Stored)
			if c.Param == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var be *password.BoundError
			if !errors.As(err, &be) || !errors.Is(err, password.ErrMalformed) || be.Param != c.Param || be.Reason == "" {
				t.Fatalf("CheckStored: %v, want the %s bound with a reason", err, c.Param)
			}
			// A login never runs such a hash: it is refused before any work.
			if ok, err := h.Verify(context.Background(), c.Stored, "x"); ok || !errors.As(err, &be) || be.Param != c.Param {
				t.Fatalf("Verify: %v %v", ok, err)
			}
		})
	}
}

// TestParamsBounds: the server's own parameters are checked by the same
// bounds (new hashes need a 16-byte hash), each refusal naming its bound.
func TestParamsBounds(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		edit  func(*password.Params)
		param string
	}{
		{"defaults", func(*password.Params) {}, ""},
		{"1 GiB", func(p *password.Params) { p.Memory = 1 << 20 }, ""},
		{"over 1 GiB", func(p *password.Params) { p.Memory = 1<<20 + 1 }, "memory"},
		{"below 8 KiB a lane", func(p *password.Params) { p.Memory = 8*uint32(p.Threads) - 1 }, "memory"},
		{"no lanes", func(p *password.Params) { p.Threads = 0 }, "parallelism"},
		{"no passes", func(p *password.Params) { p.Time = 0 }, "time"},
		{"21 passes", func(p *password.Params) { p.Time = 21 }, "time"},
		{"8-byte hash", func(p *password.Params) { p.KeyLen = 8 }, "hash length"},
		{"4-byte salt", func(p *password.Params) { p.SaltLen = 4 }, "salt length"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := password.DefaultParams()
			c.edit(&p)
			err := p.Validate()
			var be *password.BoundError
			switch {
			case c.param == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.param != "" && (!errors.As(err, &be) || be.Param != c.param || !strings.Contains(err.Error(), be.Reason)):
				t.Fatalf("Validate: %v, want the %s bound", err, c.param)
			}
			if _, err := password.NewHasher(password.Options{Params: p}); (err == nil) != (c.param == "") {
				t.Fatalf("NewHasher: %v", err)
			}
		})
	}
}

// TestHasherTruncates: the hasher itself uses a password's first 256
// characters, so callers pass passwords as given.
func TestHasherTruncates(t *testing.T) {
	t.Parallel()
	h := newHasher(t, password.Options{Params: cheap()})
	ctx := context.Background()
	long := strings.Repeat("é", 256)
	enc, err := h.Hash(ctx, long+"tail that is cut")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		pw   string
		want bool
	}{{long, true}, {long + "another tail", true}, {long[:len(long)-2], false}, {strings.Repeat("e", 256), false}} {
		if ok, err := h.Verify(ctx, enc, c.pw); err != nil || ok != c.want {
			t.Errorf("%d runes %q…: %v %v, want %v", len([]rune(c.pw)), c.pw[len(c.pw)-4:], ok, err, c.want)
		}
	}
}
