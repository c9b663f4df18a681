// Package config resolves authnzrv's configuration. Every item is a
// command-line flag and an AUTHNZERVER_* environment variable. Precedence
// is that of Go servers and twelve-factor apps, on purpose unlike the
// reference authnzerver: an explicitly given flag beats the process
// environment, which beats the env file (--envfile), which beats the
// default. A blank winning value means the default. Values are parsed
// strictly, and Load records where every value came from and where sources
// disagreed. The secret and the PII salt may be given either as the value or
// as the path of a file holding it.
package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// Config is a resolved configuration.
type Config struct {
	AllowedHosts    string
	AuthDB          string
	BaseDir         string
	DebugMode       bool
	Listen          string
	Permissions     string
	Port            int
	Secret          string
	PIISalt         string
	SessionExpiry   int
	UserLockTries   int
	UserLockTime    int
	PassPolicy      string
	RateLimits      string
	Workers         int
	EmailServer     string
	EmailPort       int
	EmailUser       string
	EmailPass       string
	EmailSender     string
	TLSCertFile     string
	TLSCertKey      string
	Policies        string
	Redis           string
	RedisFailure    string
	MaxBodySize     int
	RequestTTL      int
	PwnedCheck      bool
	Argon2Params    string
	HashBudget      int
	EmailSecurity   string
	EmailTLSVerify  bool
	EmailTemplates  string
	Metrics         bool
	OTLPEndpoint    string
	DecisionLog     string
	CacheTTL        int
	Adopt           bool
	MaxConns        int
	IdleTimeout     int
	LogFormat       string
	Bergson         bool
	HawkSenders     string
	HawkNonceExpiry int
	OAuthProviders  string
	TOTPIssuer      string
	// AdminEmail and AdminPassword come only from the process environment
	// (AUTHNZERVER_ADMIN_EMAIL, AUTHNZERVER_ADMIN_PASSWORD).
	AdminEmail    string
	AdminPassword string
	// EnvFile is the env file that was read, if any.
	EnvFile string
	// Provenance records where each value came from; set by Load, nil on a
	// Config built by hand.
	Provenance *Provenance
}

// fields binds every resolvable item (by name) to its Config field: a
// *string, *int or *bool.
func (c *Config) fields() map[string]any {
	return map[string]any{
		"allowedhosts": &c.AllowedHosts, "authdb": &c.AuthDB, "basedir": &c.BaseDir, "debugmode": &c.DebugMode,
		"listen": &c.Listen, "permissions": &c.Permissions, "port": &c.Port, "secret": &c.Secret, "piisalt": &c.PIISalt,
		"sessionexpiry": &c.SessionExpiry, "userlocktries": &c.UserLockTries, "userlocktime": &c.UserLockTime,
		"passpolicy": &c.PassPolicy, "ratelimits": &c.RateLimits, "workers": &c.Workers, "emailserver": &c.EmailServer,
		"emailport": &c.EmailPort, "emailuser": &c.EmailUser, "emailpass": &c.EmailPass, "emailsender": &c.EmailSender,
		"tls_cert_file": &c.TLSCertFile, "tls_cert_key": &c.TLSCertKey, "policies": &c.Policies, "redis": &c.Redis,
		"redisfailure": &c.RedisFailure, "metrics": &c.Metrics, "otlpendpoint": &c.OTLPEndpoint,
		"maxbodysize": &c.MaxBodySize, "requestttl": &c.RequestTTL, "pwnedcheck": &c.PwnedCheck,
		"argon2params": &c.Argon2Params, "hashbudget": &c.HashBudget, "emailsecurity": &c.EmailSecurity,
		"emailtlsverify": &c.EmailTLSVerify, "emailtemplates": &c.EmailTemplates, "decisionlog": &c.DecisionLog,
		"cachettl": &c.CacheTTL, "adopt": &c.Adopt, "maxconns": &c.MaxConns, "idletimeout": &c.IdleTimeout,
		"logformat": &c.LogFormat, "bergson": &c.Bergson, "hawksenders": &c.HawkSenders,
		"hawknonceexpiry": &c.HawkNonceExpiry, "oauthproviders": &c.OAuthProviders, "totpissuer": &c.TOTPIssuer,
	}
}

// flagValue holds a flag's text as given; Load parses it, so that a bad
// value is reported with the item's name and the flag as its source.
type flagValue struct {
	s   string
	typ string
}

