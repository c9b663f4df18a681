package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Envelope is a decrypted request.
type Envelope struct {
	// Request is the request type, e.g. "user-login".
	Request string
	// Body holds the arguments, numbers kept as json.Number so that the
	// reference's int/float type rules can be applied.
	Body map[string]any
	// BodyPresent is false when the envelope had no "body" key.
	BodyPresent bool
	// BodyIsObject is false when "body" was present but not a JSON object.
	BodyIsObject bool
	// ReqID is the raw JSON of "reqid", echoed untouched; nil when absent or null.
	ReqID json.RawMessage
	// ClientIP is "client_ipaddr" when it is a truthy value, else "".
	ClientIP string
	// HasRequest is false when "request" is missing or not a string.
	HasRequest bool
}

// Envelope decoding errors.
var (
	// ErrFalsy: the plaintext is not JSON or is a falsy JSON value (401).
	ErrFalsy = errors.New("api: request is empty or not JSON")
	// ErrNotObject: the plaintext is JSON but not an object (400).
	ErrNotObject = errors.New("api: request is not a JSON object")
)

// DecodeEnvelope parses a decrypted request. It never panics on any input.
func DecodeEnvelope(plaintext []byte) (*Envelope, error) {
	dec := json.NewDecoder(bytes.NewReader(plaintext))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, ErrFalsy
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, ErrFalsy // trailing data after the JSON value
	}
	if !truthy(v) {
		return nil, ErrFalsy
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, ErrNotObject
	}
	env := &Envelope{}
	if r, ok := obj["request"].(string); ok {
		env.Request, env.HasRequest = r, true
	}
	if b, ok := obj["body"]; ok {
		env.BodyPresent = true
		if m, ok := b.(map[string]any); ok {
			env.Body, env.BodyIsObject = m, true
		}
	}
	if r, ok := obj["reqid"]; ok && r != nil {
		raw, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("api: re-encode reqid: %w", err)
		}
		env.ReqID = raw
	}
	if ip := obj["client_ipaddr"]; truthy(ip) {
		if s, ok := ip.(string); ok {
			env.ClientIP = s
		} else {
			env.ClientIP = fmt.Sprint(ip)
		}
	}
	return env, nil
}

// truthy applies Python's truth rules to a decoded JSON value.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case json.Number:
		f, err := x.Float64()
		return err != nil || f != 0
	case float64:
		return x != 0
	case map[string]any:
		return len(x) > 0
	case []any:
		return len(x) > 0
	}
	return true
}

// Response is the reply envelope.
type Response struct {
	Success       bool            `json:"success"`
	Response      map[string]any  `json:"response"`
	Messages      []string        `json:"messages"`
	ReqID         json.RawMessage `json:"reqid"`
	FailureReason *string         `json:"failure_reason,omitempty"`
}

// NewResponse wraps an action result: success and messages are copied to the
// top level, and failure_reason only when the action failed and has one.
func NewResponse(reqid json.RawMessage, r Result) Response {
	if reqid == nil {
		reqid = json.RawMessage("null")
	}
	ok, _ := r["success"].(bool)
	msgs, _ := r["messages"].([]string)
	if msgs == nil {
		msgs = []string{}
		r["messages"] = msgs
	}
	out := Response{Success: ok, Response: r, Messages: msgs, ReqID: reqid}
	if !ok {
		if fr, has := r["failure_reason"].(string); has {
			out.FailureReason = &fr
		}
	}
	return out
}
