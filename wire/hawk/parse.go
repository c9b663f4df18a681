package hawk

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// MaxHeaderLength bounds the length in bytes of every Hawk header this
// package parses (the 4096 of @hapi/hawk's limits.maxMatchLength).
const MaxHeaderLength = 4096

// Attribute names of the three Hawk headers.
var (
	authorizationKeys       = []string{"id", "ts", "nonce", "hash", "ext", "mac", "app", "dlg"}
	serverAuthorizationKeys = []string{"mac", "ext", "hash"}
	wwwAuthenticateKeys     = []string{"ts", "tsm", "error"}
)

// ParseAuthorization parses a Hawk Authorization header value:
//
//	Hawk id="...", ts="...", nonce="...", hash="...", ext="...", mac="...", app="...", dlg="..."
//
// It follows @hapi/hawk's grammar: a scheme matched case-insensitively;
// attributes name="value" separated by commas (optional white space around
// them, a trailing comma allowed); values of at least one character from
// letters, digits, space and !#$%&'()*+,-./:;<=>?@[]^_`{|}~ (so no quote
// and no backslash, and no escapes); unknown and duplicate attributes
// refused; at most MaxHeaderLength bytes. It then requires id, ts, nonce and
// mac, as the server does.
//
// Stricter than @hapi/hawk: white space is space or tab only (not every
// Unicode space, nor a line break after the scheme); ts must be a decimal
// integer without sign, fraction or leading zeros (the MAC covers ts as
// sent, and a canonical ts is what every Hawk client sends); dlg is refused
// without app (the MAC would not cover it).
//
// An empty header, or one of another scheme, is ErrMissing; everything else
// that fails is ErrMalformed. The returned Artifacts have no request parts
// (method, resource, host, port).
func ParseAuthorization(header string) (*Artifacts, error) {
	attrs, err := parseHeader(header, authorizationKeys)
	if err != nil {
		return nil, err
	}
	for _, k := range []string{"id", "ts", "nonce", "mac"} {
		if _, ok := attrs[k]; !ok {
			return nil, fmt.Errorf("%w: missing attribute %s", ErrMalformed, k)
		}
	}
	ts, err := parseTimestamp(attrs["ts"])
	if err != nil {
		return nil, err
	}
	if attrs["dlg"] != "" && attrs["app"] == "" {
		return nil, fmt.Errorf("%w: dlg without app", ErrMalformed)
	}
	return &Artifacts{
		ID:    attrs["id"],
		TS:    ts,
		Nonce: attrs["nonce"],
		Hash:  attrs["hash"],
		Ext:   attrs["ext"],
		MAC:   attrs["mac"],
		App:   attrs["app"],
		Dlg:   attrs["dlg"],
	}, nil
}

// parseTimestamp reads a canonical non-negative decimal timestamp.
func parseTimestamp(s string) (int64, error) {
	if s == "" || len(s) > 18 || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("%w: ts is not a canonical decimal integer", ErrMalformed)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: ts is not a canonical decimal integer", ErrMalformed)
		}
	}
	ts, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: ts: %w", ErrMalformed, err)
	}
	return ts, nil
}

// parseHeader splits a Hawk header value into its attributes, allowing only
// the names in keys. See ParseAuthorization for the grammar.
func parseHeader(header string, keys []string) (map[string]string, error) {
	if header == "" {
		return nil, ErrMissing
	}
	if len(header) > MaxHeaderLength {
		return nil, fmt.Errorf("%w: header longer than %d bytes", ErrMalformed, MaxHeaderLength)
	}
	// Scheme: one or more word characters, then the end or white space.
	i := 0
	for i < len(header) && isWordChar(header[i]) {
		i++
	}
	if i == 0 || (i < len(header) && !isSpace(header[i])) {
		return nil, fmt.Errorf("%w: invalid header syntax", ErrMalformed)
	}
	if !strings.EqualFold(header[:i], "hawk") {
		return nil, ErrMissing
	}
	rest := strings.TrimLeft(header[i:], " \t")
	if rest == "" {
		return nil, fmt.Errorf("%w: no attributes", ErrMalformed)
	}

	attrs := make(map[string]string, len(keys))
	for rest != "" {
		// name
		j := 0
		for j < len(rest) && isWordChar(rest[j]) {
			j++
		}
		if j == 0 || !strings.HasPrefix(rest[j:], `="`) {
			return nil, fmt.Errorf("%w: bad header format", ErrMalformed)
		}
		name := rest[:j]
		rest = rest[j+2:]
		// value: up to the closing quote, never across a backslash
		end := strings.IndexAny(rest, `"\`)
		if end < 0 || rest[end] != '"' {
			return nil, fmt.Errorf("%w: bad header format", ErrMalformed)
		}
		value := rest[:end]
		rest = strings.TrimLeft(rest[end+1:], " \t")
		// separator: a comma (and white space) or the end
		if rest != "" {
			if rest[0] != ',' {
				return nil, fmt.Errorf("%w: bad header format", ErrMalformed)
			}
			rest = strings.TrimLeft(rest[1:], " \t")
		}

		if !slices.Contains(keys, name) {
			return nil, fmt.Errorf("%w: unknown attribute %q", ErrMalformed, truncate(name))
		}
		if !validValue(value) {
			return nil, fmt.Errorf("%w: bad attribute value: %s", ErrMalformed, name)
		}
		if _, dup := attrs[name]; dup {
			return nil, fmt.Errorf("%w: duplicate attribute: %s", ErrMalformed, name)
		}
		attrs[name] = value
	}
	return attrs, nil
}

// isWordChar reports whether c is in JavaScript's \w: [A-Za-z0-9_].
func isWordChar(c byte) bool {
	return c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// isSpace reports whether c is white space between header tokens.
func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// validValue reports whether v is a non-empty Hawk attribute value: letters,
// digits, space and !#$%&'()*+,-./:;<=>?@[]^_`{|}~.
func validValue(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if isWordChar(c) || c == ' ' {
			continue
		}
		if !strings.ContainsRune("!#$%&'()*+,-./:;<=>?@[]^`{|}~", rune(c)) {
			return false
		}
	}
	return true
}

// truncate shortens an attribute name quoted in an error.
func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}
