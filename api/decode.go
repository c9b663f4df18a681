package api

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Typed arguments. Every request type has a struct whose fields are its
// arguments, described by tags:
//
//	arg:"name"          the body key; "name,kwarg" for an optional kwarg
//	type:"int,None"     the reference's type spec (protocol.md §7.1)
//	max:"254"           strings: the longest value in characters (required
//	                    on every string argument); numbers: the largest value
//	min:"0"             numbers: the smallest value
//	json:"stored"       objects stored as JSON: at most maxStoredJSON bytes
//
// Field types: string (str), int64 (int), float64 (float,int), bool (bool),
// map[string]any (dict), Opt[T] for a kwarg whose presence matters, and Raw
// for specs that accept several types (Any, None, str|int). decodeArgs
// applies the reference's presence and type rules and, beyond them, the
// bounds: booleans are not integers, numbers are finite and in range,
// strings and stored JSON have a size limit, objects a depth limit.

// Raw is an argument kept as decoded (numbers as json.Number), for specs
// that accept more than one type.
type Raw struct {
	// Set is true when the key was in the body.
	Set bool
	// V is the value (nil for JSON null or an absent key).
	V any
}

// Int reads an integer: a JSON integer within int64, or a string of
// digits (what the databases' coercion accepts). Booleans are not integers.
func (r Raw) Int() (int64, bool) { return strictInt(r.V) }

// Str returns the value when it is a string.
func (r Raw) Str() (string, bool) {
	s, ok := r.V.(string)
	return s, ok
}

// Opt is a typed kwarg whose presence matters: Set when the key was in the
// body, V its value when it was truthy and of the right type (falsy values
// pass through as the zero value, as the reference passes them unchecked).
type Opt[T any] struct {
	Set bool
	V   T
}

// Bounds beyond the reference's rules (issue 13: no input may burn a core
// or grow memory without bound).
const (
	// maxJSONDepth is the deepest nesting accepted in an object argument:
	// deep enough for any real document, shallow enough for every JSON
	// parser a frontend may use.
	maxJSONDepth = 32
	// maxStoredJSON is the largest JSON document stored per row.
	maxStoredJSON = 64 << 10
	// maxSafeInt bounds integers that are not ids: 2^53, what a
	// JavaScript or Python float-based frontend can round-trip.
	maxSafeInt = 1 << 53
)

// problem is one entry of a validation failure reply (protocol.md §7.3),
// with the bound that failed when one did.
type problem struct {
	Param         string   `json:"param"`
	Problem       string   `json:"problem"`
	RequiredType  any      `json:"required_type"`
	RequiredParam bool     `json:"required_param"`
	MaxLength     *int     `json:"max_length,omitempty"`
	Min           *float64 `json:"min,omitempty"`
	Max           *float64 `json:"max,omitempty"`
}

// fieldKind is how a field's value is read.
type fieldKind int

const (
	kindString fieldKind = iota
	kindInt
	kindFloat
	kindBool
	kindDict
	kindRaw
)

// argField is one argument of a request type.
type argField struct {
	name     string
	types    []string
	kwarg    bool
	index    int
	kind     fieldKind
	opt      bool // an Opt[T]
	maxLen   int
	min, max float64
	stored   bool
}

// argSpec describes a request type's argument struct.
type argSpec struct {
	typ    reflect.Type
	fields []argField
}

var (
	rawType = reflect.TypeFor[Raw]()
	mapType = reflect.TypeFor[map[string]any]()
)

