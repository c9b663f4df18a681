package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The Bergson Authenticator's request parameters (ba_core.py,
// BAPathDispatcher.__parse_request__): where they come from depends on the
// exact Content-Type header value (text/plain when there is none) and the
// method:
//
//   - text/plain, GET: the query string, blank values dropped;
//   - application/json, POST or PUT: the body, a JSON object (a body that
//     does not parse gives no parameters);
//   - application/x-www-form-urlencoded, POST or PUT: the body as a form,
//     blank values kept, the query string ignored;
//   - anything else: no parameters.
//
// The source is Python 2: form and query values are byte strings, JSON
// strings are unicode. That matters for the canonical "key=value&..."
// string the Hawk payload hash covers (bergsonParams.canonical).

// Content types the source tells apart (compared exactly, as it does).
const (
	ctText = "text/plain"
	ctJSON = "application/json"
	ctForm = "application/x-www-form-urlencoded"
)

// paramKind is where a parameter value came from and what it is.
type paramKind int

const (
	// paramBytes: a form or query value (a Python 2 byte string).
	paramBytes paramKind = iota
	// paramList: a form or query name given more than once (a list of byte
	// strings in the source).
	paramList
	// paramJSONString: a JSON string (unicode in the source).
	paramJSONString
	// paramJSONOther: any other JSON value.
	paramJSONOther
)

// bparam is one request parameter.
type bparam struct {
	kind paramKind
	s    string   // paramBytes, paramJSONString
	list []string // paramList
	raw  any      // paramJSONOther: json.Number, bool, nil, []any, map[string]any
}

// bergsonParams are a request's parameters.
type bergsonParams struct {
	m map[string]bparam
	// fromJSON: the parameters came from a JSON body (the canonical string
	// is then unicode in the source, else bytes).
	fromJSON bool
	// notObject: the JSON body was valid JSON but not an object; the source
	// then fails computing the canonical string (HTTP 401).
	notObject bool
}

// str returns a parameter as a string: present and a string (a form or
// query value given once, or a JSON string).
func (p bergsonParams) str(key string) (string, bool, bool) {
	v, present := p.m[key]
	if !present {
		return "", false, false
	}
	if v.kind == paramBytes || v.kind == paramJSONString {
		return v.s, true, true
	}
	return "", true, false
}

// has reports whether every key is present.
func (p bergsonParams) has(keys ...string) bool {
	for _, k := range keys {
		if _, ok := p.m[k]; !ok {
			return false
		}
	}
	return true
}

// bergsonContentType is the Content-Type the source sees: the header value as
// sent, text/plain when there is none.
func bergsonContentType(h []string) string {
	if len(h) == 0 {
		return ctText
	}
	return h[0]
}

// parseBergsonParams reads a request's parameters as the source does.
func parseBergsonParams(method, contentType, rawQuery string, body []byte) bergsonParams {
	p := bergsonParams{m: map[string]bparam{}}
	switch {
	case contentType == ctText && method == "GET":
		p.m = parseForm(rawQuery, false)
	case contentType == ctJSON && (method == "POST" || method == "PUT"):
		p.fromJSON = true
		if !utf8.Valid(body) {
			return p
		}
		r := bytes.NewReader(body)
		dec := json.NewDecoder(r)
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return p
		}
		rest, _ := io.ReadAll(io.MultiReader(dec.Buffered(), r))
		if len(bytes.TrimLeft(rest, " \t\r\n")) > 0 {
			return p // trailing data: json.loads refuses it
		}
		obj, ok := v.(map[string]any)
		if !ok {
			p.notObject = true
			return p
		}
		for k, x := range obj {
			if s, ok := x.(string); ok {
				p.m[k] = bparam{kind: paramJSONString, s: s}
			} else {
				p.m[k] = bparam{kind: paramJSONOther, raw: x}
			}
		}
	case contentType == ctForm && (method == "POST" || method == "PUT"):
		p.m = parseForm(string(body), true)
	}
	return p
}

