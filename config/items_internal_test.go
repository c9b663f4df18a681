package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestConfigItemTable: every resolvable item is bound to exactly one Config
// field of its kind's type, every Config field of a value is bound, and the
// table's entries are consistent (defaults within ranges and choices,
// variables named after the prefix, command-line-only options without
// variables).
func TestConfigItemTable(t *testing.T) {
	t.Parallel()
	var c Config
	fields := c.fields()
	items := resolvable()
	if len(fields) != len(items) {
		t.Fatalf("%d bound fields for %d items", len(fields), len(items))
	}
	bound := map[uintptr]string{}
	for _, it := range items {
		f, ok := fields[it.Name]
		if !ok {
			t.Errorf("%s: no field", it.Name)
			continue
		}
		ptr := reflect.ValueOf(f).Pointer()
		if other, dup := bound[ptr]; dup {
			t.Errorf("%s and %s share a field", it.Name, other)
		}
		bound[ptr] = it.Name
		switch f.(type) {
		case *int:
			if it.Kind != Int {
				t.Errorf("%s: int field for kind %v", it.Name, it.Kind)
			}
			if it.Max < it.Min || it.Max == 0 {
				t.Errorf("%s: range %d-%d", it.Name, it.Min, it.Max)
			}
		case *bool:
			if it.Kind != Bool {
				t.Errorf("%s: bool field for kind %v", it.Name, it.Kind)
			}
		case *string:
			if it.Kind == Int || it.Kind == Bool {
				t.Errorf("%s: string field for kind %v", it.Name, it.Kind)
			}
		}
		if it.Kind == Enum && !strings.Contains(strings.Join(it.Choices, "|"), it.Default) {
			t.Errorf("%s: default %q not among %v", it.Name, it.Default, it.Choices)
		}
		if it.Kind == URL && len(it.Schemes) == 0 {
			t.Errorf("%s: URL without schemes", it.Name)
		}
		if len(it.Env) == 0 || it.Help == "" || it.Flag == "" {
			t.Errorf("%s: no variable, flag or help", it.Name)
		}
		for _, e := range it.Env {
			if e != "PORT" && !strings.HasPrefix(e, envPrefix) {
				t.Errorf("%s: variable %s", it.Name, e)
			}
		}
	}
	// Every settable Config field is bound to an item, but for the admin
	// credentials, the env file and the provenance.
	rt := reflect.TypeOf(c)
	for i := 0; i < rt.NumField(); i++ {
		fv := reflect.ValueOf(&c).Elem().Field(i)
		switch rt.Field(i).Name {
		case "AdminEmail", "AdminPassword", "EnvFile", "Provenance":
			continue
		}
		if _, ok := bound[fv.Addr().Pointer()]; !ok {
			t.Errorf("field %s is bound to no item", rt.Field(i).Name)
		}
	}
	var cli []string
	for _, it := range Items() {
		if it.CommandLineOnly {
			cli = append(cli, it.Name)
			if len(it.Env) != 0 {
				t.Errorf("%s: command-line-only with variables", it.Name)
			}
		}
	}
	if strings.Join(cli, " ") != "envfile confvars autosetup" {
		t.Errorf("command-line-only options %v", cli)
	}
}

// TestConfigIgnoredNamesAreNotItems: no variable is both used and ignored.
func TestConfigIgnoredNamesAreNotItems(t *testing.T) {
	t.Parallel()
	known := map[string]bool{}
	for _, n := range knownNames() {
		known[n] = true
	}
	for n := range referenceOnly() {
		if known[n] {
			t.Errorf("%s is both used and ignored", n)
		}
	}
}
