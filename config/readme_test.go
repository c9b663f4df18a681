package config_test

import (
	"bytes"
	"os"
	"os/user"
	"strconv"
	"strings"
	"testing"

	"github.com/authnzrv/authnzrv/config"
)

// The README's flag table is generated from the configuration items
// (items.go) between these markers, so that it lists every flag with its
// variables, value, default and meaning, and cannot drift from the code.
const (
	tableBegin = "<!-- BEGIN flag table: generated from config/items.go by config/readme_test.go; " +
		"regenerate with AUTHNZRV_UPDATE_GOLDEN=1 go test ./config/ -->"
	tableEnd = "<!-- END flag table -->"
	readme   = "../README.md"
)

// cell escapes a table cell's text for GitHub's Markdown tables.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// code is s as inline code in a table cell.
func code(s string) string { return "`" + cell(s) + "`" }

// flagTable renders the table of every item and command-line option.
func flagTable(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("| flag | environment | value | default | meaning |\n|---|---|---|---|---|\n")
	for _, it := range config.Items() {
		env := "command line only"
		if len(it.Env) > 0 {
			names := make([]string, len(it.Env))
			for i, e := range it.Env {
				names[i] = code(e)
			}
			env = strings.Join(names, ", then ")
		}
		value := it.Kind.String()
		switch it.Kind {
		case config.Bool:
			value = "bool"
		case config.Enum:
			value = code(strings.Join(it.Choices, "|"))
		case config.Int:
			value = "int"
			if it.Max > it.Min {
				value = cell("int, " + strconv.Itoa(it.Min) + "–" + strconv.Itoa(it.Max))
			}
		case config.URL:
			value = "URL (" + strings.Join(it.Schemes, ", ") + ")"
		}
		def := code(it.Default)
		switch {
		case it.Required:
			def = "required"
		case it.Name == "basedir":
			def = "the current directory"
		case it.Name == "emailuser":
			def = "the OS user's name"
		case it.Default == "":
			def = "empty"
		}
		meaning := cell(it.Help)
		if it.Secret {
			meaning += " (secret: redacted in logs and `config show`)"
		}
		if it.Extra {
			meaning += " (authnzrv only)"
		}
		b.WriteString("| " + code("--"+it.Flag) + " | " + env + " | " + value + " | " + def + " | " + meaning + " |\n")
	}
	return b.String()
}

// TestREADMEFlagTableIsCurrent (issue 16 item 9): the README's flag table
// is the one generated from the items, every flag included; with
// AUTHNZRV_UPDATE_GOLDEN=1 it rewrites the table between the markers. The
// two defaults that depend on the machine are shown in words, and the test
// checks they still are what the words say.
func TestREADMEFlagTableIsCurrent(t *testing.T) {
	cwd, _ := os.Getwd()
	u, _ := user.Current()
	for _, it := range config.Items() {
		if it.Name == "basedir" && it.Default != cwd {
			t.Errorf("basedir's default is %q, not the current directory: update flagTable", it.Default)
		}
		if it.Name == "emailuser" && u != nil && u.Username != "" && it.Default != u.Username {
			t.Errorf("emailuser's default is %q, not the OS user: update flagTable", it.Default)
		}
	}
	raw, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	begin, end := bytes.Index(raw, []byte(tableBegin)), bytes.Index(raw, []byte(tableEnd))
	if begin < 0 || end < begin {
		t.Fatalf("README.md has no flag table markers:\n%s\n%s", tableBegin, tableEnd)
	}
	want := flagTable(t)
	got := string(raw[begin+len(tableBegin) : end])
	if strings.Trim(got, "\n") == strings.Trim(want, "\n") {
		return
	}
	if os.Getenv("AUTHNZRV_UPDATE_GOLDEN") == "1" {
		out := string(raw[:begin+len(tableBegin)]) + "\n" + want + string(raw[end:])
		if err := os.WriteFile(readme, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("README.md's flag table rewritten")
		return
	}
	t.Errorf("README.md's flag table is stale: regenerate with AUTHNZRV_UPDATE_GOLDEN=1 go test ./config/ -run TestREADMEFlagTableIsCurrent")
	for _, it := range config.Items() {
		if !strings.Contains(got, "`--"+it.Flag+"`") {
			t.Errorf("missing: --%s", it.Flag)
		}
	}
}
