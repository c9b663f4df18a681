package config

import (
	"fmt"
	"os"
	"strings"
)

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
// for the port; none for the command-line-only options), mode 0600.
func WriteEnvFile(path string, values map[string]string) error {
	var b strings.Builder
	b.WriteString("# authnzrv configuration, written by --autosetup. Read with --envfile;\n# the process environment and command-line flags override these values.\n")
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
