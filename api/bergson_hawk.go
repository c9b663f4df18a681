package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/engine/limiter"
	"github.com/authnzrv/authnzrv/wire/hawk"
)

// HawkSender is one entry of the --hawksenders file: a Hawk id's shared
// key, its HMAC algorithm and the endpoints it may call ("::0" in an
// endpoint: that prefix and everything below it, as the source's
// BA_MOHAWK_PEER_PERMISSIONS).
type HawkSender struct {
	Key       string   `json:"key"`
	Algorithm string   `json:"algorithm"`
	Endpoints []string `json:"endpoints"`
	// ID may repeat the entry's name (the source's config has it); it is
	// checked and otherwise unused.
	ID string `json:"id,omitempty"`
}

// HawkSenders are the senders by Hawk id.
type HawkSenders map[string]HawkSender

// maxSenderName bounds a sender's name (it is stored with its nonces).
const maxSenderName = 128

// ParseHawkSenders reads a senders file's JSON:
//
//	{"someone": {"key": "...", "algorithm": "sha256",
//	             "endpoints": ["/v1/account/authenticate", "/v1/account/::0"]}}
//
// Every sender needs a key; the algorithm is sha256 (the default) or sha1.
// Errors never include a key.
func ParseHawkSenders(b []byte) (HawkSenders, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s HawkSenders
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("hawk senders: not a JSON object of senders: %w", err)
	}
	if s == nil {
		return nil, fmt.Errorf("hawk senders: not a JSON object of senders")
	}
	for name, snd := range s {
		switch {
		case name == "" || len(name) > maxSenderName || strings.ContainsAny(name, "\"\\"):
			return nil, fmt.Errorf("hawk senders: sender name %.40q: want 1 to %d characters, no quote or backslash", name, maxSenderName)
		case snd.Key == "":
			return nil, fmt.Errorf("hawk senders: sender %q has no key", name)
		case snd.ID != "" && snd.ID != name:
			return nil, fmt.Errorf("hawk senders: sender %q has a different id %q", name, snd.ID)
		}
		switch strings.ToLower(snd.Algorithm) {
		case "", "sha256":
			snd.Algorithm = string(hawk.SHA256)
		case "sha1":
			snd.Algorithm = string(hawk.SHA1)
		default:
			return nil, fmt.Errorf("hawk senders: sender %q: algorithm %q (want sha256 or sha1)", name, snd.Algorithm)
		}
		if snd.Endpoints == nil {
			snd.Endpoints = []string{}
		}
		s[name] = snd
	}
	return s, nil
}

// LoadHawkSenders reads the --hawksenders file.
func LoadHawkSenders(path string) (HawkSenders, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("hawksenders: %w", err)
	}
	s, err := ParseHawkSenders(b)
	if err != nil {
		return nil, fmt.Errorf("hawksenders %s: %w", path, err)
	}
	return s, nil
}

// Endpoints are the senders' endpoint lists: the Hawk policy's data
// (engine.Options.HawkSenders); keys stay out of it.
func (s HawkSenders) Endpoints() map[string][]string {
	out := make(map[string][]string, len(s))
	for name, snd := range s {
		out[name] = append([]string(nil), snd.Endpoints...)
	}
	return out
}

