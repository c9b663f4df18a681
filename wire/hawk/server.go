package hawk

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// DefaultSkew is the clock skew allowed either way when Options.Skew is not
// set (@hapi/hawk's timestampSkewSec default).
const DefaultSkew = 60 * time.Second

// Request is what the server knows of an incoming request.
type Request struct {
	// Method is the HTTP method.
	Method string
	// Resource is the request target as sent (origin form: path and query,
	// not decoded, not normalised).
	Resource string
	// Host is the host name the client addressed (the Host header without
	// its port, or the externally visible name behind a proxy).
	Host string
	// Port is the port the client addressed (the Host header's port, or 80
	// or 443 by scheme).
	Port int
	// Authorization is the Authorization header value.
	Authorization string
	// ContentType is the Content-Type header value.
	ContentType string
	// Payload is the request body as the client hashed it. For the
	// Bergson Authenticator this is the canonical "key=value&..." string of
	// the sorted request parameters that the REST layer builds.
	Payload []byte
}

// Options configure Authenticate.
type Options struct {
	// Lookup returns the credentials of a Hawk id. For an id it does not
	// know it returns ErrUnknownID (wrapped or not); any other error is
	// returned by Authenticate wrapped, as a server error. Required.
	Lookup func(ctx context.Context, id string) (Credentials, error)
	// CheckNonce records the nonce of a request whose MAC verified and
	// reports whether it is fresh (not seen before for this id and ts). An
	// error is returned by Authenticate wrapped, as a server error. Required:
	// without it a captured request can be replayed within the skew.
	CheckNonce func(ctx context.Context, id, nonce string, ts int64) (fresh bool, err error)
	// Now is the server clock; nil means time.Now.
	Now func() time.Time
	// Skew is the allowed difference either way between the client's ts and
	// Now; zero or negative means DefaultSkew.
	Skew time.Duration
	// RequirePayloadHash refuses (ErrBadHash) requests without a hash
	// attribute, so that the payload is always authenticated (as Mohawk does
	// by default). A hash that is sent is always checked.
	RequirePayloadHash bool
}

// Result is a successful authentication.
type Result struct {
	// Credentials are those Lookup returned for the request's id.
	Credentials Credentials
	// Artifacts are the request's: needed to sign the response.
	Artifacts Artifacts
	// PayloadVerified reports whether the request carried a payload hash
	// (which then matched the payload).
	PayloadVerified bool
}

// StaleError is the ErrStale of Authenticate: the request's timestamp is
// further than the skew from the server's clock. It carries the server time
// and its MAC for the WWW-Authenticate challenge with which a Hawk client
// corrects its clock.
type StaleError struct {
	// ServerTime is the server's clock, in seconds since the Unix epoch.
	ServerTime int64
	// TSM is TimestampMAC of ServerTime under the request's credentials.
	TSM string
}

// Error returns the error text (without the timestamps).
func (e *StaleError) Error() string { return ErrStale.Error() }

// Unwrap makes errors.Is(err, ErrStale) true.
func (e *StaleError) Unwrap() error { return ErrStale }

// WWWAuthenticate returns the WWW-Authenticate header value to send with the
// 401 answer, as @hapi/hawk words it:
//
//	Hawk ts="1353832234", tsm="...", error="Stale timestamp"
func (e *StaleError) WWWAuthenticate() string {
	return `Hawk ts="` + strconv.FormatInt(e.ServerTime, 10) + `", tsm="` + e.TSM + `", error="Stale timestamp"`
}

