package social

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Provider kinds accepted in the providers file.
const (
	KindOIDC   = "oidc"
	KindGitHub = "github"
	KindX      = "x"
)

// MaxProvidersFileSize bounds the providers file and each client secret file.
const MaxProvidersFileSize = 1 << 20

var providerName = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// allowedKey reports whether key may appear in a provider object of kind.
func allowedKey(kind, key string) bool {
	switch key {
	case "kind", "client_id", "client_secret", "client_secret_file", "redirect_url", "scopes", "display_name":
		return true
	case "issuer", "jwks_url":
		return kind == KindOIDC
	case "api_url":
		return kind == KindGitHub || kind == KindX
	case "auth_url", "token_url":
		return true
	}
	return false
}

// providerConfig is one validated provider object of the providers file.
type providerConfig struct {
	Name         string
	Kind         string
	ClientID     string
	ClientSecret string
	RedirectURL  string
	Scopes       []string
	DisplayName  string
	Issuer       string
	AuthURL      string
	TokenURL     string
	JWKSURL      string
	APIURL       string
}

// LoadFile reads a providers file (see Parse); relative client_secret_file
// paths are taken relative to the file's directory.
func LoadFile(path string, opts ...Option) (*Registry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("social: providers file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxProvidersFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("social: providers file %s: %w", path, err)
	}
	if len(data) > MaxProvidersFileSize {
		return nil, fmt.Errorf("social: providers file %s: larger than %d bytes", path, MaxProvidersFileSize)
	}
	reg, err := Parse(data, filepath.Dir(path), opts...)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return reg, nil
}

// Parse reads a providers file:
//
//	{"providers": {"NAME": {"kind": "oidc"|"github"|"x", ...}, ...}}
//
// Every provider has client_id, exactly one of client_secret and
// client_secret_file (read once here and trimmed; relative to baseDir),
// redirect_url, and optionally scopes and display_name. An "oidc" provider
// has issuer and, to skip discovery, all of auth_url, token_url and
// jwks_url. "github" and "x" providers may override auth_url, token_url and
// api_url (tests, GitHub Enterprise). Names match [a-z0-9_-]{1,32}. URLs are
// absolute https URLs (http only for loopback hosts). Unknown or duplicate
// keys are errors naming their JSON path; no error quotes a secret.
func Parse(data []byte, baseDir string, opts ...Option) (*Registry, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	cfgs, err := parseConfigs(data, baseDir)
	if err != nil {
		return nil, err
	}
	providers := make([]Provider, 0, len(cfgs))
	for _, c := range cfgs {
		switch c.Kind {
		case KindOIDC:
			providers = append(providers, newOIDC(c, o))
		case KindGitHub:
			providers = append(providers, newGitHub(c, o))
		case KindX:
			providers = append(providers, newX(c, o))
		}
	}
	return NewRegistry(providers...)
}

func configError(path, format string, args ...any) error {
	if path == "" {
		path = "$"
	}
	return fmt.Errorf("social: providers file: %s: %s", path, fmt.Sprintf(format, args...))
}

// member is one key/value pair of a JSON object, in file order.
type member struct {
	key   string
	value json.RawMessage
}

