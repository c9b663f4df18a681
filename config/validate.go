package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// DBURL is a parsed database URL.
type DBURL struct {
	// Driver is "sqlite", "postgres" or "mysql" (the names identity.Open
	// takes).
	Driver string
	// DSN is what the driver opens: the file path for SQLite, a postgres://
	// URL for PostgreSQL, a go-sql-driver/mysql DSN
	// (user:pass@tcp(host:port)/db?charset=utf8mb4&parseTime=true) for
	// MySQL and MariaDB. It may hold a password: never log it.
	DSN string
	// Path is the SQLite file path ("" for the other databases).
	Path string
}

// ParseDBURL accepts SQLAlchemy-style URLs: sqlite:///relative/path,
// sqlite:////absolute/path, sqlite:///:memory:, postgresql://…,
// postgresql+driver://… and postgres://…, and for MySQL or MariaDB
// mysql://user:pass@host:port/db, mysql+driver://… (mysql+pymysql,
// mysql+mysqldb), mariadb://… and mariadb+driver://…, with the optional
// query parameters unix_socket=/path and charset=name. Errors are one line,
// start with "authdb: " and never include the URL (it may hold a password).
func ParseDBURL(s string) (DBURL, error) {
	u, err := parseDBURL(s)
	if err != nil {
		return DBURL{}, fmt.Errorf("authdb: %w", err)
	}
	return u, nil
}

func parseDBURL(s string) (DBURL, error) {
	s = strings.TrimSpace(s)
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return DBURL{}, fmt.Errorf("not a database URL (want sqlite:///path, postgresql://user@host:port/db or mysql://user@host:port/db)")
	}
	base, _, _ := strings.Cut(strings.ToLower(scheme), "+")
	switch base {
	case "sqlite":
		if !strings.HasPrefix(rest, "/") || len(rest) < 2 {
			return DBURL{}, fmt.Errorf("SQLite URLs are sqlite:///relative/path or sqlite:////absolute/path")
		}
		p := rest[1:] // "/abs" or "rel"
		if p == ":memory:" {
			return DBURL{Driver: "sqlite", DSN: p, Path: p}, nil
		}
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		p = filepath.Clean(p)
		return DBURL{Driver: "sqlite", DSN: p, Path: p}, nil
	case "postgresql", "postgres":
		u, err := url.Parse("postgres://" + rest)
		if err != nil {
			return DBURL{}, fmt.Errorf("malformed PostgreSQL URL")
		}
		if u.Host == "" && u.Query().Get("host") == "" {
			return DBURL{}, fmt.Errorf("PostgreSQL URL has no host")
		}
		if strings.Trim(u.Path, "/") == "" {
			return DBURL{}, fmt.Errorf("PostgreSQL URL has no database name")
		}
		return DBURL{Driver: "postgres", DSN: u.String()}, nil
	case "mysql", "mariadb":
		dsn, err := mysqlDSN(rest)
		if err != nil {
			return DBURL{}, err
		}
		return DBURL{Driver: "mysql", DSN: dsn}, nil
	default:
		return DBURL{}, fmt.Errorf("unsupported database %q (want sqlite, postgresql, mysql or mariadb)", base)
	}
}

// charsetName is what a MySQL character set name may look like.
var charsetName = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

