package validate

import (
	"context"
	"slices"
)

// matcher reports whether any of a set of strings occurs in a text, in one
// pass over the text's bytes (Aho–Corasick): its time is linear in the text
// whatever the text holds (issue 13, finding 1: the previous search was
// quadratic in the longest pattern at every '.'). The automaton is a trie
// whose children live in one sorted edge list; fail links point to the
// longest proper suffix of a node's string that is a trie node too.
type matcher struct {
	nodes []matchNode
	edges []matchEdge
}

type matchNode struct {
	// first and n locate the node's children in edges (sorted by byte).
	first int32
	n     int32
	fail  int32
	// hit: a pattern ends here, or at a node its fail chain reaches.
	hit bool
}

type matchEdge struct {
	c  byte
	to int32
}

// newMatcher builds the automaton of patterns (empty ones are ignored).
func newMatcher(patterns []string) *matcher {
	// A trie with a child list per node, then flattened.
	type building struct {
		kids []matchEdge
		hit  bool
	}
	trie := []building{{}}
	for _, p := range patterns {
		if p == "" {
			continue
		}
		s := int32(0)
		for i := 0; i < len(p); i++ {
			next := int32(-1)
			for _, e := range trie[s].kids {
				if e.c == p[i] {
					next = e.to
					break
				}
			}
			if next < 0 {
				next = int32(len(trie))
				trie = append(trie, building{})
				trie[s].kids = append(trie[s].kids, matchEdge{c: p[i], to: next})
			}
			s = next
		}
		trie[s].hit = true
	}
	m := &matcher{nodes: make([]matchNode, len(trie))}
	for i, b := range trie {
		slices.SortFunc(b.kids, func(x, y matchEdge) int { return int(x.c) - int(y.c) })
		m.nodes[i] = matchNode{first: int32(len(m.edges)), n: int32(len(b.kids)), hit: b.hit}
		m.edges = append(m.edges, b.kids...)
	}
	// Fail links breadth first: a node's link is found from its parent's.
	queue := []int32{0}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, e := range m.children(u) {
			v := e.to
			queue = append(queue, v)
			if u == 0 {
				continue // the root's children fail to the root
			}
			f := m.nodes[u].fail
			for {
				if t, ok := m.child(f, e.c); ok {
					m.nodes[v].fail = t
					break
				}
				if f == 0 {
					break
				}
				f = m.nodes[f].fail
			}
			m.nodes[v].hit = m.nodes[v].hit || m.nodes[m.nodes[v].fail].hit
		}
	}
	return m
}

func (m *matcher) children(s int32) []matchEdge {
	n := m.nodes[s]
	return m.edges[n.first : n.first+n.n]
}

// child is the node reached from s by c.
func (m *matcher) child(s int32, c byte) (int32, bool) {
	kids := m.children(s)
	i, found := slices.BinarySearchFunc(kids, c, func(e matchEdge, c byte) int { return int(e.c) - int(c) })
	if !found {
		return 0, false
	}
	return kids[i].to, true
}

// checkEvery is how many bytes a search reads between looks at its
// context.
const checkEvery = 4096

// in reports whether a pattern occurs in text. It stops with ctx's error
// when ctx ends.
func (m *matcher) in(ctx context.Context, text string) (bool, error) {
	s := int32(0)
	for i := 0; i < len(text); i++ {
		if i%checkEvery == 0 && ctx.Err() != nil {
			return false, ctx.Err()
		}
		c := text[i]
		for {
			if t, ok := m.child(s, c); ok {
				s = t
				break
			}
			if s == 0 {
				break
			}
			s = m.nodes[s].fail
		}
		if m.nodes[s].hit {
			return true, nil
		}
	}
	return false, nil
}
