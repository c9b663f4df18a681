package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// unknownKeys reports every object key of a model document that the Model
// type has no field for, with its JSON path ("role_policy.staff.limts":
// unknown key). A mistyped key would otherwise be dropped without a word,
// and the rule it was meant to set would silently not exist. Keys under
// maps (role, item, visibility and limit names) are names, not fields, and
// are checked by Validate.
func unknownKeys(data []byte) ModelErrors {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil // reported by the typed decode
	}
	var errs ModelErrors
	walkKeys(doc, reflect.TypeOf(Model{}), "", &errs)
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Path < errs[j].Path })
	return errs
}

// walkKeys checks the JSON value v against the Go type t.
func walkKeys(v any, t reflect.Type, path string, errs *ModelErrors) {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	if !fits(v, t) {
		*errs = append(*errs, ModelError{path, fmt.Sprintf("is %s, want %s", jsonKindOf(v), jsonKind(t))})
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		obj := v.(map[string]any)
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && name != "-" {
				fields[name] = f.Type
			}
		}
		for k, sub := range obj {
			ft, ok := fields[k]
			if !ok {
				*errs = append(*errs, ModelError{join(k), "unknown key (known: " + knownKeys(fields) + ")"})
				continue
			}
			walkKeys(sub, ft, join(k), errs)
		}
	case reflect.Map:
		if obj, ok := v.(map[string]any); ok {
			for k, sub := range obj {
				walkKeys(sub, t.Elem(), join(k), errs)
			}
		}
	case reflect.Slice:
		if list, ok := v.([]any); ok {
			for i, sub := range list {
				walkKeys(sub, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs)
			}
		}
	}
}

// fits reports whether a decoded JSON value (null aside) has the JSON kind
// the Go type t decodes.
func fits(v any, t reflect.Type) bool {
	switch v.(type) {
	case nil:
		return true
	case map[string]any:
		return t.Kind() == reflect.Map || t.Kind() == reflect.Struct
	case []any:
		return t.Kind() == reflect.Slice
	case json.Number:
		return t == reflect.TypeOf(json.Number(""))
	case string:
		return t.Kind() == reflect.String
	}
	return false
}

// jsonKindOf names the JSON kind of a decoded value.
func jsonKindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return "null"
}

// knownKeys lists a struct's JSON keys, sorted.
func knownKeys(fields map[string]reflect.Type) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// jsonKind names what a Go type holds, as a model's author sees it.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.String:
		if t == reflect.TypeOf(json.Number("")) {
			return "a number"
		}
		return "a string"
	default:
		return t.String()
	}
}
