package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/authnzrv/authnzrv/engine"
)

// AccessInput decodes a user-check-access body with the server's own
// argument rules (types, bounds, the same casts: `"user_id": true` is
// refused here as it is by the server) into the engine's input, for tools
// such as `authnzrv policy eval` that must decide exactly as the server.
func AccessInput(body []byte) (engine.AccessInput, error) {
	a, err := decodeBody[checkAccessArgs](body, "user-check-access")
	if err != nil {
		return engine.AccessInput{}, err
	}
	return a.engineInput(), nil
}

// LimitInput decodes a user-check-limit body as AccessInput does.
func LimitInput(body []byte) (engine.LimitInput, error) {
	a, err := decodeBody[checkLimitArgs](body, "user-check-limit")
	if err != nil {
		return engine.LimitInput{}, err
	}
	return a.engineInput()
}

// decodeBody reads a JSON object as the server reads a request body
// (numbers kept exact) and decodes it into the argument struct A; problems
// become one error listing them.
func decodeBody[A any](body []byte, request string) (*A, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, fmt.Errorf("%s: the body is not a JSON object", request)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: more than one JSON value", request)
	}
	spec, err := newArgSpec(reflect.TypeFor[A]())
	if err != nil {
		return nil, err
	}
	v, problems := spec.decode(m)
	if len(problems) > 0 {
		parts := make([]string, len(problems))
		for i, p := range problems {
			parts[i] = p.Param + ": " + p.Problem
		}
		return nil, fmt.Errorf("%s has invalid parameters: %s", request, strings.Join(parts, "; "))
	}
	return v.Interface().(*A), nil
}
