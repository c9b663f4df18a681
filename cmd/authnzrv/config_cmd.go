package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/authnzrv/authnzrv/config"
	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/identity/validate"
)

// environKey is the context key of a stand-in process environment.
type environKey struct{}

// withEnviron returns ctx carrying environ (KEY=VALUE strings), which
// loadConfig then reads instead of the process environment: tests run
// commands in parallel with their own environments this way.
func withEnviron(ctx context.Context, environ []string) context.Context {
	return context.WithValue(ctx, environKey{}, environ)
}

// environFrom returns the environment ctx carries, or the process's.
func environFrom(ctx context.Context) []string {
	if ctx != nil {
		if e, ok := ctx.Value(environKey{}).([]string); ok {
			return e
		}
	}
	return os.Environ()
}

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "check or show the configuration without serving",
		Long: `Resolve the configuration as the server does: an explicit flag beats the
environment, which beats the env file (--envfile), which beats the default.`,
		Args: cobra.NoArgs,
	}
	check := &cobra.Command{
		Use:   "check",
		Short: `load and validate the configuration; print "configuration ok" or the error (exit 1)`,
		Long: `Load and validate the configuration as the server's start does, without opening
the database or listening: the settings, the password policy and Argon2
parameters, the permissions model and policies (compiled and tested, with
every role the server assigns), the rate limits, the Hawk senders file and
the social login providers file. Prints "configuration ok" (exit 0) or the one-line
error (exit 1); notes about disagreeing sources and ignored or unknown
variables go to standard error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := checkConfig(cmd)
			if err != nil {
				return err
			}
			printNotes(cmd.ErrOrStderr(), cfg)
			fmt.Fprintln(cmd.OutOrStdout(), "configuration ok")
			return nil
		},
	}
	config.RegisterFlags(check.Flags())
	show := &cobra.Command{
		Use:   "show",
		Short: "print every item's effective value and source, secrets redacted",
		Long: `Print every configuration item with its effective value and where it came
from (flag, env VARIABLE, envfile PATH or default), then the sources that
disagreed and the variables that were ignored or are unknown. The secret, the
PII salt, the SMTP password and any password in a URL are redacted. The
configuration is loaded, not validated: use 'config check' for that.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			asJSON, _ := cmd.Flags().GetBool("json")
			if asJSON {
				return writeShowJSON(cmd.OutOrStdout(), cfg)
			}
			return writeShowText(cmd.OutOrStdout(), cfg)
		},
	}
	config.RegisterFlags(show.Flags())
	show.Flags().Bool("json", false, "print JSON instead of a table")
	cmd.AddCommand(check, show)
	return cmd
}

// checkConfig loads and validates the configuration as far as the server's
// start does before it opens the database.
func checkConfig(cmd *cobra.Command) (*config.Config, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if _, err := validate.ParsePolicy(cfg.PassPolicy); err != nil {
		return nil, fmt.Errorf("passpolicy: %w", err)
	}
	if _, err := parseArgon2Params(cfg.Argon2Params); err != nil {
		return nil, err
	}
	rates, err := config.ParseRateLimits(cfg.RateLimits)
	if err != nil {
		return nil, err
	}
	quiet := slog.New(slog.DiscardHandler)
	bergson, err := newBergsonSetup(cfg, quiet)
	if err != nil {
		return nil, err
	}
	if _, err := loadSocialProviders(cfg, quiet); err != nil {
		return nil, err
	}
	gate := &modelGate{}
	if _, err := engine.New(cmd.Context(), engine.Options{PolicyDir: cfg.Policies, ModelFile: cfg.Permissions, RateLimits: rates,
		HawkSenders: bergson.engineSenders(), Admit: gate.admit}); err != nil {
		return nil, fmt.Errorf("policies: %w", err)
	}
	return cfg, nil
}

// printNotes writes the configuration's notes, one a line.
func printNotes(w io.Writer, cfg *config.Config) {
	for _, n := range cfg.Provenance.Notes() {
		word := "note"
		if n.Level >= slog.LevelWarn {
			word = "warning"
		}
		fmt.Fprintf(w, "%s: %s\n", word, n.Text)
	}
}

// writeShowText prints the items as a table, then the notes.
func writeShowText(w io.Writer, cfg *config.Config) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ITEM\tVALUE\tSOURCE")
	for _, v := range cfg.Provenance.Values {
		val := v.Display()
		if val == "" {
			val = `""`
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Item, val, v.Origin())
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("config show: %w", err)
	}
	printNotes(w, cfg)
	return nil
}

// shownItem is one item in `config show --json`.
type shownItem struct {
	Item     string `json:"item"`
	Value    string `json:"value"`
	Source   string `json:"source"`
	Variable string `json:"variable,omitempty"`
	Blank    bool   `json:"blank,omitempty"`
	File     string `json:"file,omitempty"`
	Secret   bool   `json:"secret,omitempty"`
}

// shownVariable is an ignored or unknown variable in `config show --json`.
type shownVariable struct {
	Name       string `json:"name"`
	Source     string `json:"source"`
	Reason     string `json:"reason,omitempty"`
	Suggestion string `json:"suggestion,omitempty"`
}

// shown is the document `config show --json` prints.
type shown struct {
	EnvFile       string          `json:"envfile,omitempty"`
	Items         []shownItem     `json:"items"`
	Disagreements []string        `json:"disagreements"`
	Ignored       []shownVariable `json:"ignored"`
	Unknown       []shownVariable `json:"unknown"`
}

// writeShowJSON prints the items and notes as one JSON document.
func writeShowJSON(w io.Writer, cfg *config.Config) error {
	p := cfg.Provenance
	doc := shown{EnvFile: p.EnvFile, Items: []shownItem{}, Disagreements: []string{}, Ignored: []shownVariable{}, Unknown: []shownVariable{}}
	for _, v := range p.Values {
		it := shownItem{Item: v.Item, Value: v.Display(), Source: v.Source.String(), File: v.File, Secret: v.Secret,
			Blank: v.Source.Kind != config.FromDefault && v.Given == ""}
		if v.Source.Kind == config.FromEnv || v.Source.Kind == config.FromEnvFile {
			it.Variable = v.Source.Name
		}
		doc.Items = append(doc.Items, it)
	}
	for _, d := range p.Disagreements {
		doc.Disagreements = append(doc.Disagreements, d.String())
	}
	conv := func(vs []config.Variable) []shownVariable {
		out := []shownVariable{}
		for _, v := range vs {
			src := "env"
			switch v.Source.Kind {
			case config.FromEnvFile:
				src = v.Source.String()
			case config.FromFlag:
				src = "flag"
			}
			out = append(out, shownVariable{Name: v.Name, Source: src, Reason: v.Reason, Suggestion: v.Suggestion})
		}
		return out
	}
	doc.Ignored, doc.Unknown = conv(p.Ignored), conv(p.Unknown)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("config show: %w", err)
	}
	return nil
}
