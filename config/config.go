// Package config resolves authnzrv's configuration the way authnzerver does:
// every item is a command-line flag and an AUTHNZERVER_* environment
// variable, the environment (or an --envfile) wins over the command line,
// blank values fall back to defaults, and the secret and PII salt may be
// given either as the value or as the path of a file holding it.
package config

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// Kind is the type an item's value converts to.
type Kind int

// Item kinds.
const (
	String Kind = iota
	Int
	Bool // "1" is true, any other value false (the reference's debugmode rule)
)

// Item is one configuration item: a flag and one or more environment
// variables.
type Item struct {
	// Name is the item's name in the reference (e.g. "tls_cert_file").
	Name string
	// Env lists the environment variables in order of precedence.
	Env []string
	// Flag is the command-line option without dashes.
	Flag string
	// Default is used when the resolved value is blank.
	Default string
	// Kind is the value's type.
	Kind Kind
	// Help describes the item.
	Help string
	// Required items have no default; start-up fails without them.
	Required bool
	// Extra marks items authnzrv adds to the reference's set.
	Extra bool
}

// Items returns every configuration item, in the order of the reference's
// table (config.md §2) followed by authnzrv's additions.
func Items() []Item {
	osUser := "authnzerver"
	if u, err := user.Current(); err == nil && u.Username != "" {
		osUser = u.Username
	}
	cwd, err := os.Getwd()
	if err != nil {
		cwd = "."
	}
	env := func(n string) []string { return []string{"AUTHNZERVER_" + strings.ToUpper(n)} }
	return []Item{
		{Name: "allowedhosts", Env: env("allowedhosts"), Flag: "allowedhosts", Default: "localhost;127.0.0.1", Help: "';'-separated Host header names accepted"},
		{Name: "authdb", Env: env("authdb"), Flag: "authdb", Required: true, Help: "database URL: sqlite:///path.sqlite or postgresql://user@host:port/db"},
		{Name: "basedir", Env: env("basedir"), Flag: "basedir", Default: cwd, Help: "directory for credentials files; [[basedir]] in other values"},
		{Name: "debugmode", Env: env("debugmode"), Flag: "debugmode", Default: "0", Kind: Bool, Help: "1 enables POST /echo and debug logging"},
		{Name: "listen", Env: env("listen"), Flag: "listen", Default: "127.0.0.1", Help: "bind address"},
		{Name: "permissions", Env: env("permissions"), Flag: "permissions", Help: "JSON permissions model (default: the bundled default model)"},
		{Name: "port", Env: []string{"PORT", "AUTHNZERVER_PORT"}, Flag: "port", Default: "13431", Kind: Int, Help: "TCP port"},
		{Name: "secret", Env: env("secret"), Flag: "secret", Required: true, Help: "Fernet key shared with the frontends, or the path of a file holding it"},
		{Name: "piisalt", Env: env("piisalt"), Flag: "piisalt", Required: true, Help: "salt for hashing PII in logs, or the path of a file holding it; 'none' logs PII"},
		{Name: "sessionexpiry", Env: env("sessionexpiry"), Flag: "sessionexpiry", Default: "30", Kind: Int, Help: "days after expiry before a session row is purged"},
		{Name: "userlocktries", Env: env("userlocktries"), Flag: "userlocktries", Default: "10", Kind: Int, Help: "failed password checks before a temporary lock"},
		{Name: "userlocktime", Env: env("userlocktime"), Flag: "userlocktime", Default: "3600", Kind: Int, Help: "seconds until the automatic unlock"},
		{Name: "passpolicy", Env: env("passpolicy"), Flag: "passpolicy", Default: "min_pass_length:12; max_unsafe_similarity:50; max_char_frequency:0.3; min_pwned_matches:25", Help: "password policy"},
		{Name: "ratelimits", Env: env("ratelimits"), Flag: "ratelimits", Default: "ipaddr:720; user:480; session:600; apikey:720; burst:150", Help: "request rate limits per minute, or 'none'"},
		{Name: "workers", Env: env("workers"), Flag: "workers", Default: "4", Kind: Int, Help: "worker count reported by /health"},
		{Name: "emailserver", Env: env("emailserver"), Flag: "emailserver", Default: "localhost", Help: "SMTP host"},
		{Name: "emailport", Env: env("emailport"), Flag: "emailport", Default: "25", Kind: Int, Help: "SMTP port"},
		{Name: "emailuser", Env: env("emailuser"), Flag: "emailuser", Default: osUser, Help: "SMTP login"},
		{Name: "emailpass", Env: env("emailpass"), Flag: "emailpass", Default: "", Help: "SMTP password"},
		{Name: "emailsender", Env: env("emailsender"), Flag: "emailsender", Default: "Authnzerver <authnzerver@localhost>", Help: "From address of the server's mails"},
		{Name: "tls_cert_file", Env: env("tlscertfile"), Flag: "tlscertfile", Default: "", Help: "TLS certificate (PEM); TLS is on when both TLS items are set"},
		{Name: "tls_cert_key", Env: env("tlscertkey"), Flag: "tlscertkey", Default: "", Help: "TLS private key (PEM)"},
		// authnzrv's additions.
		{Name: "policies", Env: env("policies"), Flag: "policies", Default: "", Extra: true, Help: "directory of extra Rego policies loaded beside the built-in ones"},
		{Name: "redis", Env: env("redis"), Flag: "redis", Default: "", Extra: true, Help: "Redis URL shared by all instances (rate limits, replay guard)"},
		{Name: "redisfailure", Env: env("redisfailure"), Flag: "redisfailure", Default: "open", Extra: true, Help: "when Redis cannot be reached: 'open' admits requests (limits and replay guard off), 'closed' refuses them with 429/401"},
		{Name: "metrics", Env: env("metrics"), Flag: "metrics", Default: "1", Kind: Bool, Extra: true, Help: "1 serves Prometheus metrics on GET /metrics (behind the allowed-hosts filter)"},
		{Name: "otlpendpoint", Env: env("otlpendpoint"), Flag: "otlpendpoint", Default: "", Extra: true, Help: "OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces (empty: no tracing)"},
		{Name: "maxbodysize", Env: env("maxbodysize"), Flag: "maxbodysize", Default: "1048576", Kind: Int, Extra: true, Help: "largest accepted request body in bytes (HTTP 413 above)"},
		{Name: "requestttl", Env: env("requestttl"), Flag: "requestttl", Default: "0", Kind: Int, Extra: true, Help: "seconds a request token stays valid; 0 accepts any age (the reference)"},
		{Name: "pwnedcheck", Env: env("pwnedcheck"), Flag: "pwnedcheck", Default: "0", Kind: Bool, Extra: true, Help: "1 checks new passwords against the Have I Been Pwned range API"},
		{Name: "argon2params", Env: env("argon2params"), Flag: "argon2params", Default: "m=65536,t=3,p=4", Extra: true, Help: "argon2id parameters for new hashes (memory KiB, passes, lanes)"},
		{Name: "hashbudget", Env: env("hashbudget"), Flag: "hashbudget", Default: "256", Kind: Int, Extra: true, Help: "MiB of memory all concurrent password hashes may use together"},
		{Name: "emailsecurity", Env: env("emailsecurity"), Flag: "emailsecurity", Default: "starttls", Extra: true, Help: "SMTP connection security: starttls, tls or none"},
		{Name: "emailtlsverify", Env: env("emailtlsverify"), Flag: "emailtlsverify", Default: "1", Kind: Bool, Extra: true, Help: "1 verifies the SMTP server's certificate"},
		{Name: "emailtemplates", Env: env("emailtemplates"), Flag: "emailtemplates", Default: "[[basedir]]/templates", Extra: true, Help: "directory whose signup/forgotpass .txt/.html files override the built-in mail templates"},
	}
}

