package config_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/authnzrv/authnzrv/config"
)

// TestLoadIgnoredAndUnknownVariables: variables the reference knows and
// authnzrv does not use are reported as ignored; AUTHNZERVER_* names nobody
// knows as unknown, with the closest known name; neither fails the load.
func TestLoadIgnoredAndUnknownVariables(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := writeFile(t, dir, "b.env", "AUTHNZERVER_ADMIN_PASSWORD=from-file\nAUTHNZERVER_CACHEDIR=/tmp/c\nAUTHNZERVER_LSITEN=0.0.0.0\nDATABASE_URL=x\nPORT=13431\n")
	tests := []struct {
		name    string
		args    []string
		environ []string
		ignored []string
		unknown []string
	}{
		{"nothing extra", nil, nil, nil, nil},
		{"reference test variable", nil, []string{"AUTHNZERVER_CACHEDIR=/tmp/x"},
			[]string{"AUTHNZERVER_CACHEDIR (env): set by the reference's tests; authnzrv has no cache directory"}, nil},
		{"reference client variable", nil, []string{"AUTHNZERVER_URL=http://127.0.0.1:13431"},
			[]string{"AUTHNZERVER_URL (env): read by the reference's client (the server's address), not by a server"}, nil},
		{"reference documentation's secret name", nil, []string{"AUTHNZERVER_SECRETKEY=" + key},
			[]string{"AUTHNZERVER_SECRETKEY (env): named in the reference's documentation, but the server reads AUTHNZERVER_SECRET"}, nil},
		{"confvars variable", nil, []string{"AUTHNZERVER_CONFVARS=/x/confvars.py"},
			[]string{"AUTHNZERVER_CONFVARS (env): confvars.py plug-ins are Python; authnzrv ignores them (--confvars likewise)"}, nil},
		{"typo with a suggestion", nil, []string{"AUTHNZERVER_EMAILTLSVERFY=0"}, nil,
			[]string{"AUTHNZERVER_EMAILTLSVERFY (env): no configuration item uses it; did you mean AUTHNZERVER_EMAILTLSVERIFY?"}},
		{"transposition with a suggestion", nil, []string{"AUTHNZERVER_PROT=1"}, nil,
			[]string{"AUTHNZERVER_PROT (env): no configuration item uses it; did you mean AUTHNZERVER_PORT?"}},
		{"longer name with a suggestion", nil, []string{"AUTHNZERVER_REDISURL=redis://h"}, nil,
			[]string{"AUTHNZERVER_REDISURL (env): no configuration item uses it; did you mean AUTHNZERVER_REDIS?"}},
		{"lower-case typo", nil, []string{"authnzerver_workres=2"}, nil,
			[]string{"AUTHNZERVER_WORKRES (env): no configuration item uses it; did you mean AUTHNZERVER_WORKERS?"}},
		{"unknown without a close name", nil, []string{"AUTHNZERVER_ZZZZZZZZZZZZ=1"}, nil,
			[]string{"AUTHNZERVER_ZZZZZZZZZZZZ (env): no configuration item uses it"}},
		{"confvars flag", []string{"--confvars=/srv/confvars.py"}, nil,
			[]string{"--confvars (flag): confvars.py plug-ins are Python; authnzrv resolves its items itself"}, nil},
		{"other prefixes in the environment are not ours", nil, []string{"HOME=/root", "AUTHNZRV_TEST_POSTGRES=x", "PATH=/bin"}, nil, nil},
		{"envfile keys", []string{"--envfile", f}, nil,
			[]string{
				"AUTHNZERVER_ADMIN_PASSWORD (envfile " + f + "): read only from the process environment, not from an env file",
				"AUTHNZERVER_CACHEDIR (envfile " + f + "): set by the reference's tests; authnzrv has no cache directory",
			},
			[]string{
				"AUTHNZERVER_LSITEN (envfile " + f + "): no configuration item uses it; did you mean AUTHNZERVER_LISTEN?",
				"DATABASE_URL (envfile " + f + "): no configuration item uses it",
			}},
		{"process and envfile, process first", []string{"--envfile", f}, []string{"AUTHNZERVER_URL=x", "AUTHNZERVER_ADMIN_PASSWORD=pw"},
			[]string{
				"AUTHNZERVER_URL (env): read by the reference's client (the server's address), not by a server",
				"AUTHNZERVER_ADMIN_PASSWORD (envfile " + f + "): read only from the process environment, not from an env file",
				"AUTHNZERVER_CACHEDIR (envfile " + f + "): set by the reference's tests; authnzrv has no cache directory",
			},
			[]string{
				"AUTHNZERVER_LSITEN (envfile " + f + "): no configuration item uses it; did you mean AUTHNZERVER_LISTEN?",
				"DATABASE_URL (envfile " + f + "): no configuration item uses it",
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := loadValid(t, tc.args, append(tc.environ, required...))
			if err != nil {
				t.Fatal(err)
			}
			if got := render(c.Provenance.Ignored); !slices.Equal(got, tc.ignored) {
				t.Errorf("ignored\n got %q\nwant %q", got, tc.ignored)
			}
			if got := render(c.Provenance.Unknown); !slices.Equal(got, tc.unknown) {
				t.Errorf("unknown\n got %q\nwant %q", got, tc.unknown)
			}
			notes := c.Provenance.Notes()
			if len(notes) != len(tc.ignored)+len(tc.unknown) {
				t.Errorf("%d notes, want %d", len(notes), len(tc.ignored)+len(tc.unknown))
			}
		})
	}
}

func render(vs []config.Variable) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.String())
	}
	return out
}

// TestConfigSuggest: the closest known name, or none.
func TestConfigSuggest(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"AUTHNZERVER_SECRT", "AUTHNZERVER_SECRET"},
		{"AUTHNZERVER_PIISALTS", "AUTHNZERVER_PIISALT"},
		{"AUTHNZERVER_TLSCERTFILES", "AUTHNZERVER_TLSCERTFILE"},
		{"AUTHNZERVER_ADMIN_MAIL", "AUTHNZERVER_ADMIN_EMAIL"},
		{"AUTHNZERVER_DEBUG", "AUTHNZERVER_DEBUGMODE"},
		{"AUTHNZERVER_X", ""},
		{"AUTHNZERVER_COMPLETELYDIFFERENT", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			if got := config.Suggest(tc.in); got != tc.want {
				t.Fatalf("Suggest(%s) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// ExampleVariable_String shows an unknown variable's log line.
func ExampleVariable_String() {
	v := config.Variable{Name: "AUTHNZERVER_PROT", Source: config.Source{Kind: config.FromEnv}, Reason: "no configuration item uses it", Suggestion: config.Suggest("AUTHNZERVER_PROT")}
	fmt.Println(v)
	// Output: AUTHNZERVER_PROT (env): no configuration item uses it; did you mean AUTHNZERVER_PORT?
}
