package engine

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// floatPiece is what Python's float() accepts (decimal forms).
var floatPiece = regexp.MustCompile(`^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$`)

// PyInt is Python's int() of a JSON value (permissions.md §6): numbers
// truncate toward zero, booleans are 0/1, strings of digits parse; ok is
// false for anything else.
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
		f, err := x.Float64()
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<62 {
			return 0, false
		}
		return int64(math.Trunc(f)), true
	case string:
		if !intPiece.MatchString(x) {
			return 0, false
		}
		n, err := strconv.ParseInt(strings.TrimPrefix(strings.ReplaceAll(strings.TrimSpace(x), "_", ""), "+"), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// PyFloat is Python's float() of a JSON value, for decimal forms.
func PyFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		if !floatPiece.MatchString(x) {
			return 0, false
		}
		f, err := strconv.ParseFloat(strings.TrimPrefix(strings.TrimSpace(x), "+"), 64)
		return f, err == nil
	}
	return 0, false
}

// casts is the value's {"int": …, "float": …} for the limit policy; a cast
// that fails is absent.
func casts(v any) ast.Value {
	obj := ast.NewObject()
	if n, ok := PyInt(v); ok {
		obj.Insert(ast.StringTerm("int"), ast.IntNumberTerm(int(n)))
	}
	if f, ok := PyFloat(v); ok && !math.IsNaN(f) && !math.IsInf(f, 0) {
		obj.Insert(ast.StringTerm("float"), ast.FloatNumberTerm(f))
	}
	return obj
}