// Config is a resolved configuration.
type Config struct {
	AllowedHosts   string
	AuthDB         string
	BaseDir        string
	DebugMode      bool
	Listen         string
	Permissions    string
	Port           int
	Secret         string
	PIISalt        string
	SessionExpiry  int
	UserLockTries  int
	UserLockTime   int
	PassPolicy     string
	RateLimits     string
	Workers        int
	EmailServer    string
	EmailPort      int
	EmailUser      string
	EmailPass      string
	EmailSender    string
	TLSCertFile    string
	TLSCertKey     string
	Policies       string
	Redis          string
	RedisFailure   string
	MaxBodySize    int
	RequestTTL     int
	PwnedCheck     bool
	Argon2Params   string
	HashBudget     int
	EmailSecurity  string
	EmailTLSVerify bool
	EmailTemplates string
	Metrics        bool
	OTLPEndpoint   string
	// AdminEmail and AdminPassword come only from the process environment
	// (AUTHNZERVER_ADMIN_EMAIL, AUTHNZERVER_ADMIN_PASSWORD).
	AdminEmail    string
	AdminPassword string
	// EnvFile is the env file that was consulted, if any.
	EnvFile string
}

// RegisterFlags adds a flag for every item, plus --envfile and --confvars.
func RegisterFlags(fs *pflag.FlagSet) {
	for _, it := range Items() {
		help := it.Help
		if len(it.Env) > 0 {
			help += " (env " + strings.Join(it.Env, ", then ") + ")"
		}
		switch it.Kind {
		case Int:
			n, _ := strconv.Atoi(it.Default)
			fs.Int(it.Flag, n, help)
		default:
			fs.String(it.Flag, it.Default, help)
		}
	}
	fs.String("envfile", "", "read configuration variables from this env file instead of the environment")
	fs.String("confvars", "", "accepted for compatibility with authnzerver; ignored")
}