func (v *flagValue) String() string     { return v.s }
func (v *flagValue) Set(s string) error { v.s = s; return nil }
func (v *flagValue) Type() string       { return v.typ }

// RegisterFlags adds a flag for every item, plus --envfile and --confvars
// (--autosetup is the serving command's own).
func RegisterFlags(fs *pflag.FlagSet) {
	for _, it := range Items() {
		if it.CommandLineOnly && it.Name != "envfile" && it.Name != "confvars" {
			continue
		}
		help := it.Help
		if len(it.Env) > 0 {
			help += " (env " + strings.Join(it.Env, ", then ") + ")"
		}
		fs.Var(&flagValue{s: it.Default, typ: it.ArgName()}, it.Flag, help)
	}
}

// Help returns the help text of the item or command-line option called
// name ("" when there is none).
func Help(name string) string {
	it, _ := lookupItem(name)
	return it.Help
}

// Load resolves every item from the flags in fs that were given explicitly,
// the process environment environ (KEY=VALUE strings) and the env file named
// by --envfile, in that order of precedence, falling back to the defaults;
// homeDir replaces [[homedir]]. It parses integers and booleans strictly; the
// other checks are Validate's. The returned Config's Provenance tells where
// each value came from, where sources disagreed, and which variables were
// ignored or unknown. Errors are one line, name the item and the source, and
// never include a secret's value.
func Load(fs *pflag.FlagSet, environ []string, homeDir string) (*Config, error) {
	process := parseEnviron(environ)
	file, path, err := readEnvFile(fs)
	if err != nil {
		return nil, err
	}
	prov := &Provenance{EnvFile: path}
	for _, it := range resolvable() {
		v, dis := resolve(it, fs, process, file, path)
		if v.Given == "" && it.Required {
			if v.Source.Kind == FromDefault {
				return nil, fmt.Errorf("%s: required (set %s or --%s)", it.Name, it.Env[0], it.Flag)
			}
			return nil, fmt.Errorf("%s: required, but %s is blank", it.Name, v.Source.Detail())
		}
		prov.Values = append(prov.Values, v)
		if dis != nil {
			prov.Disagreements = append(prov.Disagreements, *dis)
		}
	}
	c := &Config{EnvFile: path, Provenance: prov}
	if err := c.convert(homeDir); err != nil {
		return nil, err
	}
	c.AdminEmail = process["AUTHNZERVER_ADMIN_EMAIL"]
	c.AdminPassword = process["AUTHNZERVER_ADMIN_PASSWORD"]
	prov.Ignored, prov.Unknown = screenVariables(process, file, path)
	if f := fs.Lookup("confvars"); f != nil && strings.TrimSpace(f.Value.String()) != "" {
		prov.Ignored = append(prov.Ignored, Variable{Name: "--confvars", Source: Source{Kind: FromFlag, Name: "--confvars"},
			Reason: "confvars.py plug-ins are Python; authnzrv resolves its items itself"})
	}
	return c, nil
}

// readEnvFile reads the env file --envfile names, if it names one: a file
// named but missing is an error.
func readEnvFile(fs *pflag.FlagSet) (map[string]string, string, error) {
	f := fs.Lookup("envfile")
	if f == nil || strings.TrimSpace(f.Value.String()) == "" {
		return nil, "", nil
	}
	path := strings.TrimSpace(f.Value.String())
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("envfile: %w", err)
	}
	m, err := ParseEnvFile(string(data))
	if err != nil {
		return nil, "", fmt.Errorf("envfile %s: %w", path, err)
	}
	return m, path, nil
}

