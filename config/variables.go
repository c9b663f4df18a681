package config

import (
	"sort"
	"strings"

	"github.com/agnivade/levenshtein"
)

// envPrefix starts every variable of the reference and of authnzrv (but PORT).
const envPrefix = "AUTHNZERVER_"

// processOnly are read only from the process environment, never from an env
// file (config.md §2).
func processOnly() []string {
	return []string{"AUTHNZERVER_ADMIN_EMAIL", "AUTHNZERVER_ADMIN_PASSWORD"}
}

// referenceOnly are the variables the reference (its server, client, tests
// or documentation) knows and authnzrv does not use, with the reason.
func referenceOnly() map[string]string {
	return map[string]string{
		"AUTHNZERVER_CACHEDIR":  "set by the reference's tests; authnzrv has no cache directory",
		"AUTHNZERVER_URL":       "read by the reference's client (the server's address), not by a server",
		"AUTHNZERVER_SECRETKEY": "named in the reference's documentation, but the server reads AUTHNZERVER_SECRET",
		"AUTHNZERVER_CONFVARS":  "confvars.py plug-ins are Python; authnzrv ignores them (--confvars likewise)",
	}
}

// knownNames returns every variable an item or the server reads.
func knownNames() []string {
	var out []string
	for _, it := range resolvable() {
		out = append(out, it.Env...)
	}
	return append(out, processOnly()...)
}

// screenVariables sorts the variables Load did not use into ignored ones
// (known to the reference, or given where they are not read) and unknown
// ones (perhaps typos, with the closest known name). From the process
// environment only AUTHNZERVER_* names are considered; every key of the env
// file is.
func screenVariables(process, file map[string]string, filePath string) (ignored, unknown []Variable) {
	known := map[string]bool{}
	for _, n := range knownNames() {
		known[n] = true
	}
	refOnly := referenceOnly()
	fileOnly := map[string]bool{}
	for _, n := range processOnly() {
		fileOnly[n] = true
	}
	screen := func(m map[string]string, src Source, all bool) {
		names := make([]string, 0, len(m))
		for k := range m {
			if all || strings.HasPrefix(k, envPrefix) {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		for _, k := range names {
			switch {
			case src.Kind == FromEnvFile && fileOnly[k]:
				ignored = append(ignored, Variable{Name: k, Source: src, Reason: "read only from the process environment, not from an env file"})
			case known[k]:
			case refOnly[k] != "":
				ignored = append(ignored, Variable{Name: k, Source: src, Reason: refOnly[k]})
			default:
				unknown = append(unknown, Variable{Name: k, Source: src, Reason: "no configuration item uses it", Suggestion: Suggest(k)})
			}
		}
	}
	screen(process, Source{Kind: FromEnv}, false)
	if file != nil {
		screen(file, Source{Kind: FromEnvFile, Path: filePath}, true)
	}
	return ignored, unknown
}

// Suggest returns the known variable closest to name ("" when none is close
// enough): within an edit distance of 2 or a third of the name, or one name
// starting the other (AUTHNZERVER_REDISURL: AUTHNZERVER_REDIS). On a tie a
// name with the same prefix wins (AUTHNZERVER_PROT: AUTHNZERVER_PORT, not
// PORT).
func Suggest(name string) string {
	upper := strings.ToUpper(name)
	bare := strings.TrimPrefix(upper, envPrefix)
	prefixed := strings.HasPrefix(upper, envPrefix)
	best, bestD, bestSame := "", -1, false
	for _, k := range knownNames() {
		kb := strings.TrimPrefix(k, envPrefix)
		d := levenshtein.ComputeDistance(bare, kb)
		startsWith := (len(kb) >= 4 && strings.HasPrefix(bare, kb)) || (len(bare) >= 4 && strings.HasPrefix(kb, bare))
		if d > 2 && d*3 > len(bare) && !startsWith {
			continue
		}
		same := strings.HasPrefix(k, envPrefix) == prefixed
		if bestD < 0 || d < bestD || (d == bestD && same && !bestSame) {
			best, bestD, bestSame = k, d, same
		}
	}
	return best
}