// mysqlDSN turns the part of a MySQL URL after "scheme://" into a
// go-sql-driver/mysql DSN. Without charset, the connection uses utf8mb4.
func mysqlDSN(rest string) (string, error) {
	u, err := url.Parse("mysql://" + rest)
	if err != nil || u.Opaque != "" {
		return "", fmt.Errorf("malformed MySQL URL")
	}
	cfg := mysql.NewConfig()
	cfg.ParseTime = true
	charset := "utf8mb4"
	socket := ""
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "", fmt.Errorf("malformed MySQL URL query")
	}
	for k, vs := range query {
		v := ""
		if len(vs) > 0 {
			v = vs[len(vs)-1]
		}
		switch k {
		case "unix_socket":
			if !strings.HasPrefix(v, "/") {
				return "", fmt.Errorf("MySQL unix_socket must be an absolute path")
			}
			socket = v
		case "charset":
			if !charsetName.MatchString(v) {
				return "", fmt.Errorf("MySQL charset is not a character set name")
			}
			charset = v
		default:
			return "", fmt.Errorf("unsupported MySQL URL parameter %q (want unix_socket or charset)", k)
		}
	}
	if err := cfg.Apply(mysql.Charset(charset, "")); err != nil {
		return "", fmt.Errorf("MySQL charset: %w", err)
	}
	switch {
	case socket != "":
		cfg.Net, cfg.Addr = "unix", socket
	case u.Hostname() != "":
		port := u.Port()
		if port == "" {
			port = "3306"
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("MySQL URL port is not a TCP port")
		}
		cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(u.Hostname(), port)
	default:
		return "", fmt.Errorf("MySQL URL has no host (give host[:port] or ?unix_socket=/path)")
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	if cfg.DBName == "" {
		return "", fmt.Errorf("MySQL URL has no database name")
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	if cfg.Passwd != "" && cfg.User == "" {
		return "", fmt.Errorf("MySQL URL has a password but no user name")
	}
	dsn := cfg.FormatDSN()
	// The DSN format has no escapes for the user name and address: check
	// that the driver reads back what the URL said.
	back, err := mysql.ParseDSN(dsn)
	if err != nil || back.User != cfg.User || back.Passwd != cfg.Passwd || back.Net != cfg.Net ||
		back.Addr != cfg.Addr || back.DBName != cfg.DBName {
		return "", fmt.Errorf("MySQL URL has characters the driver cannot take in the user name, host, socket or database name")
	}
	return dsn, nil
}

// ValidFernetKey reports whether k is a Fernet key: URL-safe base64 of 32
// bytes.
func ValidFernetKey(k string) bool {
	b, err := base64.URLEncoding.DecodeString(k)
	return err == nil && len(b) == 32
}

// Validate checks every item against its kind (ranges, choices, URLs, files
// that must exist) and the rules between items, which the reference only
// finds wrong per request (quirks #1, #38). Errors are one line, name the
// item and, on a loaded Config, its source; they never include a secret's
// value.
func (c *Config) Validate() error {
	fields := c.fields()
	for _, it := range resolvable() {
		if err := checkItem(it, fields[it.Name]); err != nil {
			return c.fail(it.Name, err)
		}
	}
	if !ValidFernetKey(c.Secret) {
		return c.fail("secret", fmt.Errorf("not a Fernet key (want 44 characters of URL-safe base64 encoding 32 bytes, or the path of a file holding one; 'authnzrv keygen' makes one)"))
	}
	if strings.TrimSpace(c.PIISalt) == "" {
		return c.fail("piisalt", fmt.Errorf("empty"))
	}
	if (c.TLSCertFile == "") != (c.TLSCertKey == "") {
		return fmt.Errorf("tls_cert_file/tls_cert_key: give both or neither")
	}
	if _, err := parseRateLimits(c.RateLimits); err != nil {
		return c.fail("ratelimits", err)
	}
	if strings.TrimSpace(c.TOTPIssuer) == "" || strings.Contains(c.TOTPIssuer, ":") {
		return c.fail("totpissuer", fmt.Errorf("%q: want a non-empty name without ':' (authenticator apps split labels on it)", c.TOTPIssuer))
	}
	return nil
}

// fail prefixes err with the item's name and, when known, its source.
func (c *Config) fail(name string, err error) error {
	if v, ok := c.Provenance.Lookup(name); ok && (v.Source.Kind != FromDefault || v.File != "") {
		return fmt.Errorf("%s: %s: %w", name, v.Origin(), err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// checkItem checks one field's value against its item's kind. Messages
// never include a secret item's value and mask URL passwords.
func checkItem(it Item, field any) error {
	switch v := field.(type) {
	case *int:
		if *v < it.Min {
			return fmt.Errorf("%d is below the minimum %d", *v, it.Min)
		}
		if it.Max != 0 && *v > it.Max {
			return fmt.Errorf("%d is above the maximum %d", *v, it.Max)
		}
	case *string:
		return checkString(it, *v)
	}
	return nil
}

func checkString(it Item, s string) error {
	switch it.Kind {
	case Enum:
		for _, c := range it.Choices {
			if s == c {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", s, strings.Join(it.Choices, ", "))
	case URL:
		if s == "" {
			return nil
		}
		u, err := url.Parse(s)
		ok := err == nil && u.Host != ""
		if ok {
			ok = false
			for _, sc := range it.Schemes {
				ok = ok || strings.EqualFold(u.Scheme, sc)
			}
		}
		if !ok {
			return fmt.Errorf("%q is not a %s:// URL with a host", RedactURL(s), strings.Join(it.Schemes, ":// or "))
		}
	case Database:
		_, err := parseDBURL(s)
		return err
	case File:
		if s == "" {
			return nil
		}
		st, err := os.Stat(s)
		if err != nil || !st.Mode().IsRegular() {
			return fmt.Errorf("%s is not a readable file", s)
		}
		f, err := os.Open(s)
		if err != nil {
			return fmt.Errorf("%s is not a readable file", s)
		}
		return f.Close()
	case Dir:
		if s == "" {
			return nil
		}
		if st, err := os.Stat(s); err != nil || !st.IsDir() {
			return fmt.Errorf("%s is not a directory", s)
		}
	case Output:
		if s == "" || s == "stderr" {
			return nil
		}
		if st, err := os.Stat(s); err == nil && !st.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file", s)
		}
		if st, err := os.Stat(filepath.Dir(s)); err != nil || !st.IsDir() {
			return fmt.Errorf("%s: directory %s does not exist", s, filepath.Dir(s))
		}
	}
	return nil
}

// ParseRateLimits reads the ratelimits item: "none" (nil map, no limits) or
// "name:perMinute; …" pairs, e.g. "ipaddr:720; user:480; burst:150".
func ParseRateLimits(s string) (map[string]int, error) {
	m, err := parseRateLimits(s)
	if err != nil {
		return nil, fmt.Errorf("ratelimits: %w", err)
	}
	return m, nil
}

func parseRateLimits(s string) (map[string]int, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "none") {
		return nil, nil
	}
	out := map[string]int{}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not name:number", part)
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s: %q is not a non-negative integer", k, strings.TrimSpace(v))
		}
		out[k] = n
	}
	return out, nil
}