// Load resolves every item from the flags in fs and the environment source:
// environ (KEY=VALUE strings), or the file named by --envfile when it exists.
// homeDir replaces [[homedir]].
func Load(fs *pflag.FlagSet, environ []string, homeDir string) (*Config, error) {
	process := parseEnviron(environ)
	source := process
	c := &Config{}
	if f := fs.Lookup("envfile"); f != nil && f.Value.String() != "" {
		path := f.Value.String()
		if _, err := os.Stat(path); err == nil {
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("envfile: %w", err)
			}
			if source, err = ParseEnvFile(string(data)); err != nil {
				return nil, fmt.Errorf("envfile %s: %w", path, err)
			}
			c.EnvFile = path
		}
	}
	items := Items()
	raw := make(map[string]string, len(items))
	for _, it := range items {
		v := it.Default
		if f := fs.Lookup(it.Flag); f != nil {
			v = f.Value.String()
		}
		for _, name := range it.Env {
			if ev, ok := source[strings.ToUpper(name)]; ok {
				v = ev
				break
			}
		}
		if strings.TrimSpace(v) == "" {
			if it.Required {
				return nil, fmt.Errorf("%s: required (set %s or --%s)", it.Name, it.Env[0], it.Flag)
			}
			v = it.Default
		}
		raw[it.Name] = strings.TrimSpace(v)
	}
	basedir, err := filepath.Abs(raw["basedir"])
	if err != nil {
		return nil, fmt.Errorf("basedir: %w", err)
	}
	expand := func(s string) string {
		s = strings.ReplaceAll(s, "[[basedir]]", basedir)
		return strings.ReplaceAll(s, "[[homedir]]", homeDir)
	}
	for _, name := range []string{"secret", "piisalt"} {
		v := expand(raw[name])
		if st, err := os.Stat(v); err == nil && st.Mode().IsRegular() {
			data, err := os.ReadFile(v)
			if err != nil {
				return nil, fmt.Errorf("%s: read %s: %w", name, v, err)
			}
			v = strings.Trim(string(data), "\n")
		}
		raw[name] = v
	}
	for _, name := range []string{"authdb", "permissions", "policies", "tls_cert_file", "tls_cert_key", "emailtemplates"} {
		raw[name] = expand(raw[name])
	}
	ints := map[string]*int{
		"port": &c.Port, "sessionexpiry": &c.SessionExpiry, "userlocktries": &c.UserLockTries,
		"userlocktime": &c.UserLockTime, "workers": &c.Workers, "emailport": &c.EmailPort,
		"maxbodysize": &c.MaxBodySize, "requestttl": &c.RequestTTL, "hashbudget": &c.HashBudget,
	}
	for name, dst := range ints {
		n, err := strconv.Atoi(raw[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not an integer", name, raw[name])
		}
		*dst = n
	}
	c.AllowedHosts = raw["allowedhosts"]
	c.AuthDB = raw["authdb"]
	c.BaseDir = basedir
	c.DebugMode = raw["debugmode"] == "1"
	c.Listen = raw["listen"]
	c.Permissions = raw["permissions"]
	c.Secret = raw["secret"]
	c.PIISalt = raw["piisalt"]
	c.PassPolicy = raw["passpolicy"]
	c.RateLimits = raw["ratelimits"]
	c.EmailServer = raw["emailserver"]
	c.EmailUser = raw["emailuser"]
	c.EmailPass = raw["emailpass"]
	c.EmailSender = raw["emailsender"]
	c.TLSCertFile = raw["tls_cert_file"]
	c.TLSCertKey = raw["tls_cert_key"]
	c.Policies = raw["policies"]
	c.Redis = raw["redis"]
	c.RedisFailure = strings.ToLower(raw["redisfailure"])
	c.PwnedCheck = raw["pwnedcheck"] == "1"
	c.Argon2Params = raw["argon2params"]
	c.EmailSecurity = strings.ToLower(raw["emailsecurity"])
	c.EmailTLSVerify = raw["emailtlsverify"] == "1"
	c.EmailTemplates = raw["emailtemplates"]
	c.Metrics = raw["metrics"] == "1"
	c.OTLPEndpoint = raw["otlpendpoint"]
	c.AdminEmail = process["AUTHNZERVER_ADMIN_EMAIL"]
	c.AdminPassword = process["AUTHNZERVER_ADMIN_PASSWORD"]
	return c, nil
}

