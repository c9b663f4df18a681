// Command authnzrv is the authnzrv server and its administration tools: one
// binary that serves the authnzerver protocol (the default command), sets up
// a base directory, migrates the database and works with policies.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "authnzrv:", oneLine(err))
		os.Exit(1)
	}
}

// oneLine keeps an error to a single line for the terminal.
func oneLine(err error) string {
	var b []rune
	for _, r := range err.Error() {
		if r == '\n' {
			r = ' '
		}
		b = append(b, r)
	}
	return string(b)
}

// errUsage marks errors caused by how the command was called.
var errUsage = errors.New("usage")

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "authnzrv",
		Short: "authnzrv: the authnzerver-compatible authentication and authorization server",
		Long: `authnzrv serves the authnzerver protocol: Fernet-encrypted requests on POST /,
GET /health, and POST /echo in debug mode. Without a sub-command it serves.
Every flag can also be given as an AUTHNZERVER_* environment variable or in an
env file; a flag given on the command line wins over the environment, which
wins over the env file, which wins over the default (see README.md).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE:          runServe,
	}
	registerServeFlags(root)
	root.AddCommand(newConfigCmd(), newMigrateCmd(), newKeygenCmd(), newVersionCmd(), newPolicyCmd(), newUserCmd(), newHashersCmd(), newImportCmd(), newBenchCmd())
	return root
}
