package frontend

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// maxBearer is the longest bearer value read: a key's claims are about
// 400 bytes of JSON.
const maxBearer = 4096

// errNoBearer means the request has no bearer credentials.
var errNoBearer = errors.New("frontend: no bearer credentials")

// bearerValue returns the credentials of an "Authorization: Bearer ..."
// header; errNoBearer when the request has no such header (other schemes
// are left to the application).
func bearerValue(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	scheme, value, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", errNoBearer
	}
	return strings.TrimSpace(value), nil
}

// ParseBearer decodes the credentials of a bearer request: the API key's
// claims as issued by apikey-new or apikey-new-nosession (the JSON string
// of their "apikey" key). Two encodings are accepted:
//
//   - the JSON itself, as the server returned it (the value starts with
//     "{");
//   - the JSON encoded with URL-safe base64 (RFC 4648 §5), with or without
//     '=' padding. This is the recommended form: it is plain ASCII without
//     spaces or quotes.
//
// The claims must be one JSON object with an integer "uid", and non-empty
// string "rol" and "tkn"; the value may be at most 4096 bytes. ParseBearer
// checks the form only: the key is valid when authnzrv verifies it.
func ParseBearer(value string) (APIKey, error) {
	if len(value) > maxBearer {
		return APIKey{}, errors.New("frontend: bearer value too long")
	}
	raw := []byte(value)
	if !strings.HasPrefix(value, "{") {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(value, "="))
		if err != nil {
			return APIKey{}, fmt.Errorf("frontend: bearer value is neither JSON nor base64url: %w", err)
		}
		raw = b
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil {
		return APIKey{}, fmt.Errorf("frontend: bearer claims: %w", err)
	}
	if claims == nil {
		return APIKey{}, errors.New("frontend: bearer claims are not an object")
	}
	if len(bytes.TrimSpace(raw[dec.InputOffset():])) > 0 {
		return APIKey{}, errors.New("frontend: bearer claims followed by more data")
	}
	n, ok := claims["uid"].(json.Number)
	if !ok {
		return APIKey{}, errors.New("frontend: bearer claims have no integer uid")
	}
	uid, err := n.Int64()
	if err != nil {
		return APIKey{}, fmt.Errorf("frontend: bearer claims' uid: %w", err)
	}
	rol, _ := claims["rol"].(string)
	tkn, _ := claims["tkn"].(string)
	if rol == "" || tkn == "" {
		return APIKey{}, errors.New("frontend: bearer claims need rol and tkn")
	}
	return APIKey{UserID: uid, Role: rol, Claims: claims}, nil
}

// serveBearer authenticates a bearer request with authnzrv and passes it
// on with its APIKey principal, or refuses it with 401.
func (m *Middleware) serveBearer(w http.ResponseWriter, r *http.Request, value string, next http.Handler) {
	ctx := r.Context()
	key, err := ParseBearer(value)
	if err != nil {
		m.log.Info("bearer credentials refused", "reason", "malformed")
		m.challenge(w)
		return
	}
	request := "apikey-verify-nosession"
	if m.opts.SessionBoundKeys {
		request = "apikey-verify"
	}
	reply, err := m.call(ctx, clientIPFrom(ctx), request, map[string]any{
		"apikey_dict": key.Claims, "user_id": key.UserID, "user_role": key.Role,
	})
	if err != nil {
		m.unavailable(w, err)
		return
	}
	if !reply.Success {
		m.log.Info("bearer credentials refused", "reason", reply.Reason(), "key", key)
		m.challenge(w)
		return
	}
	next.ServeHTTP(w, r.WithContext(withAPIKey(ctx, key)))
}

// challenge refuses a bearer request (RFC 6750 §3).
func (m *Middleware) challenge(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer realm=%q, error=\"invalid_token\"", m.opts.Realm))
	http.Error(w, "invalid API key", http.StatusUnauthorized)
}
