package api

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzAppendJSON: the reply encoder writes exactly what json.Marshal
// writes, for any value decoded from JSON (numbers as json.Number and as
// float64) and any string.
func FuzzAppendJSON(f *testing.F) {
	for _, s := range []string{
		`{"b": 1, "a": [true, null, "x<y>&z", 1.5e300, -0.0, 12345678901234567890], "c": {"\u2028": "\ud800"}}`,
		`"bad \xff utf8"`, `[]`, `{}`, `-0`, `1e21`, `0.1`, `"\u0000\u001f\\\""`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(v any) {
			want, werr := json.Marshal(v)
			got, gerr := appendJSON(nil, v)
			if (werr != nil) != (gerr != nil) || (werr == nil && !bytes.Equal(got, want)) {
				t.Fatalf("%#v: appendJSON %q (%v), json.Marshal %q (%v)", v, got, gerr, want, werr)
			}
		}
		check(string(data))
		var v any
		if json.Unmarshal(data, &v) == nil {
			check(v)
			if m, ok := v.(map[string]any); ok {
				check(Result(m))
			}
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var n any
		if dec.Decode(&n) == nil {
			check(n)
		}
	})
}

// TestEncodeResponse: the envelope encoder matches json.Marshal.
func TestEncodeResponse(t *testing.T) {
	t.Parallel()
	reason := "nope <&>"
	for _, r := range []Response{
		NewResponse(json.RawMessage(`{"a":[1,2]}`), Result{"success": true, "session_info": map[string]any{"z": 1, "a": "x"}}),
		{Success: false, Response: Result{"success": false}, Messages: []string{"m\u2028"}, ReqID: json.RawMessage(`7`), FailureReason: &reason},
	} {
		want, _ := json.Marshal(r)
		got, err := encodeResponse(r)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("encodeResponse %s (%v), json.Marshal %s", got, err, want)
		}
	}
}
