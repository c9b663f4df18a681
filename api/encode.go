package api

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// A reply is encoded on every request, and encoding/json's reflection and
// map-key sorting cost as much as a cached session read: appendJSON writes
// the values replies are made of directly, byte for byte as json.Marshal
// would (sorted object keys, HTML-safe escaping, invalid UTF-8 replaced),
// and hands anything else to json.Marshal. FuzzAppendJSON holds it to that.

// appendJSON appends v's JSON encoding to b.
func appendJSON(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) || x != math.Trunc(x) || math.Abs(x) >= 1e15 || (x == 0 && math.Signbit(x)) {
			return appendMarshal(b, x)
		}
		return strconv.AppendInt(b, int64(x), 10), nil
	case json.Number:
		if !validNumber(string(x)) {
			return appendMarshal(b, x)
		}
		return append(b, x...), nil
	case json.RawMessage:
		return appendMarshal(b, x)
	case *string:
		if x == nil {
			return append(b, "null"...), nil
		}
		return appendString(b, *x), nil
	case []string:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, s := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		return append(b, ']'), nil
	case []any:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case []map[string]any:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendObject(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		return appendObject(b, x)
	case Result:
		return appendObject(b, x)
	case time.Time:
		return appendMarshal(b, x)
	}
	return appendMarshal(b, v)
}

// appendObject writes an object with its keys sorted, as json.Marshal does.
func appendObject(b []byte, m map[string]any) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	var small [32]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		var err error
		if b, err = appendJSON(b, m[k]); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func appendMarshal(b []byte, v any) ([]byte, error) {
	out, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, out...), nil
}

// validNumber reports whether s is a JSON number (what json.Marshal checks
// of a json.Number).
func validNumber(s string) bool {
	_, ok := jsonNumberEnd(s)
	return ok
}

func jsonNumberEnd(s string) (int, bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return 0, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return 0, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return 0, false
		}
	}
	return i, i == len(s)
}

const hexDigits = "0123456789abcdef"

// appendString writes a JSON string as encoding/json does with HTML
// escaping: <, > and & as \u003c, \u003e, \u0026; U+2028 and U+2029
// escaped; invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// encodeResponse encodes a reply envelope as json.Marshal(resp) would.
func encodeResponse(resp Response) ([]byte, error) {
	b := make([]byte, 0, 512)
	b = append(b, `{"success":`...)
	b = strconv.AppendBool(b, resp.Success)
	b = append(b, `,"response":`...)
	var err error
	if b, err = appendObject(b, resp.Response); err != nil {
		return nil, err
	}
	b = append(b, `,"messages":`...)
	if b, err = appendJSON(b, resp.Messages); err != nil {
		return nil, err
	}
	b = append(b, `,"reqid":`...)
	if b, err = appendMarshal(b, resp.ReqID); err != nil {
		return nil, err
	}
	if resp.FailureReason != nil {
		b = append(b, `,"failure_reason":`...)
		b = appendString(b, *resp.FailureReason)
	}
	return append(b, '}'), nil
}
