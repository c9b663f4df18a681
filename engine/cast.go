package engine

import (
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// floatPiece is what Python's float() accepts in decimal form: a sign,
// digits with single underscores between them, a fraction, an exponent,
// surrounding whitespace.
var floatPiece = regexp.MustCompile(`^\s*[+-]?([0-9](_?[0-9])*(\.([0-9](_?[0-9])*)?)?|\.[0-9](_?[0-9])*)([eE][+-]?[0-9](_?[0-9])*)?\s*$`)

// floatSpecial is what Python's float() accepts for infinity and NaN.
var floatSpecial = regexp.MustCompile(`(?i)^\s*[+-]?(inf|infinity|nan)\s*$`)

// PyInt is Python's int() of a JSON value (permissions.md §6): numbers
// truncate toward zero, booleans are 0/1, strings of digits parse; ok is
// false for anything else. Values beyond int64 saturate (Python's integers
// are unbounded; every limit fits in int64, so comparisons are unchanged).
func PyInt(v any) (int64, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n, true
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if math.IsNaN(f) || math.IsInf(f, 0) || (err != nil && !isRange(err)) {
			return 0, false // int(inf) is an OverflowError
		}
		return saturate(math.Trunc(f)), true
	case string:
		if !intPiece.MatchString(x) {
			return 0, false
		}
		digits := strings.TrimPrefix(strings.ReplaceAll(strings.TrimSpace(x), "_", ""), "+")
		n, err := strconv.ParseInt(digits, 10, 64)
		if err != nil {
			if !isRange(err) {
				return 0, false
			}
			if strings.HasPrefix(digits, "-") {
				return math.MinInt64, true
			}
			return math.MaxInt64, true
		}
		return n, true
	}
	return 0, false
}

func isRange(err error) bool { return errors.Is(err, strconv.ErrRange) }

func saturate(f float64) int64 {
	switch {
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

// PyFloat is Python's float() of a JSON value: numbers, booleans, decimal
// strings (underscores between digits allowed), "inf", "infinity" and
// "nan" in any case with an optional sign. Out-of-range values are ±Inf.
func PyFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil || isRange(err)
	case string:
		s := strings.TrimSpace(x)
		switch {
		case floatSpecial.MatchString(s):
			neg := strings.HasPrefix(s, "-")
			s = strings.ToLower(strings.TrimLeft(s, "+-"))
			if s == "nan" {
				return math.NaN(), true
			}
			if neg {
				return math.Inf(-1), true
			}
			return math.Inf(1), true
		case floatPiece.MatchString(s):
			f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
			return f, err == nil || isRange(err)
		}
	}
	return 0, false
}

// casts is the value's {"int": …, "float": …} for the limit policy; a cast
// that fails is absent, and so is NaN (it compares false with everything).
// OPA numbers have no infinities, so +Inf is the string "inf" and -Inf is
// null: OPA orders null below every number and strings above, which is how
// infinities compare with a limit.
func casts(v any) ast.Value {
	obj := ast.NewObject()
	if n, ok := PyInt(v); ok {
		obj.Insert(ast.StringTerm("int"), ast.IntNumberTerm(int(n)))
	}
	if f, ok := PyFloat(v); ok {
		switch {
		case math.IsNaN(f):
		case math.IsInf(f, 1):
			obj.Insert(ast.StringTerm("float"), ast.StringTerm("inf"))
		case math.IsInf(f, -1):
			obj.Insert(ast.StringTerm("float"), ast.NullTerm())
		default:
			obj.Insert(ast.StringTerm("float"), ast.FloatNumberTerm(f))
		}
	}
	return obj
}
