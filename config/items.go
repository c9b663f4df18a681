package config

import (
	"math"
	"os"
	"os/user"
	"strings"
)

// Kind is the type an item's value converts to and the checks it gets.
type Kind int

// Item kinds.
const (
	// String is free text.
	String Kind = iota
	// Int is a decimal integer within [Item.Min, Item.Max].
	Int
	// Bool is 1/0, true/false, yes/no or on/off in any case; anything else
	// is refused (the reference took "1" as true and anything else as false).
	Bool
	// Enum is one of Item.Choices, in any case (stored lower-cased).
	Enum
	// URL is an absolute URL with one of Item.Schemes and a host.
	URL
	// Database is a database URL that ParseDBURL accepts.
	Database
	// File is the path of a regular file that must exist when set.
	File
	// Dir is the path of a directory that must exist when set.
	Dir
	// Path is a path that need not exist.
	Path
	// ValueOrFile is a value, or the path of a regular file holding it
	// (the reference's readable_from_file "string": secret and piisalt).
	ValueOrFile
	// Output is "", "stderr" or the path of a file to append to, whose
	// directory must exist.
	Output
)

// String names the kind as the flag help and the generated tables show it.
func (k Kind) String() string {
	switch k {
	case Int:
		return "int"
	case Bool:
		return "bool"
	case Enum:
		return "enum"
	case URL:
		return "url"
	case Database:
		return "dburl"
	case File:
		return "file"
	case Dir:
		return "dir"
	case Path:
		return "path"
	case ValueOrFile:
		return "value-or-file"
	case Output:
		return "output"
	default:
		return "string"
	}
}

// expands reports whether [[basedir]] and [[homedir]] are replaced in the
// kind's values.
func (k Kind) expands() bool {
	switch k {
	case Database, File, Dir, Path, ValueOrFile, Output:
		return true
	}
	return false
}

// Item is one configuration item: a flag and one or more environment
// variables.
type Item struct {
	// Name is the item's name in the reference (e.g. "tls_cert_file").
	Name string
	// Env lists the environment variables in order of precedence (first
	// present wins). Empty for command-line-only options.
	Env []string
	// Flag is the command-line option without dashes.
	Flag string
	// Default is used when no source gives a value, or the winning value is
	// blank.
	Default string
	// Kind is the value's type.
	Kind Kind
	// Min and Max bound Int items (inclusive).
	Min, Max int
	// Choices are the accepted values of Enum items, lower case.
	Choices []string
	// Schemes are the accepted schemes of URL items.
	Schemes []string
	// Secret items are redacted in every rendering (show, logs, errors).
	Secret bool
	// Help describes the item.
	Help string
	// Required items have no default; start-up fails without them.
	Required bool
	// Extra marks items authnzrv adds to the reference's set.
	Extra bool
	// CommandLineOnly marks options that are flags only (--envfile,
	// --confvars, --autosetup): listed here so that a generated flag table
	// shows them, but Load does not resolve them as items.
	CommandLineOnly bool
}

// ArgName is the placeholder for the item's value in flag help: "int",
// "1|0", the choices joined by "|", or "string" (pflag's own name, which
// keeps GetString working on these flags).
func (it Item) ArgName() string {
	switch it.Kind {
	case Int:
		return "int"
	case Bool:
		return "1|0"
	case Enum:
		return strings.Join(it.Choices, "|")
	default:
		return "string"
	}
}

// seconds is the largest number of seconds an Int item takes: enough for
// decades, small enough that time.Duration(n)*time.Second cannot overflow.
const seconds = math.MaxInt32