// readObject splits a JSON object into its members, rejecting duplicate
// keys and anything after the object.
func readObject(data []byte, path string) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, configError(path, "invalid JSON: %v", syntaxOnly(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, configError(path, "must be an object")
	}
	var members []member
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, configError(path, "invalid JSON: %v", syntaxOnly(err))
		}
		key, ok := tok.(string)
		if !ok {
			return nil, configError(path, "invalid JSON: object key is not a string")
		}
		if seen[key] {
			return nil, configError(joinPath(path, key), "duplicate key")
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, configError(joinPath(path, key), "invalid JSON: %v", syntaxOnly(err))
		}
		members = append(members, member{key: key, value: raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, configError(path, "invalid JSON: %v", syntaxOnly(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, configError(path, "unexpected data after the object")
	}
	return members, nil
}

// syntaxOnly keeps the offset of a JSON syntax error but not its wording,
// which may quote a character of a secret.
func syntaxOnly(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "syntax error at byte " + strconv.FormatInt(se.Offset, 10)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return "malformed"
}

// joinPath appends key to a JSON path, quoting keys that are not plain
// words.
func joinPath(path, key string) string {
	plain := key != ""
	for _, r := range key {
		if !(r == '_' || r == '-' || r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			plain = false
			break
		}
	}
	if !plain {
		key = "[" + strconv.Quote(key) + "]"
		if path == "" {
			return key
		}
		return path + key
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func parseConfigs(data []byte, baseDir string) ([]providerConfig, error) {
	top, err := readObject(data, "")
	if err != nil {
		return nil, err
	}
	var providers json.RawMessage
	for _, m := range top {
		if m.key != "providers" {
			return nil, configError(joinPath("", m.key), "unknown key")
		}
		providers = m.value
	}
	if providers == nil {
		return nil, configError("providers", "missing")
	}
	members, err := readObject(providers, "providers")
	if err != nil {
		return nil, err
	}
	cfgs := make([]providerConfig, 0, len(members))
	for _, m := range members {
		path := joinPath("providers", m.key)
		if !providerName.MatchString(m.key) {
			return nil, configError(path, "provider names must match [a-z0-9_-]{1,32}")
		}
		c, err := parseProvider(m.key, path, m.value, baseDir)
		if err != nil {
			return nil, err
		}
		cfgs = append(cfgs, c)
	}
	return cfgs, nil
}

func parseProvider(name, path string, data json.RawMessage, baseDir string) (providerConfig, error) {
	c := providerConfig{Name: name}
	members, err := readObject(data, path)
	if err != nil {
		return c, err
	}
	values := make(map[string]json.RawMessage, len(members))
	for _, m := range members {
		values[m.key] = m.value
	}
	kindRaw, ok := values["kind"]
	if !ok {
		return c, configError(joinPath(path, "kind"), "missing")
	}
	if err := decodeString(joinPath(path, "kind"), kindRaw, &c.Kind); err != nil {
		return c, err
	}
	switch c.Kind {
	case KindOIDC, KindGitHub, KindX:
	default:
		return c, configError(joinPath(path, "kind"), "unknown kind %q (want oidc, github or x)", truncate(c.Kind))
	}
	for _, m := range members {
		if !allowedKey(c.Kind, m.key) {
			return c, configError(joinPath(path, m.key), "unknown key for kind %s", c.Kind)
		}
	}

	var secretFile string
	fields := map[string]*string{
		"kind": &c.Kind, "client_id": &c.ClientID, "client_secret": &c.ClientSecret,
		"client_secret_file": &secretFile, "redirect_url": &c.RedirectURL,
		"display_name": &c.DisplayName, "issuer": &c.Issuer, "auth_url": &c.AuthURL,
		"token_url": &c.TokenURL, "jwks_url": &c.JWKSURL, "api_url": &c.APIURL,
	}
	for _, m := range members {
		if m.key == "scopes" {
			scopes, err := decodeScopes(joinPath(path, m.key), m.value)
			if err != nil {
				return c, err
			}
			c.Scopes = scopes
			continue
		}
		if err := decodeString(joinPath(path, m.key), m.value, fields[m.key]); err != nil {
			return c, err
		}
	}

	if strings.TrimSpace(c.ClientID) == "" {
		return c, configError(joinPath(path, "client_id"), "missing or empty")
	}
	if hasSpaceOrControl(c.ClientID) {
		return c, configError(joinPath(path, "client_id"), "contains white space or control characters")
	}
	_, hasSecret := values["client_secret"]
	_, hasSecretFile := values["client_secret_file"]
	switch {
	case hasSecret && hasSecretFile:
		return c, configError(path, "give client_secret or client_secret_file, not both")
	case hasSecretFile:
		secret, err := readSecretFile(joinPath(path, "client_secret_file"), secretFile, baseDir)
		if err != nil {
			return c, err
		}
		c.ClientSecret = secret
	case hasSecret:
		if strings.TrimSpace(c.ClientSecret) == "" {
			return c, configError(joinPath(path, "client_secret"), "empty")
		}
	default:
		return c, configError(path, "client_secret or client_secret_file is required")
	}

	if _, ok := values["redirect_url"]; !ok {
		return c, configError(joinPath(path, "redirect_url"), "missing")
	}
	if err := checkURL(joinPath(path, "redirect_url"), c.RedirectURL, true); err != nil {
		return c, err
	}

	if _, ok := values["display_name"]; ok && strings.TrimSpace(c.DisplayName) == "" {
		return c, configError(joinPath(path, "display_name"), "empty")
	}

	switch c.Kind {
	case KindOIDC:
		err = checkOIDC(path, &c)
	default:
		err = checkOverrides(path, &c)
	}
	if err != nil {
		return c, err
	}
	if c.DisplayName == "" {
		c.DisplayName = defaultDisplayName(c)
	}
	return c, nil
}

func checkOIDC(path string, c *providerConfig) error {
	if c.Issuer == "" {
		return configError(joinPath(path, "issuer"), "missing")
	}
	if err := checkURL(joinPath(path, "issuer"), c.Issuer, false); err != nil {
		return err
	}
	explicit := map[string]string{"auth_url": c.AuthURL, "token_url": c.TokenURL, "jwks_url": c.JWKSURL}
	given := 0
	for _, v := range explicit {
		if v != "" {
			given++
		}
	}
	if given != 0 && given != len(explicit) {
		return configError(path, "explicit endpoints need all of auth_url, token_url and jwks_url (or none, for discovery)")
	}
	for _, key := range []string{"auth_url", "token_url", "jwks_url"} {
		if v := explicit[key]; v != "" {
			if err := checkURL(joinPath(path, key), v, key == "auth_url"); err != nil {
				return err
			}
		}
	}
	if c.Scopes == nil {
		c.Scopes = []string{"openid", "email", "profile"}
	}
	if !slices.Contains(c.Scopes, "openid") {
		return configError(joinPath(path, "scopes"), "must include openid")
	}
	return nil
}

func checkOverrides(path string, c *providerConfig) error {
	for _, f := range []struct{ key, value string }{
		{"auth_url", c.AuthURL}, {"token_url", c.TokenURL}, {"api_url", c.APIURL},
	} {
		if f.value == "" {
			continue
		}
		if err := checkURL(joinPath(path, f.key), f.value, f.key == "auth_url"); err != nil {
			return err
		}
	}
	c.APIURL = strings.TrimSuffix(c.APIURL, "/")
	return nil
}

func defaultDisplayName(c providerConfig) string {
	switch c.Kind {
	case KindGitHub:
		return "GitHub"
	case KindX:
		return "X"
	}
	return c.Name
}

func decodeString(path string, raw json.RawMessage, dst *string) error {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return configError(path, "must be a string, not null")
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return configError(path, "must be a string")
	}
	return nil
}

func decodeScopes(path string, raw json.RawMessage) ([]string, error) {
	var scopes []string
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) || json.Unmarshal(raw, &scopes) != nil {
		return nil, configError(path, "must be an array of strings")
	}
	if len(scopes) == 0 {
		return nil, configError(path, "must not be empty")
	}
	for i, s := range scopes {
		p := path + "[" + strconv.Itoa(i) + "]"
		if s == "" || hasSpaceOrControl(s) {
			return nil, configError(p, "scopes are non-empty and have no white space")
		}
		if slices.Contains(scopes[:i], s) {
			return nil, configError(p, "duplicate scope %q", truncate(s))
		}
	}
	return scopes, nil
}

func readSecretFile(path, file, baseDir string) (string, error) {
	if strings.TrimSpace(file) == "" {
		return "", configError(path, "empty")
	}
	if !filepath.IsAbs(file) {
		file = filepath.Join(baseDir, file)
	}
	// Stat first: opening a FIFO would block, and a device never ends.
	info, err := os.Stat(file)
	if err != nil {
		return "", configError(path, "cannot read the secret file: %v", err)
	}
	if !info.Mode().IsRegular() {
		return "", configError(path, "secret file %s is not a regular file", file)
	}
	f, err := os.Open(file)
	if err != nil {
		return "", configError(path, "cannot read the secret file: %v", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxProvidersFileSize+1))
	if err != nil {
		return "", configError(path, "cannot read the secret file %s: %v", file, err)
	}
	if len(data) > MaxProvidersFileSize {
		return "", configError(path, "secret file %s is larger than %d bytes", file, MaxProvidersFileSize)
	}
	secret := strings.TrimSpace(string(data))
	if secret == "" {
		return "", configError(path, "secret file %s is empty", file)
	}
	return secret, nil
}

// checkURL accepts absolute https URLs (http only for loopback hosts)
// without user info or fragment, and with a query only when allowQuery.
// Error messages do not quote the URL.
func checkURL(path, raw string, allowQuery bool) error {
	if raw == "" {
		return configError(path, "empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return configError(path, "not a valid URL")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return configError(path, "must be an https URL (http only for loopback hosts)")
	}
	if u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
		return configError(path, "must be an absolute URL with a host")
	}
	if u.User != nil {
		return configError(path, "must not contain user info")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return configError(path, "must not contain a fragment")
	}
	if !allowQuery && (u.RawQuery != "" || u.ForceQuery) {
		return configError(path, "must not contain a query")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func hasSpaceOrControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
}

// truncate shortens a value quoted in an error message.
func truncate(s string) string {
	const limit = 40
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}