// newArgSpec reads the tags of an argument struct. Errors name the field;
// they are programming errors found when the server is built (and by the
// table test).
func newArgSpec(t reflect.Type) (*argSpec, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%s is not a struct", t)
	}
	sp := &argSpec{typ: t}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, ok := sf.Tag.Lookup("arg")
		if !ok {
			return nil, fmt.Errorf("%s.%s has no arg tag", t.Name(), sf.Name)
		}
		name, mod, _ := strings.Cut(tag, ",")
		f := argField{name: name, kwarg: mod == "kwarg", index: i, types: strings.Split(sf.Tag.Get("type"), ","),
			min: -maxSafeInt, max: maxSafeInt, stored: sf.Tag.Get("json") == "stored"}
		if sf.Tag.Get("type") == "" {
			return nil, fmt.Errorf("%s.%s has no type tag", t.Name(), sf.Name)
		}
		ft := sf.Type
		if ft.Kind() == reflect.Struct && strings.HasPrefix(ft.Name(), "Opt[") {
			f.opt = true
			ft = ft.Field(1).Type
		}
		switch {
		case ft == rawType:
			f.kind = kindRaw
		case ft == mapType:
			f.kind = kindDict
		case ft.Kind() == reflect.String:
			f.kind = kindString
		case ft.Kind() == reflect.Int64:
			f.kind = kindInt
		case ft.Kind() == reflect.Float64:
			f.kind = kindFloat
		case ft.Kind() == reflect.Bool:
			f.kind = kindBool
		default:
			return nil, fmt.Errorf("%s.%s: unsupported type %s", t.Name(), sf.Name, ft)
		}
		if err := f.readBounds(sf); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", t.Name(), sf.Name, err)
		}
		if err := f.checkTypes(); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", t.Name(), sf.Name, err)
		}
		sp.fields = append(sp.fields, f)
	}
	return sp, nil
}

func (f *argField) readBounds(sf reflect.StructField) error {
	if v, ok := sf.Tag.Lookup("max"); ok {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("max %q: %w", v, err)
		}
		if f.kind == kindString || f.kind == kindRaw {
			f.maxLen = int(n)
		} else {
			f.max = n
		}
	}
	if v, ok := sf.Tag.Lookup("min"); ok {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("min %q: %w", v, err)
		}
		f.min = n
	}
	if f.kind == kindString && f.maxLen <= 0 {
		return fmt.Errorf("string argument without a max length")
	}
	return nil
}

// checkTypes makes sure the Go type can hold what the spec admits.
func (f *argField) checkTypes() error {
	want := map[fieldKind]string{kindString: "str", kindInt: "int", kindBool: "bool", kindDict: "dict"}
	switch f.kind {
	case kindRaw:
		return nil
	case kindFloat:
		for _, t := range f.types {
			if t != "float" && t != "int" {
				return fmt.Errorf("float64 field with type %q", t)
			}
		}
		return nil
	}
	if len(f.types) != 1 || f.types[0] != want[f.kind] {
		return fmt.Errorf("%s field with type spec %v", want[f.kind], f.types)
	}
	return nil
}

// requiredType is the spec as the reference reports it: a string for one
// type, a list for several.
func (f *argField) requiredType() any {
	if len(f.types) == 1 {
		return f.types[0]
	}
	return f.types
}

// decode fills a new argument struct from a body. It returns the problems
// in the reference's order (args, then kwargs, each in schema order); the
// struct is only meaningful without problems.
func (sp *argSpec) decode(body map[string]any) (reflect.Value, []problem) {
	ptr := reflect.New(sp.typ)
	dst := ptr.Elem()
	var out []problem
	for pass := range 2 {
		for i := range sp.fields {
			f := &sp.fields[i]
			if f.kwarg != (pass == 1) {
				continue
			}
			if p := f.decode(body, dst.Field(f.index)); p != nil {
				out = append(out, *p)
			}
		}
	}
	return ptr, out
}

func (f *argField) problem(what string) *problem {
	return &problem{Param: f.name, Problem: what, RequiredType: f.requiredType(), RequiredParam: !f.kwarg}
}

// decode reads one argument into dst.
func (f *argField) decode(body map[string]any, dst reflect.Value) *problem {
	v, present := body[f.name]
	if f.opt {
		dst.Field(0).SetBool(present)
		dst = dst.Field(1)
	}
	switch {
	case !present && !f.kwarg:
		return f.problem("missing")
	case !present:
		return nil
	case f.kwarg && !truthy(v):
		// Falsy kwargs pass unchecked (protocol.md §7.2); typed fields
		// keep their zero value.
		if f.kind == kindRaw {
			dst.Set(reflect.ValueOf(Raw{Set: true, V: v}))
		}
		return nil
	case !typeMatches(v, f.types):
		return f.problem("incorrect type")
	}
	return f.assign(v, dst)
}