// Names are the senders' names, sorted.
func (s HawkSenders) Names() []string {
	out := make([]string, 0, len(s))
	for name := range s {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// HawkNonces remembers the nonces of Hawk requests: Fresh records one and
// reports whether it was new. identity.Store (the hawk_nonces table) and
// ReplayNonces (Redis, shared by every instance) implement it.
type HawkNonces interface {
	HawkNonceFresh(ctx context.Context, sender, nonce string, ts int64) (bool, error)
}

// ReplayNonces keeps Hawk nonces in a replay guard (limiter.RedisReplay
// with --redis: SET NX with an expiry of twice the allowed skew, which
// outlives every request whose timestamp can still be accepted).
type ReplayNonces struct {
	Guard limiter.ReplayGuard
}

// HawkNonceFresh implements HawkNonces. With the guard's store unavailable
// it returns the guard's failure policy (fresh when open) with the error.
func (r ReplayNonces) HawkNonceFresh(ctx context.Context, sender, nonce string, _ int64) (bool, error) {
	sum := sha256.Sum256([]byte("hawk-nonce\x00" + sender + "\x00" + nonce))
	return r.Guard.First(ctx, hex.EncodeToString(sum[:]))
}

// HawkDecider is the Hawk sender access policy (engine.Engine.Hawk).
type HawkDecider interface {
	Hawk(ctx context.Context, in engine.HawkInput) (engine.Decision, error)
}

// noncePurger is a nonce store whose old nonces must be deleted.
type noncePurger interface {
	PurgeHawkNonces(ctx context.Context, cutoff time.Time, batch int) (int64, error)
}

// PurgeHawkNonces deletes the remembered Hawk nonces whose requests are
// older than the allowed skew (their replays are refused as stale) and
// returns how many went; a nonce store that forgets by itself (Redis) has
// nothing to purge. The server also calls it now and then while it
// checks nonces (at most once per skew interval); servers with a periodic
// purge may call it there too.
func (s *Server) PurgeHawkNonces(ctx context.Context) (int64, error) {
	b := s.bergson
	if b == nil {
		return 0, nil
	}
	p, ok := b.opts.Nonces.(noncePurger)
	if !ok {
		return 0, nil
	}
	b.lastPurge.Store(b.now().Unix())
	return p.PurgeHawkNonces(ctx, b.now().Add(-b.opts.Skew), 1000)
}

// maybePurgeNonces runs the purge when the last one is more than a skew
// interval ago.
func (s *Server) maybePurgeNonces(ctx context.Context, log interface{ Warn(string, ...any) }) {
	b := s.bergson
	last, now := b.lastPurge.Load(), b.now().Unix()
	if now-last < int64(b.opts.Skew/time.Second) || !b.lastPurge.CompareAndSwap(last, now) {
		return
	}
	if _, err := s.PurgeHawkNonces(ctx); err != nil {
		log.Warn("Hawk nonce purge failed", "error", err)
	}
}

// hawkTarget is the host and port a request was addressed to, as the
// source hands them to Mohawk ("http://" + Host header + path: port 80
// when the Host header has none; 443 behind TLS).
func hawkTarget(r *http.Request) (string, int) {
	host := r.Host
	port := 80
	if r.TLS != nil {
		port = 443
	}
	if h, p, err := net.SplitHostPort(host); err == nil {
		if n, err := strconv.Atoi(p); err == nil {
			host, port = h, n
		}
	}
	return host, port
}

// hawkAuthenticate verifies a request's Hawk signature over the canonical
// parameter string. The source's Mohawk receiver signs the path without
// the query (it is given "http://" + Host + PATH_INFO); a client such as
// @hapi/hawk signs the path with the query, which is accepted too.
func (s *Server) hawkAuthenticate(ctx context.Context, r *http.Request, contentType string, payload []byte) (*hawk.Result, error) {
	b := s.bergson
	host, port := hawkTarget(r)
	opts := hawk.Options{
		Lookup: func(_ context.Context, id string) (hawk.Credentials, error) {
			snd, ok := b.opts.Senders[id]
			if !ok {
				return hawk.Credentials{}, hawk.ErrUnknownID
			}
			return hawk.Credentials{ID: id, Key: []byte(snd.Key), Algorithm: hawk.Algorithm(snd.Algorithm)}, nil
		},
		CheckNonce: func(ctx context.Context, id, nonce string, ts int64) (bool, error) {
			fresh, err := b.opts.Nonces.HawkNonceFresh(ctx, id, nonce, ts)
			if err != nil && fresh {
				s.log.Warn("Hawk nonce store unavailable; request admitted (failure policy open)", "error", err)
				return true, nil
			}
			if err == nil {
				s.maybePurgeNonces(ctx, s.log)
			}
			return fresh, err
		},
		Now:                b.now,
		Skew:               b.opts.Skew,
		RequirePayloadHash: true,
	}
	req := hawk.Request{
		Method: r.Method, Resource: r.URL.Path, Host: host, Port: port,
		Authorization: r.Header.Get("Authorization"), ContentType: contentType, Payload: payload,
	}
	res, err := hawk.Authenticate(ctx, req, opts)
	if errors.Is(err, hawk.ErrBadMAC) && r.URL.RawQuery != "" {
		req.Resource = r.URL.RequestURI()
		res, err = hawk.Authenticate(ctx, req, opts)
	}
	return res, err
}