// Items returns every configuration item, in the order of the reference's
// table (config.md §2) followed by authnzrv's additions and the
// command-line-only options.
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
		{Name: "authdb", Env: env("authdb"), Flag: "authdb", Kind: Database, Required: true, Help: "database URL: sqlite:///path.sqlite or postgresql://user@host:port/db"},
		{Name: "basedir", Env: env("basedir"), Flag: "basedir", Default: cwd, Help: "directory for credentials files; [[basedir]] in other values"},
		{Name: "debugmode", Env: env("debugmode"), Flag: "debugmode", Default: "0", Kind: Bool, Help: "1 enables POST /echo and debug logging"},
		{Name: "listen", Env: env("listen"), Flag: "listen", Default: "127.0.0.1", Help: "bind address"},
		{Name: "permissions", Env: env("permissions"), Flag: "permissions", Kind: File, Help: "JSON permissions model (default: the bundled default model)"},
		{Name: "port", Env: []string{"PORT", "AUTHNZERVER_PORT"}, Flag: "port", Default: "13431", Kind: Int, Min: 0, Max: 65535, Help: "TCP port (0: any free port, logged at start)"},
		{Name: "secret", Env: env("secret"), Flag: "secret", Kind: ValueOrFile, Secret: true, Required: true, Help: "Fernet key shared with the frontends, or the path of a file holding it"},
		{Name: "piisalt", Env: env("piisalt"), Flag: "piisalt", Kind: ValueOrFile, Secret: true, Required: true, Help: "salt for hashing PII in logs, or the path of a file holding it; 'none' logs PII"},
		{Name: "sessionexpiry", Env: env("sessionexpiry"), Flag: "sessionexpiry", Default: "30", Kind: Int, Min: 0, Max: 36500, Help: "days after expiry before a session row is purged"},
		{Name: "userlocktries", Env: env("userlocktries"), Flag: "userlocktries", Default: "10", Kind: Int, Min: 1, Max: math.MaxInt32, Help: "failed password checks before a temporary lock"},
		{Name: "userlocktime", Env: env("userlocktime"), Flag: "userlocktime", Default: "3600", Kind: Int, Min: 1, Max: seconds, Help: "seconds until the automatic unlock"},
		{Name: "passpolicy", Env: env("passpolicy"), Flag: "passpolicy", Default: "min_pass_length:12; max_unsafe_similarity:50; max_char_frequency:0.3; min_pwned_matches:25", Help: "password policy"},
		{Name: "ratelimits", Env: env("ratelimits"), Flag: "ratelimits", Default: "ipaddr:720; user:480; session:600; apikey:720; burst:150", Help: "request rate limits per minute, or 'none'"},
		{Name: "workers", Env: env("workers"), Flag: "workers", Default: "4", Kind: Int, Min: 1, Max: 4096, Help: "worker count reported by /health"},
		{Name: "emailserver", Env: env("emailserver"), Flag: "emailserver", Default: "localhost", Help: "SMTP host"},
		{Name: "emailport", Env: env("emailport"), Flag: "emailport", Default: "25", Kind: Int, Min: 1, Max: 65535, Help: "SMTP port"},
		{Name: "emailuser", Env: env("emailuser"), Flag: "emailuser", Default: osUser, Help: "SMTP login"},
		{Name: "emailpass", Env: env("emailpass"), Flag: "emailpass", Default: "", Secret: true, Help: "SMTP password"},
		{Name: "emailsender", Env: env("emailsender"), Flag: "emailsender", Default: "Authnzerver <authnzerver@localhost>", Help: "From address of the server's mails"},
		{Name: "tls_cert_file", Env: env("tlscertfile"), Flag: "tlscertfile", Default: "", Kind: File, Help: "TLS certificate (PEM); TLS is on when both TLS items are set"},
		{Name: "tls_cert_key", Env: env("tlscertkey"), Flag: "tlscertkey", Default: "", Kind: File, Help: "TLS private key (PEM)"},
		// authnzrv's additions.
		{Name: "policies", Env: env("policies"), Flag: "policies", Default: "", Kind: Dir, Extra: true, Help: "directory of extra Rego policies loaded beside the built-in ones"},
		{Name: "redis", Env: env("redis"), Flag: "redis", Default: "", Kind: URL, Schemes: []string{"redis", "rediss"}, Extra: true, Help: "Redis URL shared by all instances (rate limits, replay guard)"},
		{Name: "redisfailure", Env: env("redisfailure"), Flag: "redisfailure", Default: "open", Kind: Enum, Choices: []string{"open", "closed"}, Extra: true, Help: "when Redis cannot be reached: 'open' admits requests (limits and replay guard off), 'closed' refuses them with 429/401"},
		{Name: "metrics", Env: env("metrics"), Flag: "metrics", Default: "1", Kind: Bool, Extra: true, Help: "serve Prometheus metrics on GET /metrics (behind the allowed-hosts filter)"},
		{Name: "otlpendpoint", Env: env("otlpendpoint"), Flag: "otlpendpoint", Default: "", Kind: URL, Schemes: []string{"http", "https"}, Extra: true, Help: "OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces (empty: no tracing)"},
		{Name: "maxbodysize", Env: env("maxbodysize"), Flag: "maxbodysize", Default: "1048576", Kind: Int, Min: 1024, Max: 1 << 30, Extra: true, Help: "largest accepted request body in bytes (HTTP 413 above)"},
		{Name: "requestttl", Env: env("requestttl"), Flag: "requestttl", Default: "120", Kind: Int, Min: 0, Max: seconds, Extra: true, Help: "seconds a request token stays valid and is remembered by the replay guard; 0 turns freshness and the replay guard off (the reference)"},
		{Name: "pwnedcheck", Env: env("pwnedcheck"), Flag: "pwnedcheck", Default: "0", Kind: Bool, Extra: true, Help: "check new passwords against the Have I Been Pwned range API"},
		{Name: "argon2params", Env: env("argon2params"), Flag: "argon2params", Default: "m=65536,t=3,p=4", Extra: true, Help: "argon2id parameters for new hashes (memory KiB, passes, lanes)"},
		{Name: "hashbudget", Env: env("hashbudget"), Flag: "hashbudget", Default: "256", Kind: Int, Min: 1, Max: 1 << 20, Extra: true, Help: "MiB of memory all concurrent password hashes may use together"},
		{Name: "emailsecurity", Env: env("emailsecurity"), Flag: "emailsecurity", Default: "starttls", Kind: Enum, Choices: []string{"starttls", "tls", "none"}, Extra: true, Help: "SMTP connection security"},
		{Name: "emailtlsverify", Env: env("emailtlsverify"), Flag: "emailtlsverify", Default: "1", Kind: Bool, Extra: true, Help: "verify the SMTP server's certificate"},
		{Name: "emailtemplates", Env: env("emailtemplates"), Flag: "emailtemplates", Default: "[[basedir]]/templates", Kind: Path, Extra: true, Help: "directory whose signup/forgotpass .txt/.html files override the built-in mail templates"},
		{Name: "decisionlog", Env: env("decisionlog"), Flag: "decisionlog", Default: "", Kind: Output, Extra: true, Help: "where policy decisions are logged: empty (nowhere), 'stderr', or a file path (appended to)"},
		{Name: "cachettl", Env: env("cachettl"), Flag: "cachettl", Default: "5", Kind: Int, Min: 0, Max: seconds, Extra: true, Help: "seconds a cached lookup stays fresh; 0 turns the cache off"},
		{Name: "adopt", Env: env("adopt"), Flag: "adopt", Default: "1", Kind: Bool, Extra: true, Help: "accept a database made by the reference authnzerver and bring it under authnzrv's migrations; 0 refuses such a database"},
		{Name: "maxconns", Env: env("maxconns"), Flag: "maxconns", Default: "10000", Kind: Int, Min: 1, Max: math.MaxInt32, Extra: true, Help: "most client connections served at once"},
		{Name: "idletimeout", Env: env("idletimeout"), Flag: "idletimeout", Default: "120", Kind: Int, Min: 1, Max: seconds, Extra: true, Help: "seconds an idle keep-alive connection stays open"},
		{Name: "logformat", Env: env("logformat"), Flag: "logformat", Default: "text", Kind: Enum, Choices: []string{"text", "json"}, Extra: true, Help: "log line format"},
		{Name: "bergson", Env: env("bergson"), Flag: "bergson", Default: "0", Kind: Bool, Extra: true, Help: "serve the Bergson Authenticator's REST API (Hawk-signed)"},
		{Name: "hawksenders", Env: env("hawksenders"), Flag: "hawksenders", Default: "", Kind: File, Extra: true, Help: "file of Hawk senders (ids and keys) allowed to call the Bergson API"},
		{Name: "hawknonceexpiry", Env: env("hawknonceexpiry"), Flag: "hawknonceexpiry", Default: "60", Kind: Int, Min: 1, Max: seconds, Extra: true, Help: "seconds a Hawk request's timestamp may be off and its nonce is remembered"},
		{Name: "oauthproviders", Env: env("oauthproviders"), Flag: "oauthproviders", Default: "", Kind: File, Extra: true, Help: "file describing the OAuth/OpenID Connect providers for social login"},
		{Name: "totpissuer", Env: env("totpissuer"), Flag: "totpissuer", Default: "authnzrv", Extra: true, Help: "issuer name shown by authenticator apps for TOTP second factors"},
		// Options that exist only on the command line.
		{Name: "envfile", Flag: "envfile", Kind: File, CommandLineOnly: true, Help: "read configuration variables from this env file; the process environment and flags override it; the file must exist"},
		{Name: "confvars", Flag: "confvars", CommandLineOnly: true, Help: "accepted for compatibility with authnzerver; ignored"},
		{Name: "autosetup", Flag: "autosetup", Default: "false", Kind: Bool, CommandLineOnly: true, Help: "set up the base directory (secret, PII salt, SQLite database, superuser, .env) when needed, then serve"},
	}
}

// lookupItem returns the item called name.
func lookupItem(name string) (Item, bool) {
	for _, it := range Items() {
		if it.Name == name {
			return it, true
		}
	}
	return Item{}, false
}
