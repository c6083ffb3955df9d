// Command inboxq runs inboxq: the HTTP API with its workers (serve), workers
// alone (worker), migrations (migrate) and the OpenAPI document (openapi).
// It is the only place that wires packages together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "inboxq:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// errUsage marks a command line that does not parse; main exits 2 for it.
var errUsage = errors.New("usage")

const usage = `inboxq: background processing for an AI email app on Gmail

Usage:
  inboxq <command> [flags]

Commands:
  serve     run the HTTP API, the dashboard and the workers in one process
  worker    run workers only (scale out against the same database)
  migrate   apply database migrations ("migrate status" lists them)
  openapi   print the OpenAPI 3.1 document (needs no database)
  token     create, list and revoke API tokens
  restore   bring a user's accounts and messages back from an export or backup
  classify  classify raw email files with the built-in model (needs no database)
  version   print the version

Run "inboxq <command> --help" for a command's flags. Configuration comes
from the environment; see the README.
`

// run is the whole program, so tests can drive it end to end.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return runWith(ctx, args, getenv, stdout, options{})
}

// options are hooks for tests; the command line never sets them.
type options struct {
	wiring wiringOptions
	// stdin and stderr default to the process's own.
	stdin  io.Reader
	stderr io.Writer
}

func runWith(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, opts options) error {
	if len(args) < 2 {
		fmt.Fprint(stdout, usage)
		return fmt.Errorf("%w: no command given", errUsage)
	}
	cmd, rest := args[1], args[2:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, getenv, stdout, opts.wiring)
	case "worker":
		return cmdWorker(ctx, rest, getenv, stdout, opts.wiring)
	case "migrate":
		return cmdMigrate(ctx, rest, getenv, stdout)
	case "openapi":
		return cmdOpenAPI(rest, stdout)
	case "token":
		return cmdToken(ctx, rest, getenv, stdout)
	case "restore":
		return cmdRestore(ctx, rest, getenv, stdout)
	case "classify":
		stdin, stderr := opts.stdin, opts.stderr
		if stdin == nil {
			stdin = os.Stdin
		}
		if stderr == nil {
			stderr = os.Stderr
		}
		return cmdClassify(rest, stdin, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "inboxq", version())
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stdout, usage)
		return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
}

// parseFlags parses a subcommand's flags; --help prints them and reports
// errHelp so the caller returns cleanly.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer, summary string) error {
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: inboxq %s\n\n%s\n", fs.Name(), summary)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(stdout, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	return nil
}

var errHelp = errors.New("help shown")

// version is the module version the build stamped: a release tag, or since
// Go 1.24 a pseudo-version from the VCS commit for `go build` in a
// checkout. Builds without one (`go run`, tests) say "dev", never Go's
// "(devel)", so the committed web/openapi.json stays the same across commits.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