// parseEnviron turns KEY=VALUE strings into a map with upper-cased keys.
func parseEnviron(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[strings.ToUpper(k)] = v
		}
	}
	return m
}

// ParseEnvFile reads an env file in the reference's format: KEY=VALUE or
// KEY: VALUE lines, '#' and ';' comments, blank lines, case-insensitive keys
// (returned upper-cased), values trimmed with quotes kept literally, indented
// lines continuing the previous value. A duplicate key is an error.
func ParseEnvFile(s string) (map[string]string, error) {
	out := map[string]string{}
	last := ""
	for i, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last == "" {
				return nil, fmt.Errorf("line %d: continuation without a key", i+1)
			}
			out[last] += "\n" + trimmed
			continue
		}
		sep := strings.IndexAny(line, "=:")
		if sep <= 0 {
			return nil, fmt.Errorf("line %d: not KEY=VALUE", i+1)
		}
		k := strings.ToUpper(strings.TrimSpace(line[:sep]))
		if k == "" {
			return nil, fmt.Errorf("line %d: empty key", i+1)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("line %d: duplicate key %s", i+1, k)
		}
		out[k] = strings.TrimSpace(line[sep+1:])
		last = k
	}
	return out, nil
}

// WriteEnvFile writes values (by item name) as an env file with one
// NAME=value line per item, in Items order (both PORT and AUTHNZERVER_PORT
// for the port), mode 0600.
func WriteEnvFile(path string, values map[string]string) error {
	var b strings.Builder
	b.WriteString("# authnzrv configuration, written by --autosetup. The environment is\n# ignored for configuration items while this file is used (--envfile).\n")
	for _, it := range Items() {
		v, ok := values[it.Name]
		if !ok {
			v = it.Default
		}
		if strings.ContainsAny(v, "\n") {
			return fmt.Errorf("envfile: %s: value contains a newline", it.Name)
		}
		for _, name := range it.Env {
			fmt.Fprintf(&b, "%s=%s\n", name, v)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("envfile: %w", err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return fmt.Errorf("envfile: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("envfile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("envfile: %w", err)
	}
	return nil
}