// assign stores a value that passed the type rule, checking the bounds.
func (f *argField) assign(v any, dst reflect.Value) *problem {
	switch f.kind {
	case kindString:
		s := v.(string)
		if tooLong(s, f.maxLen) {
			return f.tooLong()
		}
		dst.SetString(s)
	case kindInt:
		n, ok := strictInt(v)
		if !ok {
			return f.problem("incorrect type")
		}
		if float64(n) < f.min || float64(n) > f.max {
			return f.outOfRange()
		}
		dst.SetInt(n)
	case kindFloat:
		x, ok := finite(v)
		if !ok {
			return f.problem("incorrect type")
		}
		if x < f.min || x > f.max {
			return f.outOfRange()
		}
		dst.SetFloat(x)
	case kindBool:
		dst.SetBool(v.(bool))
	case kindDict:
		if p := f.checkJSON(v); p != nil {
			return p
		}
		dst.Set(reflect.ValueOf(v))
	case kindRaw:
		if s, ok := v.(string); ok && f.maxLen > 0 && tooLong(s, f.maxLen) {
			return f.tooLong()
		}
		if p := f.checkJSON(v); p != nil {
			return p
		}
		dst.Set(reflect.ValueOf(Raw{Set: true, V: v}))
	}
	return nil
}

func (f *argField) tooLong() *problem {
	p := f.problem("too long")
	n := f.maxLen
	p.MaxLength = &n
	return p
}

func (f *argField) outOfRange() *problem {
	p := f.problem("out of range")
	lo, hi := f.min, f.max
	p.Min, p.Max = &lo, &hi
	return p
}

// checkJSON bounds an object or list: its depth always, its encoded size
// when it is stored.
func (f *argField) checkJSON(v any) *problem {
	switch v.(type) {
	case map[string]any, []any:
	default:
		return nil
	}
	if jsonDepth(v, 0) > maxJSONDepth {
		return f.problem("too deeply nested")
	}
	if f.stored {
		b, err := json.Marshal(v)
		if err != nil || len(b) > maxStoredJSON {
			p := f.problem("too large")
			n := maxStoredJSON
			p.MaxLength = &n
			return p
		}
	}
	return nil
}

// jsonDepth is the nesting depth of a decoded JSON value, counted up to
// one past maxJSONDepth.
func jsonDepth(v any, d int) int {
	if d > maxJSONDepth {
		return d
	}
	deepest := d
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			deepest = max(deepest, jsonDepth(e, d+1))
		}
	case []any:
		for _, e := range x {
			deepest = max(deepest, jsonDepth(e, d+1))
		}
	}
	return deepest
}

// tooLong reports whether s has more than n characters, without counting
// past n.
func tooLong(s string, n int) bool {
	if len(s) <= n {
		return false
	}
	return utf8.RuneCountInString(s) > n
}

// strictInt reads a JSON integer within int64, or a string of at most 19
// digits with an optional sign. Booleans and floats are not integers.
func strictInt(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		if isFloatLiteral(x) {
			return 0, false
		}
		n, err := strconv.ParseInt(string(x), 10, 64)
		return n, err == nil
	case string:
		s := strings.TrimSpace(x)
		if len(s) > 20 {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// finite reads a JSON number as a finite float64.
func finite(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	x, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		return 0, false
	}
	return x, true
}

// typeMatches reports whether a JSON value satisfies any of the type names
// (protocol.md §7.1): JSON integers are not floats, "None" accepts anything
// and "Any" anything but null. Unlike the reference, booleans are not
// integers (issue 13: typed arguments refuse booleans where integers are
// expected).
func typeMatches(v any, types []string) bool {
	for _, t := range types {
		switch t {
		case "None":
			return true
		case "Any":
			if v != nil {
				return true
			}
		case "str":
			if _, ok := v.(string); ok {
				return true
			}
		case "int":
			if x, ok := v.(json.Number); ok && !isFloatLiteral(x) {
				return true
			}
		case "float":
			if x, ok := v.(json.Number); ok && isFloatLiteral(x) {
				return true
			}
		case "dict":
			if _, ok := v.(map[string]any); ok {
				return true
			}
		case "list":
			if _, ok := v.([]any); ok {
				return true
			}
		case "bool":
			if _, ok := v.(bool); ok {
				return true
			}
		}
	}
	return false
}

func isFloatLiteral(n json.Number) bool {
	return strings.ContainsAny(string(n), ".eE")
}
