package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/agnivade/levenshtein"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/authnzrv/authnzrv/config"
)

// usageError is an error in how a command was called: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// Unwrap makes errors.Is(err, errUsage) hold.
func (e *usageError) Unwrap() error { return errUsage }

// usagef makes a usage error that points at the command's help.
func usagef(c *cobra.Command, format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...) + fmt.Sprintf(" (see '%s --help')", c.CommandPath())}
}

// serverPointer ends the help of every command that accepts the server's
// settings without listing them.
const serverPointer = "\nServer settings (--authdb, --secret, …): see `authnzrv --help`; they are accepted here too.\n"

// strictUsage makes the command tree under root strict about how it is
// called: an unknown command, an unknown flag or a wrong number of
// arguments is a usage error (exit 2) with the closest names suggested, and
// a command group without its sub-command is one too. It also hides the
// server's settings from every sub-command's help (they stay accepted) and
// points at `authnzrv --help` for them instead.
func strictUsage(root *cobra.Command) {
	// cobra adds these two when it executes; add them now to walk them too.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	root.SetFlagErrorFunc(flagError)
	base := root.UsageFunc()
	server := serverFlagUsages()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() {
			c.SuggestionsMinimumDistance = 2
			c.Args = subcommandArgs
			if !c.Runnable() {
				c.RunE = missingSubcommand
			}
		} else {
			c.Args = countedArgs(c.Args)
		}
		if c.HasParent() && hideServerFlags(c, server) {
			c.SetUsageFunc(func(c *cobra.Command) error {
				if err := base(c); err != nil {
					return err
				}
				_, err := fmt.Fprint(c.OutOrStderr(), serverPointer)
				return err
			})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, c := range root.Commands() {
		if c.Name() == "help" && c.Run != nil {
			strictHelp(root, c)
		}
	}
}

// strictHelp makes `authnzrv help TOPIC` a usage error, with suggestions,
// when TOPIC is not a command (cobra prints the root's help and exits 0).
func strictHelp(root, help *cobra.Command) {
	show := help.Run
	help.Run = nil
	help.RunE = func(c *cobra.Command, args []string) error {
		target, rest, err := root.Find(args)
		if err == nil && len(rest) > 0 {
			return subcommandArgs(target, rest)
		}
		show(c, args)
		return nil
	}
}

// serverFlagUsages maps each flag config.RegisterFlags adds (but --envfile,
// which a command's own help keeps) to its usage text.
func serverFlagUsages() map[string]string {
	fs := pflag.NewFlagSet("server", pflag.ContinueOnError)
	config.RegisterFlags(fs)
	m := map[string]string{}
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name != "envfile" {
			m[f.Name] = f.Usage
		}
	})
	return m
}

// hideServerFlags hides c's server settings (flags with the name and usage
// config.RegisterFlags gives them) and reports whether it had any; a
// command's own flag of the same name (bench --secret) stays visible.
func hideServerFlags(c *cobra.Command, server map[string]string) bool {
	hid := false
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if u, ok := server[f.Name]; ok && u == f.Usage {
			f.Hidden = true
			hid = true
		}
	})
	return hid
}

// subcommandArgs refuses arguments to a command group or the root: they
// are mistyped sub-commands.
func subcommandArgs(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + quoteJoin(s) + "?"
	}
	return usagef(c, "%s", msg)
}

// missingSubcommand is the action of a command group called alone.
func missingSubcommand(c *cobra.Command, _ []string) error {
	var names []string
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	return usagef(c, "%s needs a sub-command: %s", c.CommandPath(), strings.Join(names, ", "))
}

// countedArgs makes a leaf command's argument check a usage error naming
// the command's usage line.
func countedArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	if check == nil {
		check = cobra.ArbitraryArgs
	}
	return func(c *cobra.Command, args []string) error {
		if err := check(c, args); err != nil {
			return usagef(c, "%s: %v; usage: %s", c.CommandPath(), err, c.UseLine())
		}
		return nil
	}
}

// flagError makes a flag parsing error a usage error, suggesting the
// closest flag of the command for an unknown one.
func flagError(c *cobra.Command, err error) error {
	msg := err.Error()
	var ne *pflag.NotExistError
	if errors.As(err, &ne) && ne.GetSpecifiedShortnames() == "" {
		if s := suggestFlag(c, ne.GetSpecifiedName()); s != "" {
			msg += "; did you mean --" + s + "?"
		}
	}
	if c.HasParent() {
		msg = c.CommandPath() + ": " + msg
	}
	return usagef(c, "%s", msg)
}

// suggestFlag returns the flag of c (hidden ones included: they are
// accepted) closest to typed, or "" when none is close: within an edit
// distance of 2, or starting with what was typed (at least 3 characters).
func suggestFlag(c *cobra.Command, typed string) string {
	best, bestD := "", -1
	c.Flags().VisitAll(func(f *pflag.Flag) {
		d := levenshtein.ComputeDistance(typed, f.Name)
		if d > 2 && !(len(typed) >= 3 && strings.HasPrefix(f.Name, typed)) {
			return
		}
		if bestD < 0 || d < bestD {
			best, bestD = f.Name, d
		}
	})
	return best
}

// quoteJoin quotes names and joins them with " or ".
func quoteJoin(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, " or ")
}
