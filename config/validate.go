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
// name authdb and never contain the password.
func ParseDBURL(s string) (DBURL, error) {
	s = strings.TrimSpace(s)
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return DBURL{}, fmt.Errorf("authdb: not a database URL (want sqlite:///path, postgresql://user@host:port/db or mysql://user@host:port/db)")
	}
	base, _, _ := strings.Cut(strings.ToLower(scheme), "+")
	switch base {
	case "sqlite":
		if !strings.HasPrefix(rest, "/") || len(rest) < 2 {
			return DBURL{}, fmt.Errorf("authdb: SQLite URLs are sqlite:///relative/path or sqlite:////absolute/path")
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
			return DBURL{}, fmt.Errorf("authdb: malformed PostgreSQL URL")
		}
		if u.Host == "" && u.Query().Get("host") == "" {
			return DBURL{}, fmt.Errorf("authdb: PostgreSQL URL has no host")
		}
		if strings.Trim(u.Path, "/") == "" {
			return DBURL{}, fmt.Errorf("authdb: PostgreSQL URL has no database name")
		}
		return DBURL{Driver: "postgres", DSN: u.String()}, nil
	case "mysql", "mariadb":
		dsn, err := mysqlDSN(rest)
		if err != nil {
			return DBURL{}, err
		}
		return DBURL{Driver: "mysql", DSN: dsn}, nil
	default:
		return DBURL{}, fmt.Errorf("authdb: unsupported database %q (want sqlite, postgresql, mysql or mariadb)", base)
	}
}

// charsetName is what a MySQL character set name may look like.
var charsetName = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

// mysqlDSN turns the part of a MySQL URL after "scheme://" into a
// go-sql-driver/mysql DSN. Without charset, the connection uses utf8mb4.
func mysqlDSN(rest string) (string, error) {
	u, err := url.Parse("mysql://" + rest)
	if err != nil || u.Opaque != "" {
		return "", fmt.Errorf("authdb: malformed MySQL URL")
	}
	cfg := mysql.NewConfig()
	cfg.ParseTime = true
	charset := "utf8mb4"
	socket := ""
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "", fmt.Errorf("authdb: malformed MySQL URL query")
	}
	for k, vs := range query {
		v := ""
		if len(vs) > 0 {
			v = vs[len(vs)-1]
		}
		switch k {
		case "unix_socket":
			if !strings.HasPrefix(v, "/") {
				return "", fmt.Errorf("authdb: MySQL unix_socket must be an absolute path")
			}
			socket = v
		case "charset":
			if !charsetName.MatchString(v) {
				return "", fmt.Errorf("authdb: MySQL charset is not a character set name")
			}
			charset = v
		default:
			return "", fmt.Errorf("authdb: unsupported MySQL URL parameter %q (want unix_socket or charset)", k)
		}
	}
	if err := cfg.Apply(mysql.Charset(charset, "")); err != nil {
		return "", fmt.Errorf("authdb: MySQL charset: %w", err)
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
			return "", fmt.Errorf("authdb: MySQL URL port is not a TCP port")
		}
		cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(u.Hostname(), port)
	default:
		return "", fmt.Errorf("authdb: MySQL URL has no host (give host[:port] or ?unix_socket=/path)")
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	if cfg.DBName == "" {
		return "", fmt.Errorf("authdb: MySQL URL has no database name")
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	if cfg.Passwd != "" && cfg.User == "" {
		return "", fmt.Errorf("authdb: MySQL URL has a password but no user name")
	}
	dsn := cfg.FormatDSN()
	// The DSN format has no escapes for the user name and address: check
	// that the driver reads back what the URL said.
	back, err := mysql.ParseDSN(dsn)
	if err != nil || back.User != cfg.User || back.Passwd != cfg.Passwd || back.Net != cfg.Net ||
		back.Addr != cfg.Addr || back.DBName != cfg.DBName {
		return "", fmt.Errorf("authdb: MySQL URL has characters the driver cannot take in the user name, host, socket or database name")
	}
	return dsn, nil
}

// ValidFernetKey reports whether k is a Fernet key: URL-safe base64 of 32
// bytes.
func ValidFernetKey(k string) bool {
	b, err := base64.URLEncoding.DecodeString(k)
	return err == nil && len(b) == 32
}

// Validate checks the values that the reference only finds wrong per
// request (quirks #1, #38). Errors are one line and name the item; they never
// include the secret's value.
func (c *Config) Validate() error {
	if !ValidFernetKey(c.Secret) {
		return fmt.Errorf("secret: not a Fernet key (want 44 characters of URL-safe base64 encoding 32 bytes, or the path of a file holding one; 'authnzrv keygen' makes one)")
	}
	if strings.TrimSpace(c.PIISalt) == "" {
		return fmt.Errorf("piisalt: empty")
	}
	if _, err := ParseDBURL(c.AuthDB); err != nil {
		return err
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("port: %d is not a TCP port", c.Port)
	}
	if c.EmailPort < 1 || c.EmailPort > 65535 {
		return fmt.Errorf("emailport: %d is not a TCP port", c.EmailPort)
	}
	positive := []struct {
		name string
		v    int
		min  int
	}{
		{"sessionexpiry", c.SessionExpiry, 0}, {"userlocktries", c.UserLockTries, 1}, {"userlocktime", c.UserLockTime, 1},
		{"workers", c.Workers, 1}, {"maxbodysize", c.MaxBodySize, 1024}, {"requestttl", c.RequestTTL, 0}, {"hashbudget", c.HashBudget, 1},
	}
	for _, p := range positive {
		if p.v < p.min {
			return fmt.Errorf("%s: %d is below the minimum %d", p.name, p.v, p.min)
		}
	}
	if (c.TLSCertFile == "") != (c.TLSCertKey == "") {
		return fmt.Errorf("tls_cert_file/tls_cert_key: give both or neither")
	}
	for name, p := range map[string]string{"tls_cert_file": c.TLSCertFile, "tls_cert_key": c.TLSCertKey, "permissions": c.Permissions} {
		if p == "" {
			continue
		}
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			return fmt.Errorf("%s: %s is not a readable file", name, p)
		}
	}
	if c.Policies != "" {
		if st, err := os.Stat(c.Policies); err != nil || !st.IsDir() {
			return fmt.Errorf("policies: %s is not a directory", c.Policies)
		}
	}
	switch c.EmailSecurity {
	case "starttls", "tls", "none":
	default:
		return fmt.Errorf("emailsecurity: %q is not one of starttls, tls, none", c.EmailSecurity)
	}
	if _, err := ParseRateLimits(c.RateLimits); err != nil {
		return err
	}
	if c.RedisFailure != "open" && c.RedisFailure != "closed" {
		return fmt.Errorf("redisfailure: %q is not open or closed", c.RedisFailure)
	}
	if c.Redis != "" {
		if u, err := url.Parse(c.Redis); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			return fmt.Errorf("redis: not a redis:// or rediss:// URL")
		}
	}
	return nil
}

// ParseRateLimits reads the ratelimits item: "none" (nil map, no limits) or
// "name:perMinute; …" pairs, e.g. "ipaddr:720; user:480; burst:150".
func ParseRateLimits(s string) (map[string]int, error) {
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
			return nil, fmt.Errorf("ratelimits: %q is not name:number", part)
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("ratelimits: %s: %q is not a non-negative integer", k, strings.TrimSpace(v))
		}
		out[k] = n
	}
	return out, nil
}
