package hawk

import (
	"crypto/hmac"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// MACType is the kind of a Hawk MAC: it is the third part of the first line
// of the normalized string, so a MAC of one kind never verifies as another.
type MACType string

// The MAC kinds this package computes.
const (
	// HeaderMAC authenticates a request (the Authorization header).
	HeaderMAC MACType = "header"
	// ResponseMAC authenticates a response (the Server-Authorization header).
	ResponseMAC MACType = "response"
)

// NormalizedString returns the text a Hawk MAC of kind t covers:
//
//	hawk.1.{t}\n{ts}\n{nonce}\n{METHOD}\n{resource}\n{host}\n{port}\n{hash}\n{ext}\n
//
// followed by "{app}\n{dlg}\n" when App is set. The method is upper-cased,
// the host lower-cased, and in ext a backslash becomes two and a line feed
// becomes backslash-n. For ResponseMAC, a carries the request's artifacts
// with the response's Hash and Ext.
func NormalizedString(t MACType, a *Artifacts) string {
	var b strings.Builder
	b.Grow(64 + len(a.Nonce) + len(a.Method) + len(a.Resource) + len(a.Host) + len(a.Hash) + len(a.Ext) + len(a.App) + len(a.Dlg))
	b.WriteString("hawk.1.")
	b.WriteString(string(t))
	b.WriteByte('\n')
	b.WriteString(strconv.FormatInt(a.TS, 10))
	b.WriteByte('\n')
	b.WriteString(a.Nonce)
	b.WriteByte('\n')
	b.WriteString(strings.ToUpper(a.Method))
	b.WriteByte('\n')
	b.WriteString(a.Resource)
	b.WriteByte('\n')
	b.WriteString(strings.ToLower(a.Host))
	b.WriteByte('\n')
	b.WriteString(strconv.Itoa(a.Port))
	b.WriteByte('\n')
	b.WriteString(a.Hash)
	b.WriteByte('\n')
	if a.Ext != "" {
		b.WriteString(strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(a.Ext))
	}
	b.WriteByte('\n')
	if a.App != "" {
		b.WriteString(a.App)
		b.WriteByte('\n')
		b.WriteString(a.Dlg)
		b.WriteByte('\n')
	}
	return b.String()
}

// CalculateMAC returns the base64 HMAC of NormalizedString(t, a) under the
// credentials' key and algorithm.
func CalculateMAC(creds Credentials, t MACType, a *Artifacts) (string, error) {
	h, err := creds.check()
	if err != nil {
		return "", err
	}
	m := hmac.New(h, creds.Key)
	m.Write([]byte(NormalizedString(t, a)))
	return base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// PayloadHash returns the base64 Hawk payload hash:
//
//	hash("hawk.1.payload\n{media type}\n{payload}\n")
//
// where the media type is the Content-Type without its parameters, trimmed
// and lower-cased (empty when there is no Content-Type).
func PayloadHash(alg Algorithm, contentType string, payload []byte) (string, error) {
	newHash, err := alg.newHash()
	if err != nil {
		return "", err
	}
	h := newHash()
	h.Write([]byte("hawk.1.payload\n"))
	h.Write([]byte(mediaType(contentType)))
	h.Write([]byte{'\n'})
	h.Write(payload)
	h.Write([]byte{'\n'})
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// mediaType is a Content-Type header without parameters, trimmed and
// lower-cased, as Hawk's payload hash covers it.
func mediaType(contentType string) string {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// TimestampMAC returns the base64 HMAC of "hawk.1.ts\n{ts}\n": the tsm a
// server sends with its time in a stale-timestamp challenge, so the client
// can trust that time.
func TimestampMAC(creds Credentials, ts int64) (string, error) {
	h, err := creds.check()
	if err != nil {
		return "", err
	}
	m := hmac.New(h, creds.Key)
	m.Write([]byte("hawk.1.ts\n" + strconv.FormatInt(ts, 10) + "\n"))
	return base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// checkValue refuses an attribute value this package would write
// that Hawk's header grammar cannot carry (empty is fine: it is left out).
func checkValue(name, v string) error {
	if v != "" && !validValue(v) {
		return fmt.Errorf("hawk: %s has a character a Hawk header cannot carry", name)
	}
	return nil
}
