package config

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// SourceKind tells which kind of source gave a value.
type SourceKind int

// Source kinds, from the weakest to the strongest.
const (
	// FromDefault: no source gave a value.
	FromDefault SourceKind = iota
	// FromEnvFile: the env file named by --envfile.
	FromEnvFile
	// FromEnv: the process environment.
	FromEnv
	// FromFlag: a flag given on the command line.
	FromFlag
)

// Source is where a value came from.
type Source struct {
	// Kind is the kind of source.
	Kind SourceKind
	// Name is the flag ("--port") or the variable ("PORT").
	Name string
	// Path is the env file's path (FromEnvFile only).
	Path string
}

// String names the source as the log lines show it: "flag --port",
// "env PORT", "envfile ./b/.env" or "default".
func (s Source) String() string {
	switch s.Kind {
	case FromFlag:
		return "flag " + s.Name
	case FromEnv:
		return "env " + s.Name
	case FromEnvFile:
		return "envfile " + s.Path
	default:
		return "default"
	}
}

// Detail names the source with the variable read from an env file:
// "envfile ./b/.env (AUTHNZERVER_PORT)"; otherwise as String.
func (s Source) Detail() string {
	if s.Kind == FromEnvFile {
		return "envfile " + s.Path + " (" + s.Name + ")"
	}
	return s.String()
}

// Value is one item's resolved value and where it came from.
type Value struct {
	// Item is the item's name.
	Item string
	// Value is the effective value as text: converted (integers in decimal,
	// booleans "true"/"false", choices lower-cased), [[basedir]] and
	// [[homedir]] replaced, and for secret and piisalt the content of the
	// file the value named. Secret items hold their secret here: render
	// with Display.
	Value string
	// Given is what the winning source gave, trimmed; "" when no source gave
	// a value or the value was blank (then the default applies).
	Given string
	// Default is the item's default.
	Default string
	// Source is the winning source; FromDefault when none gave a value.
	Source Source
	// File is the file a secret or salt was read from, if any.
	File string
	// Secret items are redacted in every rendering.
	Secret bool
}

// Display is the effective value fit to print: secrets redacted, passwords
// in URLs masked.
func (v Value) Display() string {
	return redact(v.Secret, v.Value)
}

// Origin describes where the value came from, for `config show`: the source,
// whether a blank value fell back to the default, and the file a secret was
// read from.
func (v Value) Origin() string {
	s := v.Source.Detail()
	if v.Source.Kind != FromDefault && v.Given == "" {
		s += ", blank: the default"
	}
	if v.File != "" {
		s += ", read from " + v.File
	}
	return s
}

// Candidate is a value a source offered for an item.
type Candidate struct {
	// Source offered the value.
	Source Source
	// Value is the text as the source gave it.
	Value string
}

// Disagreement is an item for which sources offered different values.
type Disagreement struct {
	// Item is the item's name.
	Item string
	// Winner is the value used.
	Winner Candidate
	// Losers are the differing values that the winner overrode, strongest
	// first.
	Losers []Candidate
	secret bool
}

// String renders the disagreement as one log line, secrets redacted:
// "port: flag --port=13450 wins over envfile ./b/.env (13431)".
func (d Disagreement) String() string {
	var b strings.Builder
	b.WriteString(d.Item + ": ")
	w := d.Winner
	switch w.Source.Kind {
	case FromEnvFile:
		b.WriteString("envfile " + w.Source.Path + " " + w.Source.Name + "=" + quoteBlank(redact(d.secret, strings.TrimSpace(w.Value))))
	default:
		b.WriteString(w.Source.String() + "=" + quoteBlank(redact(d.secret, strings.TrimSpace(w.Value))))
	}
	if strings.TrimSpace(w.Value) == "" {
		b.WriteString(" (blank: the default)")
	}
	b.WriteString(" wins over ")
	// One entry per env file and value; the variable is named only where
	// the file holds two of the item's variables with different values (or
	// the winner is from the same file).
	values := map[string]map[string]bool{}
	for _, l := range d.Losers {
		k := l.Source.String()
		if values[k] == nil {
			values[k] = map[string]bool{}
		}
		values[k][strings.TrimSpace(l.Value)] = true
	}
	seen := map[string]bool{}
	n := 0
	for _, l := range d.Losers {
		label := l.Source.String()
		val := strings.TrimSpace(l.Value)
		if l.Source.Kind == FromEnvFile {
			if seen[label+"\x00"+val] {
				continue
			}
			seen[label+"\x00"+val] = true
			if len(values[label]) > 1 || w.Source.Kind == FromEnvFile {
				label += " " + l.Source.Name
			}
		}
		if n > 0 {
			b.WriteString(", ")
		}
		n++
		b.WriteString(label + " (" + quoteBlank(redact(d.secret, val)) + ")")
	}
	return b.String()
}

