// Command authnzrv is the authnzrv server and its administration tools: one
// binary that serves the authnzerver protocol (the default command), sets up
// a base directory, migrates the database and works with policies.
//
// Exit codes: 0 when the command did what it was asked, 1 when it failed,
// 2 when it was called wrongly (unknown command or flag, wrong number of
// arguments), with a suggestion when one is close.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The libraries whose loggers are process-wide log through one
	// forwarder, set here once; the server points it at its own logger
	// (liblog.go says why a process-wide setting is acceptable).
	libs := newLibraryLogs(os.Stderr)
	libs.install()
	code := run(withLibraryLogs(ctx, libs), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit code; an error
// is printed to stderr as one line.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "authnzrv:", oneLine(err))
	return exitCode(err)
}

// exitCode is the exit code for a command's error.
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errUsage):
		return exitUsage
	default:
		return exitFailed
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
		RunE:          runServe,
	}
	registerServeFlags(root)
	root.AddCommand(newConfigCmd(), newMigrateCmd(), newKeygenCmd(), newVersionCmd(), newPolicyCmd(), newUserCmd(), newHashersCmd(), newImportCmd(), newBenchCmd(), newHealthcheckCmd())
	strictUsage(root)
	return root
}
