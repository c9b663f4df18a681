package engine

import (
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
)

// FuzzJSONNumber: the decoder-free path of value_to_check accepts exactly
// the inputs encoding/json reads as one number, and yields the same number.
func FuzzJSONNumber(f *testing.F) {
	for _, s := range []string{"1", "-0", "01", "1.", ".5", "1e5", "1E+5", " 2 ", "-", "1.5e", "0.0", "1e-07", "\t3\n", "+1", "1 2", "0x10", "NaN", `"1"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := jsonNumber([]byte(s))
		var v any
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		want := d.Decode(&v) == nil
		if _, isNumber := v.(json.Number); !isNumber {
			want = false
		}
		if want {
			_, err := d.Token()
			want = err == io.EOF
		}
		if ok != want || (ok && n != v.(json.Number)) {
			t.Fatalf("%q: jsonNumber %q %v, encoding/json %v %v", s, n, ok, v, want)
		}
	})
}

// FuzzParseIntPiece: the hand-written shared-with entry parser accepts
// exactly what the pattern intPiece (and the policy's regex) accepts, and
// reads the same number.
func FuzzParseIntPiece(f *testing.F) {
	for _, s := range []string{"7", " 7 ", "+7", "-7", "1_0", "1__0", "_1", "1_", "", " ", "\v7", "7\f", "٣", "99999999999999999999", "0007"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseIntPiece(s)
		if !intPiece.MatchString(s) {
			if err == nil {
				t.Fatalf("%q: parsed as %d, the pattern refuses it", s, n)
			}
			return
		}
		want, werr := strconv.ParseInt(strings.TrimPrefix(strings.ReplaceAll(strings.TrimSpace(s), "_", ""), "+"), 10, 64)
		if (err == nil) != (werr == nil) || (err == nil && n != want) {
			t.Fatalf("%q: %d %v, want %d %v", s, n, err, want, werr)
		}
		if werr != nil && !errors.Is(err, strconv.ErrRange) {
			t.Fatalf("%q: %v is not a range error", s, err)
		}
	})
}
