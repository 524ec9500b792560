// Package cli is the command line of Aragora: every verb of the aragora
// binary (debate, serve, migrate, backup, users, token, nomic, ...). The
// binary (cmd/aragora) is a few lines calling [Main]; a program of your own
// that registers extra agent providers with registry.Register and then calls
// [Main] or [Run] is the same CLI with those providers added
// (docs/cli.md#building-your-own-binary).
package cli

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

// Version is the release version of this package, without the leading
// "v": what `aragora version` prints and the service reports unless
// [Options.Version] says otherwise.
const Version = "0.8.0"

// Options configure one run of the CLI. The zero value is the prebuilt
// binary's behaviour with this package's [Version].
//
// There is no field for agent providers: register them with
// registry.Register before calling [Main] or [Run], so that every command
// (debate, serve, nomic, the agent listings) sees the same set.
type Options struct {
	// Version is the version printed by `aragora version` and reported by
	// the service; empty means [Version].
	Version string
	// Commit is the source commit (its first 7 characters are shown);
	// empty means the vcs.revision of the build info, else "unknown".
	Commit string
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
}

func (o Options) withDefaults() Options {
	if o.Version == "" {
		o.Version = Version
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	return o
}

type optionsKey struct{}

// optionsFrom returns the Options of the run whose context is ctx.
func optionsFrom(ctx context.Context) Options {
	if o, ok := ctx.Value(optionsKey{}).(Options); ok {
		return o
	}
	return Options{}.withDefaults()
}

// Main runs the CLI on the process's arguments, standard streams and
// environment and exits with its code (docs/cli.md#exit-codes). Call it
// from func main after registering your providers.
func Main(opts Options) {
	// SIGUSR1 and SIGHUP must never kill an aragora process (docs/operations.md#stop-drain-and-restart);
	// subcommands that act on them register their own handlers.
	signal.Ignore(syscall.SIGUSR1, syscall.SIGHUP)
	os.Exit(Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, opts))
}

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

// env abstracts os.Getenv for tests.
type env func(string) string

// run is [Run] with only the environment set, as the tests call it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv env) int {
	return Run(ctx, args, stdin, stdout, stderr, Options{Getenv: getenv})
}

// Run runs the CLI with args (without the program name) and returns the
// process exit code (docs/cli.md#exit-codes); errors are printed on stderr.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, opts Options) int {
	opts = opts.withDefaults()
	ctx = context.WithValue(ctx, optionsKey{}, opts)
	root := newRootCmd(stdin, stdout, stderr, opts.Getenv)
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

// commit is the short source commit of the build.
func (o Options) commit() string {
	if len(o.Commit) >= 7 {
		return o.Commit[:7]
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

// noArgsCmd is a command that takes no positional argument and runs run.
func noArgsCmd(use, short string, run func(cmd *cobra.Command) error) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd) }}
}

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := noArgsCmd("version", "Print the version", func(cmd *cobra.Command) error {
		w := cmd.OutOrStdout()
		o := optionsFrom(cmd.Context())
		if asJSON {
			fmt.Fprintf(w, "{\"version\":%q,\"commit\":%q,\"go_version\":%q,\"platform\":\"%s/%s\"}\n",
				o.Version, o.commit(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		}
		fmt.Fprintf(w, "aragora %s (commit %s, %s, %s/%s)\n", o.Version, o.commit(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return nil
	})
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
