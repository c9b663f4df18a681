package hawk

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SignOptions are the optional inputs of Sign.
type SignOptions struct {
	// TS is the timestamp in seconds since the Unix epoch; zero means now.
	TS int64
	// Nonce is the nonce; empty means 12 random characters.
	Nonce string
	// ContentType is the request's Content-Type header value.
	ContentType string
	// Payload is the request body; nil means no payload hash is sent
	// (use an empty non-nil slice to sign an empty body).
	Payload []byte
	// Ext is application-specific data; empty means none.
	Ext string
	// App is the Oz application id; empty means none.
	App string
	// Dlg is the Oz delegated-by application id; only with App.
	Dlg string
}

// Sign returns the Authorization header value for a request to rawURL with
// the given method, as @hapi/hawk's client.header builds it, and the request
// artifacts (needed to verify the response with VerifyServerAuthorization).
//
// The resource is the URL's escaped path (or "/") and its query, a trailing
// "?" kept; the host is lower-cased; the port is the URL's, or 80 for http
// and 443 otherwise. The id,
// nonce, ext, app and dlg must consist of characters a Hawk header can carry
// (no quote, no backslash).
func Sign(creds Credentials, method, rawURL string, opts SignOptions) (string, *Artifacts, error) {
	if _, err := creds.check(); err != nil {
		return "", nil, err
	}
	if creds.ID == "" {
		return "", nil, errors.New("hawk: credentials have an empty id")
	}
	if method == "" {
		return "", nil, errors.New("hawk: empty method")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", nil, fmt.Errorf("hawk: request URL: %w", err)
	}
	if u.Hostname() == "" {
		return "", nil, errors.New("hawk: request URL has no host")
	}
	port := 443
	if u.Scheme == "http" {
		port = 80
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return "", nil, fmt.Errorf("hawk: request URL port: %w", err)
		}
	}
	resource := u.EscapedPath()
	if resource == "" {
		resource = "/"
	}
	if u.RawQuery != "" || u.ForceQuery {
		resource += "?" + u.RawQuery
	}

	nonce := opts.Nonce
	if nonce == "" {
		b := make([]byte, 9)
		if _, err := rand.Read(b); err != nil {
			return "", nil, fmt.Errorf("hawk: nonce: %w", err)
		}
		nonce = base64.RawURLEncoding.EncodeToString(b)
	}
	ts := opts.TS
	if ts == 0 {
		ts = time.Now().Unix()
	}
	if ts < 0 {
		return "", nil, errors.New("hawk: negative timestamp")
	}
	if opts.Dlg != "" && opts.App == "" {
		return "", nil, errors.New("hawk: dlg without app")
	}
	for _, v := range []struct{ name, value string }{
		{"id", creds.ID}, {"nonce", nonce}, {"ext", opts.Ext}, {"app", opts.App}, {"dlg", opts.Dlg},
	} {
		if err := checkValue(v.name, v.value); err != nil {
			return "", nil, err
		}
	}

	art := &Artifacts{
		Method: method, Resource: resource, Host: strings.ToLower(u.Hostname()), Port: port,
		ID: creds.ID, TS: ts, Nonce: nonce, Ext: opts.Ext, App: opts.App, Dlg: opts.Dlg,
	}
	if opts.Payload != nil {
		if art.Hash, err = PayloadHash(creds.Algorithm, opts.ContentType, opts.Payload); err != nil {
			return "", nil, err
		}
	}
	if art.MAC, err = CalculateMAC(creds, HeaderMAC, art); err != nil {
		return "", nil, err
	}

	h := `Hawk id="` + art.ID + `", ts="` + strconv.FormatInt(ts, 10) + `", nonce="` + nonce + `"`
	if art.Hash != "" {
		h += `, hash="` + art.Hash + `"`
	}
	if art.Ext != "" {
		h += `, ext="` + art.Ext + `"`
	}
	h += `, mac="` + art.MAC + `"`
	if art.App != "" {
		h += `, app="` + art.App + `"`
		if art.Dlg != "" {
			h += `, dlg="` + art.Dlg + `"`
		}
	}
	return h, art, nil
}

// VerifyServerAuthorization checks a response's Server-Authorization header
// value against the artifacts of the request Sign made, as @hapi/hawk's
// client.authenticate does: the response MAC (ErrBadMAC) and, when payload
// is not nil, the hash of the payload under contentType, which must then be
// present (ErrBadHash). An empty header is ErrMissing; one that does not
// parse (attributes other than mac, hash, ext; no mac) is ErrMalformed. It
// returns the response's ext.
func VerifyServerAuthorization(creds Credentials, req *Artifacts, header, contentType string, payload []byte) (ext string, err error) {
	if req == nil {
		return "", errors.New("hawk: VerifyServerAuthorization needs the request's artifacts")
	}
	attrs, err := parseHeader(header, serverAuthorizationKeys)
	if err != nil {
		return "", err
	}
	if attrs["mac"] == "" {
		return "", fmt.Errorf("%w: missing attribute mac", ErrMalformed)
	}
	art := *req
	art.Hash, art.Ext, art.MAC = attrs["hash"], attrs["ext"], ""
	mac, err := CalculateMAC(creds, ResponseMAC, &art)
	if err != nil {
		return "", err
	}
	if !macEqual(mac, attrs["mac"]) {
		return "", ErrBadMAC
	}
	if payload == nil {
		return art.Ext, nil
	}
	if art.Hash == "" {
		return "", fmt.Errorf("%w: missing response payload hash", ErrBadHash)
	}
	hash, err := PayloadHash(creds.Algorithm, contentType, payload)
	if err != nil {
		return "", err
	}
	if !macEqual(hash, art.Hash) {
		return "", ErrBadHash
	}
	return art.Ext, nil
}

// Challenge is a verified WWW-Authenticate header of a 401 answer.
type Challenge struct {
	// ServerTime is the server's clock in seconds since the Unix epoch
	// (authenticated by its tsm), or zero when the challenge carries none.
	ServerTime int64
	// Error is the server's reason, e.g. "Stale timestamp".
	Error string
}

// VerifyWWWAuthenticate parses a Hawk WWW-Authenticate header value
// (attributes ts, tsm, error) and, when it carries a server time, checks its
// tsm under creds (ErrBadMAC), as @hapi/hawk's client.authenticate does. A
// client may then retry with ts set to the returned ServerTime.
func VerifyWWWAuthenticate(creds Credentials, header string) (*Challenge, error) {
	attrs, err := parseHeader(header, wwwAuthenticateKeys)
	if err != nil {
		return nil, err
	}
	c := &Challenge{Error: attrs["error"]}
	if s, ok := attrs["ts"]; ok {
		if c.ServerTime, err = parseTimestamp(s); err != nil {
			return nil, err
		}
		tsm, err := TimestampMAC(creds, c.ServerTime)
		if err != nil {
			return nil, err
		}
		if !macEqual(tsm, attrs["tsm"]) {
			return nil, ErrBadMAC
		}
	}
	return c, nil
}
