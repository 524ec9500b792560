// Command aragora is the reference binary of the Aragora debate engine: it
// runs debates from the command line (aragora debate) and serves the HTTP
// API and WebSocket stream (aragora serve).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Version is the release version, without the leading "v". Release builds
// set it with -ldflags "-X main.Version=…" (see the Dockerfile).
var Version = "0.8.0"

// buildCommit is the source commit, set with -ldflags "-X
// main.buildCommit=…" where the build has no VCS information (a container
// build without .git); otherwise the commit comes from the build info.
var buildCommit string

// Exit codes (docs/cli.md).
const (
	exitOK        = 0
	exitFailure   = 1
	exitUsage     = 2
	exitInterrupt = 130
)

// exitError carries a process exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// usageErr marks err as a usage or configuration error (exit 2).
func usageErr(err error) error { return &exitError{code: exitUsage, err: err} }

func main() {
	// SIGUSR1 and SIGHUP must never kill an aragora process (docs/operations.md#stop-drain-and-restart);
	// subcommands that act on them register their own handlers.
	signal.Ignore(syscall.SIGUSR1, syscall.SIGHUP)
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// env abstracts os.Getenv for tests.
type env func(string) string

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv env) int {
	root := newRootCmd(stdin, stdout, stderr, getenv)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			printErr(stderr, ee.err)
		}
		return ee.code
	}
	// cobra's own flag and argument errors are usage errors.
	printErr(stderr, err)
	return exitUsage
}

// printErr prints err after one "aragora:" prefix (an error that already
// starts with it is not prefixed twice).
func printErr(w io.Writer, err error) {
	fmt.Fprintln(w, "aragora:", strings.TrimPrefix(err.Error(), "aragora: "))
}

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer, getenv env) *cobra.Command {
	root := &cobra.Command{
		Use:           "aragora",
		Short:         "Multi-agent debate engine and service",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	root.AddCommand(newVersionCmd(), newDebateCmd(getenv))
	for _, c := range extraCommands(getenv) {
		root.AddCommand(c)
	}
	return root
}

func commit() string {
	if len(buildCommit) >= 7 {
		return buildCommit[:7]
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 7 {
				return s.Value[:7]
			}
		}
	}
	return "unknown"
}

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			if asJSON {
				fmt.Fprintf(w, "{\"version\":%q,\"commit\":%q,\"go_version\":%q,\"platform\":\"%s/%s\"}\n",
					Version, commit(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
				return nil
			}
			fmt.Fprintf(w, "aragora %s (commit %s, %s, %s/%s)\n", Version, commit(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
