package pii

import "testing"

func TestHash(t *testing.T) {
	h, err := New("some salt")
	if err != nil {
		t.Fatal(err)
	}
	a := h.Hash("user@example.org")
	if len(a) != 24 {
		t.Fatalf("digest length %d, want 24", len(a))
	}
	if a == "user@example.org" || a != h.Hash("user@example.org") {
		t.Fatalf("hash not deterministic or not hashed: %q", a)
	}
	if a == h.Hash("other@example.org") {
		t.Fatal("different inputs share a digest")
	}
	h2, _ := New("other salt")
	if h2.Hash("user@example.org") == a {
		t.Fatal("salt does not change the digest")
	}
	long, err := New(string(make([]byte, 100)) + "x")
	if err != nil || len(long.Hash(1)) != 24 {
		t.Fatalf("long salt: %v", err)
	}
	plain, _ := New("none")
	if plain.Hash(42) != "42" {
		t.Fatal("salt none must log plain text")
	}
	if _, err := New(""); err == nil {
		t.Fatal("empty salt accepted")
	}
}
