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
	sorted := slices.Clone(patterns)
	slices.Sort(sorted)
	// The trie as sibling lists: inserted in sorted order, a node's new
	// child always comes after its existing ones, so the last child is the
	// only one to compare with and the lists come out sorted.
	type building struct {
		firstKid, lastKid, next int32 // 0: none (the root is no one's kid)
		c                       byte
		hit                     bool
	}
	trie := make([]building, 1, len(sorted)*8)
	for _, p := range sorted {
		s := int32(0)
		for i := 0; i < len(p); i++ {
			last := trie[s].lastKid
			if last != 0 && trie[last].c == p[i] {
				s = last
				continue
			}
			n := int32(len(trie))
			trie = append(trie, building{c: p[i]})
			if last == 0 {
				trie[s].firstKid = n
			} else {
				trie[last].next = n
			}
			trie[s].lastKid = n
			s = n
		}
		if p != "" {
			trie[s].hit = true
		}
	}
	m := &matcher{nodes: make([]matchNode, len(trie)), edges: make([]matchEdge, 0, len(trie))}
	for i, b := range trie {
		m.nodes[i] = matchNode{first: int32(len(m.edges)), hit: b.hit}
		for k := b.firstKid; k != 0; k = trie[k].next {
			m.edges = append(m.edges, matchEdge{c: trie[k].c, to: k})
		}
		m.nodes[i].n = int32(len(m.edges)) - m.nodes[i].first
	}
	// Fail links breadth first: a node's link is found from its parent's.
	queue := make([]int32, 1, len(trie))
	for head := 0; head < len(queue); head++ {
		u := queue[head]
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
