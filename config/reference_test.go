package config_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authnzrv/authnzrv/config"
)

// referenceFixture is one entry of testdata/reference_env.json.
type referenceFixture struct {
	Name      string            `json:"name"`
	Dir       string            `json:"dir"`
	Prefix    string            `json:"prefix"`
	Values    map[string]string `json:"values"`
	FromFiles map[string]string `json:"from_files"`
}

// TestReferenceEnvFiles: the .env files the reference's own autosetup wrote
// load with --envfile and give the values the reference resolves from them:
// as written (their base directory does not exist here, so the secret and
// salt stay the paths, as in the reference), and moved to a directory that
// holds the secret files (then read from them, and the result validates).
func TestReferenceEnvFiles(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "reference_env.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Fixtures []referenceFixture `json:"fixtures"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Fixtures) != 2 {
		t.Fatalf("%d fixtures, want sqlite and postgres", len(doc.Fixtures))
	}
	for _, fx := range doc.Fixtures {
		t.Run(fx.Name+" as written", func(t *testing.T) {
			t.Parallel()
			if _, err := os.Stat(fx.Prefix); err == nil {
				t.Skipf("%s exists on this machine; the as-written case needs it absent", fx.Prefix)
			}
			envFile := filepath.Join(fx.Dir, ".env")
			c, err := load(t, []string{"--envfile=" + envFile}, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkReference(t, c, fx, fx.Prefix, envFile, nil)
		})
		t.Run(fx.Name+" moved", func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for _, name := range []string{".authnzerver-secret-key", ".authnzerver-salt", "default-permissions-model.json"} {
				b, err := os.ReadFile(filepath.Join(fx.Dir, name))
				if err != nil {
					t.Fatal(err)
				}
				writeFile(t, dir, name, string(b))
			}
			env, err := os.ReadFile(filepath.Join(fx.Dir, ".env"))
			if err != nil {
				t.Fatal(err)
			}
			envFile := writeFile(t, dir, ".env", strings.ReplaceAll(string(env), fx.Prefix, dir))
			c, err := load(t, []string{"--envfile=" + envFile}, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkReference(t, c, fx, dir, envFile, fx.FromFiles)
			if err := c.Validate(); err != nil {
				t.Fatalf("validate: %v", err)
			}
		})
	}
}

// checkReference compares a loaded configuration with a fixture's values.
func checkReference(t *testing.T, c *config.Config, fx referenceFixture, dir, envFile string, fromFiles map[string]string) {
	t.Helper()
	if len(fx.Values) != 22 {
		t.Fatalf("fixture lists %d items, want the reference's 22", len(fx.Values))
	}
	for item, want := range fx.Values {
		want = strings.ReplaceAll(want, "[[dir]]", dir)
		if v, ok := fromFiles[item]; ok {
			want = v
		}
		got, ok := c.Provenance.Lookup(item)
		if !ok {
			t.Errorf("%s: not loaded", item)
			continue
		}
		if got.Value != want {
			t.Errorf("%s = %q, want %q", item, got.Value, want)
		}
		if got.Source.Kind != config.FromEnvFile || got.Source.Path != envFile {
			t.Errorf("%s from %s, want envfile %s", item, got.Source.Detail(), envFile)
		}
	}
	if p := c.Provenance; len(p.Disagreements) != 0 || len(p.Ignored) != 0 || len(p.Unknown) != 0 {
		t.Errorf("notes on the reference's own file: %+v %+v %+v", p.Disagreements, p.Ignored, p.Unknown)
	}
}
