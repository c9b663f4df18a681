package validate

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// naiveIn is the definition the matcher implements: some pattern is a
// substring of text.
func naiveIn(patterns []string, text string) bool {
	for _, p := range patterns {
		if p != "" && strings.Contains(text, p) {
			return true
		}
	}
	return false
}

var matchPatterns = []string{".com", ".co.uk", ".uk", ".ck", ".*.ck", ".!www.ck", ".a.b.c", ".b.c.d.e", ".aa", ".aaa.b",
	".xn--p1ai", ".рф", ".c", "..never"}

// TestMatcherAgreesWithSubstringSearch: on texts made of the patterns'
// pieces (where fail links matter), the automaton answers as a substring
// search over every pattern does.
func TestMatcherAgreesWithSubstringSearch(t *testing.T) {
	t.Parallel()
	m := newMatcher(matchPatterns)
	pieces := []string{".", "a", "b", "c", "d", "e", ".co", ".c", "o", "uk", "*", "!", "www", "k", "xn--p1a", "i", "р", "ф", " "}
	r := rand.New(rand.NewPCG(13, 1))
	for i := range 20000 {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		text := b.String()
		got, err := m.in(context.Background(), text)
		if err != nil {
			t.Fatal(err)
		}
		if want := naiveIn(matchPatterns, text); got != want {
			t.Fatalf("text %d %q: matcher %v, substring search %v", i, text, got, want)
		}
	}
}

// TestMatcherHonoursContext: a search under an ended context stops with
// its error.
func TestMatcherHonoursContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newMatcher(matchPatterns).in(ctx, strings.Repeat(".a", 1<<15))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

func FuzzMatcher(f *testing.F) {
	m := newMatcher(matchPatterns)
	f.Add("someone at example.co.uk")
	f.Add(".a.b.c.d.e.aa")
	f.Fuzz(func(t *testing.T, text string) {
		got, err := m.in(context.Background(), text)
		if err != nil || got != naiveIn(matchPatterns, text) {
			t.Fatalf("%q: matcher %v %v", text, got, err)
		}
	})
}