// quoteBlank shows an empty value as "".
func quoteBlank(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// Variable is an environment variable, env file key or flag that Load did
// not use.
type Variable struct {
	// Name is the variable's name, upper-cased.
	Name string
	// Source is where it was set (FromEnv or FromEnvFile).
	Source Source
	// Reason says why it is ignored (ignored variables).
	Reason string
	// Suggestion is the closest known name, if one is close (unknown
	// variables).
	Suggestion string
}

// String renders the variable as one log line; its value is never shown.
func (v Variable) String() string {
	where := "env"
	switch v.Source.Kind {
	case FromEnvFile:
		where = "envfile " + v.Source.Path
	case FromFlag:
		where = "flag"
	}
	s := v.Name + " (" + where + ")"
	if v.Reason != "" {
		s += ": " + v.Reason
	}
	if v.Suggestion != "" {
		s += "; did you mean " + v.Suggestion + "?"
	}
	return s
}

// Provenance records how a configuration was resolved.
type Provenance struct {
	// Values holds every resolvable item, in Items order.
	Values []Value
	// Disagreements lists the items whose sources offered different values.
	Disagreements []Disagreement
	// Ignored lists variables the reference knows that authnzrv does not
	// use, and variables given where they are not read.
	Ignored []Variable
	// Unknown lists AUTHNZERVER_* variables (and env file keys) that no item
	// uses: perhaps typos.
	Unknown []Variable
	// EnvFile is the env file that was read, if any.
	EnvFile string
}

// Lookup returns the value of the item called name.
func (p *Provenance) Lookup(name string) (Value, bool) {
	if p == nil {
		return Value{}, false
	}
	for _, v := range p.Values {
		if v.Item == name {
			return v, true
		}
	}
	return Value{}, false
}

// Notes returns the configuration's log lines: one per disagreement, per
// ignored variable and per unknown variable, with their levels. No line holds
// a secret.
func (p *Provenance) Notes() []Note {
	if p == nil {
		return nil
	}
	var out []Note
	for _, d := range p.Disagreements {
		out = append(out, Note{Level: slog.LevelInfo, Text: d.String()})
	}
	for _, v := range p.Ignored {
		out = append(out, Note{Level: slog.LevelInfo, Text: "ignored variable " + v.String()})
	}
	for _, v := range p.Unknown {
		out = append(out, Note{Level: slog.LevelWarn, Text: "unknown variable " + v.String()})
	}
	return out
}

// Note is one line about the configuration for the log.
type Note struct {
	// Level is slog.LevelInfo, or slog.LevelWarn for unknown variables.
	Level slog.Level
	// Text is the line.
	Text string
}

// Log writes the configuration's notes to log, one line each, prefixed
// "configuration: ". Call it once at start.
func (p *Provenance) Log(ctx context.Context, log *slog.Logger) {
	for _, n := range p.Notes() {
		log.Log(ctx, n.Level, "configuration: "+n.Text)
	}
}

// redactedText replaces a secret.
const redactedText = "[redacted]"

// redact returns v fit to print: "[redacted]" for a non-empty secret, and
// for other values any URL password (user:password@, ?password=…) masked.
func redact(secret bool, v string) string {
	if v == "" {
		return ""
	}
	if secret {
		return redactedText
	}
	return RedactURL(v)
}

// RedactURL masks the password of a URL's user information and credential
// query parameters ("postgresql://u:xxxxx@h/db?sslpassword=xxxxx"). Text
// that is not a URL is returned as it is.
func RedactURL(v string) string {
	i := strings.Index(v, "://")
	if i < 0 {
		return v
	}
	rest := v[i+3:]
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if user, _, ok := strings.Cut(rest[:at], ":"); ok {
			rest = user + ":xxxxx" + rest[at:]
		}
	}
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		query, frag, hasFrag := strings.Cut(rest[q+1:], "#")
		pairs := strings.Split(query, "&")
		for j, p := range pairs {
			if k, _, ok := strings.Cut(p, "="); ok && credentialParam(k) {
				pairs[j] = k + "=xxxxx"
			}
		}
		rest = rest[:q+1] + strings.Join(pairs, "&")
		if hasFrag {
			rest += "#" + frag
		}
	}
	return v[:i+3] + rest
}

// credentialParam reports whether a URL query parameter carries a
// credential.
func credentialParam(k string) bool {
	switch strings.ToLower(k) {
	case "password", "passwd", "pass", "pwd", "sslpassword", "secret", "token", "auth":
		return true
	}
	return false
}

// Redact returns the value of the item called name fit to print.
func Redact(name, v string) string {
	it, _ := lookupItem(name)
	return redact(it.Secret, v)
}

// PermissionWarnings names the files holding secrets (the secret and the
// PII salt, when given as files) that other users may read, and a base
// directory (which holds the credentials) that other users may enter or
// change: start-up logs them (issue 13, finding 10).
func (c *Config) PermissionWarnings() []string {
	var out []string
	for _, name := range []string{"secret", "piisalt"} {
		v, ok := c.Provenance.Lookup(name)
		if !ok || v.File == "" {
			continue
		}
		if st, err := os.Stat(v.File); err == nil && st.Mode().Perm()&0o077 != 0 {
			out = append(out, fmt.Sprintf("%s: the file %s is readable by other users (mode %04o): chmod 600 it", name, v.File, st.Mode().Perm()))
		}
	}
	if st, err := os.Stat(c.BaseDir); err == nil && st.IsDir() && st.Mode().Perm()&0o022 != 0 {
		out = append(out, fmt.Sprintf("basedir: %s is writable by other users (mode %04o): chmod 700 it", c.BaseDir, st.Mode().Perm()))
	}
	return out
}