// convert sets c's fields from the resolved values in c.Provenance:
// basedir first (made absolute), [[basedir]] and [[homedir]] replaced, the
// secret and salt read from the files they name, integers and booleans
// parsed. It records each effective value in the provenance.
func (c *Config) convert(homeDir string) error {
	vals := c.Provenance.Values
	var basedir string
	for i := range vals {
		if vals[i].Item == "basedir" {
			b, err := filepath.Abs(effective(&vals[i]))
			if err != nil {
				return fmt.Errorf("basedir: %w", err)
			}
			basedir = b
		}
	}
	expand := func(s string) string {
		s = strings.ReplaceAll(s, "[[basedir]]", basedir)
		return strings.ReplaceAll(s, "[[homedir]]", homeDir)
	}
	fields := c.fields()
	items := map[string]Item{}
	for _, it := range resolvable() {
		items[it.Name] = it
	}
	for i := range vals {
		v := &vals[i]
		it := items[v.Item]
		raw := effective(v)
		if it.Name == "basedir" {
			raw = basedir
		}
		fail := func(format string, args ...any) error {
			where := ""
			if v.Source.Kind != FromDefault {
				where = v.Source.Detail() + ": "
			}
			return fmt.Errorf("%s: %s%s", it.Name, where, fmt.Sprintf(format, args...))
		}
		switch dst := fields[it.Name].(type) {
		case *int:
			n, err := strconv.Atoi(raw)
			if err != nil {
				return fail("%q is not an integer", raw)
			}
			*dst, v.Value = n, strconv.Itoa(n)
		case *bool:
			b, err := ParseBool(raw)
			if err != nil {
				return fail("%q is not a boolean (want 1/0, true/false, yes/no or on/off)", raw)
			}
			*dst, v.Value = b, strconv.FormatBool(b)
		case *string:
			s := raw
			if it.Kind == Enum {
				s = strings.ToLower(s)
			}
			if it.Kind.expands() {
				s = expand(s)
			}
			if it.Kind == ValueOrFile {
				if st, err := os.Stat(s); err == nil && st.Mode().IsRegular() {
					data, err := os.ReadFile(s)
					if err != nil {
						return fail("read %s: %v", s, err)
					}
					v.File = s
					s = strings.Trim(string(data), "\n")
				}
			}
			*dst, v.Value = s, s
		default:
			return fmt.Errorf("%s: no configuration field", it.Name)
		}
	}
	return nil
}

// resolvable returns the items Load resolves (not the command-line-only
// options).
func resolvable() []Item {
	var out []Item
	for _, it := range Items() {
		if !it.CommandLineOnly {
			out = append(out, it)
		}
	}
	return out
}

// effective is the text a value resolves to before conversion: what the
// winning source gave, trimmed, or the default when that is blank.
func effective(v *Value) string {
	if v.Given == "" {
		return v.Default
	}
	return v.Given
}

// resolve finds the winning source of one item and the sources that
// disagree with it.
func resolve(it Item, fs *pflag.FlagSet, process, file map[string]string, filePath string) (Value, *Disagreement) {
	var cands []Candidate
	if f := fs.Lookup(it.Flag); f != nil && f.Changed {
		cands = append(cands, Candidate{Source: Source{Kind: FromFlag, Name: "--" + it.Flag}, Value: f.Value.String()})
	}
	for _, name := range it.Env {
		if v, ok := process[strings.ToUpper(name)]; ok {
			cands = append(cands, Candidate{Source: Source{Kind: FromEnv, Name: name}, Value: v})
		}
	}
	for _, name := range it.Env {
		if v, ok := file[strings.ToUpper(name)]; ok {
			cands = append(cands, Candidate{Source: Source{Kind: FromEnvFile, Name: name, Path: filePath}, Value: v})
		}
	}
	v := Value{Item: it.Name, Default: it.Default, Secret: it.Secret, Source: Source{Kind: FromDefault}}
	if len(cands) == 0 {
		return v, nil
	}
	win := cands[0]
	v.Source, v.Given = win.Source, strings.TrimSpace(win.Value)
	var losers []Candidate
	for _, c := range cands[1:] {
		if !sameValue(it, win.Value, c.Value) {
			losers = append(losers, c)
		}
	}
	if len(losers) == 0 {
		return v, nil
	}
	return v, &Disagreement{Item: it.Name, Winner: win, Losers: losers, secret: it.Secret}
}

// sameValue reports whether two given values mean the same for the item:
// equal after trimming, or equal as integers or booleans.
func sameValue(it Item, a, b string) bool {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == b {
		return true
	}
	switch it.Kind {
	case Int:
		x, errA := strconv.Atoi(a)
		y, errB := strconv.Atoi(b)
		return errA == nil && errB == nil && x == y
	case Bool:
		x, errA := ParseBool(a)
		y, errB := ParseBool(b)
		return errA == nil && errB == nil && x == y
	case Enum:
		return strings.EqualFold(a, b)
	}
	return false
}

// ParseBool reads a boolean: 1/0, true/false, yes/no or on/off, in any case,
// surrounding blanks ignored. Anything else is an error.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (want 1/0, true/false, yes/no or on/off)", s)
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
