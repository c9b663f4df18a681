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
// an integer as Python's int() reads it.
func ParseSharedWith(s string) (ids []int64, present bool, err error) {
	if t := strings.ToLower(strings.TrimSpace(s)); t == "" || t == "none" {
		return nil, false, nil
	}
	for _, piece := range strings.Split(s, ",") {
		if !intPiece.MatchString(piece) {
			return nil, true, fmt.Errorf("shared-with entry %q is not a user id", piece)
		}
		n, err := strconv.ParseInt(strings.TrimPrefix(strings.ReplaceAll(strings.TrimSpace(piece), "_", ""), "+"), 10, 64)
		if err != nil {
			return nil, true, fmt.Errorf("shared-with entry %q: %w", piece, err)
		}
		ids = append(ids, n)
	}
	return ids, true, nil
}
