package engine

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// intPiece is what Python's int() accepts: surrounding whitespace, a sign,
// underscores between digits.
var intPiece = regexp.MustCompile(`^\s*[+-]?[0-9]+(_[0-9]+)*\s*$`)

// ParseSharedWith reads a target_sharedwith value: "" or "none" (any case)
// name nobody (present false); otherwise every comma-separated piece must be
// an integer as Python's int() reads it (the pattern intPiece).
func ParseSharedWith(s string) (ids []int64, present bool, err error) {
	if t := strings.ToLower(strings.TrimSpace(s)); t == "" || t == "none" {
		return nil, false, nil
	}
	ids = make([]int64, 0, strings.Count(s, ",")+1)
	for piece := range strings.SplitSeq(s, ",") {
		n, err := parseIntPiece(piece)
		if err != nil {
			return nil, true, err
		}
		ids = append(ids, n)
	}
	return ids, true, nil
}

// isSpace is the \s of Go's regexp (and of OPA's regex.match).
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// parseIntPiece parses one shared-with entry as intPiece describes it,
// without the regexp: this runs on every access decision.
func parseIntPiece(piece string) (int64, error) {
	p := piece
	for len(p) > 0 && isSpace(p[0]) {
		p = p[1:]
	}
	for len(p) > 0 && isSpace(p[len(p)-1]) {
		p = p[:len(p)-1]
	}
	neg := false
	if len(p) > 0 && (p[0] == '+' || p[0] == '-') {
		neg = p[0] == '-'
		p = p[1:]
	}
	var digits [24]byte
	buf := digits[:0]
	if neg {
		buf = append(buf, '-')
	}
	prevDigit := false
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c >= '0' && c <= '9':
			buf = append(buf, c)
			prevDigit = true
		case c == '_' && prevDigit && i+1 < len(p) && p[i+1] >= '0' && p[i+1] <= '9':
			prevDigit = false
		default:
			return 0, fmt.Errorf("shared-with entry %q is not a user id", piece)
		}
	}
	if !prevDigit {
		return 0, fmt.Errorf("shared-with entry %q is not a user id", piece)
	}
	n, err := strconv.ParseInt(string(buf), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("shared-with entry %q: %w", piece, err)
	}
	return n, nil
}