// parseForm parses a query string or form body as Python 2's cgi module
// (urlparse.parse_qsl) does: pairs split on '&' and ';', '+' is a space,
// %XX escapes decoded to bytes (a bad escape is kept as it is), a pair
// without '=' counts as a blank value, blank values kept only when
// keepBlank. A name given more than once becomes a list.
func parseForm(s string, keepBlank bool) map[string]bparam {
	out := map[string]bparam{}
	for _, pair := range strings.FieldsFunc(s, func(r rune) bool { return r == '&' || r == ';' }) {
		if pair == "" {
			continue
		}
		name, value, found := strings.Cut(pair, "=")
		if !found && !keepBlank {
			continue
		}
		if value == "" && !keepBlank {
			continue
		}
		name, value = unquotePlus(name), unquotePlus(value)
		cur, seen := out[name]
		switch {
		case !seen:
			out[name] = bparam{kind: paramBytes, s: value}
		case cur.kind == paramBytes:
			out[name] = bparam{kind: paramList, list: []string{cur.s, value}}
		default:
			cur.list = append(cur.list, value)
			out[name] = cur
		}
	}
	return out
}

// unquotePlus is Python 2's urllib.unquote_plus: '+' is a space and each
// valid %XX escape a byte; invalid escapes stay as they are.
func unquotePlus(s string) string {
	s = strings.ReplaceAll(s, "+", " ")
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			n, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(n))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// errCanonical means the source could not build the canonical string of
// the parameters (it then answers 401, whether Hawk is on or not).
var errCanonical = errors.New("bergson: parameters have no canonical form")

// canonical is the source's __req_params_mohawk_str_get__: the parameters
// sorted by name, as name=str(value) joined with '&', where str is Python
// 2's: byte strings as they are; JSON strings only when ASCII (str() of a
// non-ASCII unicode string raises); integers in decimal; true, false and
// null as True, False and None; a repeated form name as the list's repr.
// Floats, arrays and objects (whose Python 2 rendering this server does
// not reproduce) and a JSON body that is not an object have no canonical
// form.
func (p bergsonParams) canonical() (string, error) {
	if p.notObject {
		return "", errCanonical
	}
	keys := make([]string, 0, len(p.m))
	for k := range p.m {
		keys = append(keys, k)
	}
	sort.Strings(keys) // UTF-8 byte order is code point order
	var b strings.Builder
	for i, k := range keys {
		v, err := pyStr(p.m[k])
		if err != nil {
			return "", err
		}
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	return b.String(), nil
}

// pyStr is Python 2's str() of a parameter value.
func pyStr(v bparam) (string, error) {
	switch v.kind {
	case paramBytes:
		return v.s, nil
	case paramJSONString:
		if !isASCII(v.s) {
			return "", errCanonical
		}
		return v.s, nil
	case paramList:
		parts := make([]string, len(v.list))
		for i, s := range v.list {
			parts[i] = pyRepr(s)
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	}
	switch x := v.raw.(type) {
	case bool:
		if x {
			return "True", nil
		}
		return "False", nil
	case nil:
		return "None", nil
	case json.Number:
		if strings.ContainsAny(string(x), ".eE") {
			return "", errCanonical
		}
		n, ok := new(big.Int).SetString(string(x), 10)
		if !ok {
			return "", errCanonical
		}
		return n.String(), nil
	}
	return "", errCanonical
}

// pyRepr is Python 2's repr() of a byte string.
func pyRepr(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c >= 0x7f:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(c)>>4, 16))
			b.WriteString(strconv.FormatUint(uint64(c)&0xf, 16))
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(q)
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// bergsonUsername is the source's ba_req_input_check_username: 4 to 128
// characters, four lower-case letters, then lower-case letters and digits.
// (Python's '$' also matches before a final newline, so the source accepts
// "john\n"; this server does not.)
var bergsonUsername = regexp.MustCompile(`^[a-z]{4}[a-z0-9]*$`)

func validBergsonUsername(s string) bool {
	return len(s) >= 4 && len(s) <= 128 && bergsonUsername.MatchString(s)
}

// validBergsonPassword is the source's ba_req_input_check_password:
// printable ASCII, 6 to 100 characters.
func validBergsonPassword(s string) bool {
	if len(s) < 6 || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 32 || s[i] > 126 {
			return false
		}
	}
	return true
}

// ValidBergsonUsername reports whether s satisfies the Bergson
// Authenticator's username rule (for importers).
func ValidBergsonUsername(s string) bool { return validBergsonUsername(s) }