// Authenticate verifies a Hawk-signed request and returns its credentials
// and artifacts.
//
// The checks run in @hapi/hawk's order (lib/server.js authenticate), each
// only when the ones before passed:
//
//  1. the server time is read first, before any other processing;
//  2. the header parses and has id, ts, nonce and mac (ErrMissing,
//     ErrMalformed);
//  3. the credentials of the id are looked up (ErrUnknownID);
//  4. the request MAC, in constant time (ErrBadMAC);
//  5. the payload hash against ContentType and Payload, in constant time,
//     when the request carries one, or its absence when RequirePayloadHash
//     (ErrBadHash);
//  6. the nonce, through CheckNonce (ErrReplay);
//  7. the timestamp against the server time and Skew (ErrStale, a
//     *StaleError).
//
// So only a request with a valid MAC reaches the nonce store, and a replay
// is refused as such even when it is also stale. Two differences from
// @hapi/hawk: it checks the payload hash only when told the payload, this
// always checks a hash that is sent; and its nonce function gets the key,
// CheckNonce gets the id.
func Authenticate(ctx context.Context, req Request, opts Options) (*Result, error) {
	if opts.Lookup == nil || opts.CheckNonce == nil {
		return nil, errors.New("hawk: Options.Lookup and Options.CheckNonce are required")
	}
	now := time.Now()
	if opts.Now != nil {
		now = opts.Now()
	}
	skew := opts.Skew
	if skew <= 0 {
		skew = DefaultSkew
	}

	art, err := ParseAuthorization(req.Authorization)
	if err != nil {
		return nil, err
	}
	art.Method, art.Resource, art.Host, art.Port = req.Method, req.Resource, req.Host, req.Port

	creds, err := opts.Lookup(ctx, art.ID)
	if err != nil {
		if errors.Is(err, ErrUnknownID) {
			return nil, err
		}
		return nil, fmt.Errorf("hawk: credentials lookup: %w", err)
	}
	if creds.ID == "" {
		creds.ID = art.ID
	}

	mac, err := CalculateMAC(creds, HeaderMAC, art)
	if err != nil {
		return nil, fmt.Errorf("hawk: credentials of the request's id: %w", err)
	}
	if !macEqual(mac, art.MAC) {
		return nil, ErrBadMAC
	}

	verified := false
	switch {
	case art.Hash != "":
		hash, err := PayloadHash(creds.Algorithm, req.ContentType, req.Payload)
		if err != nil {
			return nil, err
		}
		if !macEqual(hash, art.Hash) {
			return nil, ErrBadHash
		}
		verified = true
	case opts.RequirePayloadHash:
		return nil, fmt.Errorf("%w: missing required payload hash", ErrBadHash)
	}

	fresh, err := opts.CheckNonce(ctx, art.ID, art.Nonce, art.TS)
	if err != nil {
		return nil, fmt.Errorf("hawk: nonce check: %w", err)
	}
	if !fresh {
		return nil, ErrReplay
	}

	if d := now.Sub(time.Unix(art.TS, 0)); d > skew || d < -skew {
		st := now.Unix()
		tsm, err := TimestampMAC(creds, st)
		if err != nil {
			return nil, err
		}
		return nil, &StaleError{ServerTime: st, TSM: tsm}
	}

	return &Result{Credentials: creds, Artifacts: *art, PayloadVerified: verified}, nil
}

// ServerAuthorization returns the Server-Authorization header value that
// signs a response to an authenticated request:
//
//	Hawk mac="...", hash="...", ext="..."
//
// The response MAC covers the request's artifacts with the response's hash
// and ext. The hash of the response payload (under its Content-Type) is
// included unless payload is nil; ext is left out when empty and must
// consist of characters a Hawk header can carry (no quote, no backslash).
func ServerAuthorization(result *Result, contentType string, payload []byte, ext string) (string, error) {
	if result == nil {
		return "", errors.New("hawk: ServerAuthorization needs the Result of Authenticate")
	}
	if err := checkValue("ext", ext); err != nil {
		return "", err
	}
	art := result.Artifacts
	art.MAC, art.Hash, art.Ext = "", "", ext
	if payload != nil {
		hash, err := PayloadHash(result.Credentials.Algorithm, contentType, payload)
		if err != nil {
			return "", err
		}
		art.Hash = hash
	}
	mac, err := CalculateMAC(result.Credentials, ResponseMAC, &art)
	if err != nil {
		return "", err
	}
	h := `Hawk mac="` + mac + `"`
	if art.Hash != "" {
		h += `, hash="` + art.Hash + `"`
	}
	if ext != "" {
		h += `, ext="` + ext + `"`
	}
	return h, nil
}
