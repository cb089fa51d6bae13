// Command dingq delivers DingTalk send-jobs from NATS JetStream: `dingq serve` runs a worker pool,
// `dingq send` publishes jobs, `dingq dlq` inspects and replays dead letters, `dingq status`
// tells where a job is, `dingq sandbox` serves a local stand-in for DingTalk.
//
// Every setting is a flag, a DINGQ_* environment variable and a key of the --config file; run
// `dingq <command> -h` for the list.
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

	"github.com/dingq/dingq/cmd/internal/natsconn"
)

const usage = `dingq delivers DingTalk send-jobs from NATS JetStream.

Usage:
  dingq serve   [flags]                  run a worker pool (the main job)
  dingq send    [flags] <kind> [file|-]  publish jobs: card, crossdomain or robot; one JSON job,
                                         or one per line; stdin when no file is given
  dingq dlq     list|show|replay|purge   inspect, replay and remove dead letters
  dingq status  [flags] <job-id>         where a job is: sent, dead (and why) or pending
  dingq console [flags]                  serve the operations console, a web UI
  dingq sandbox [flags]                  serve a local stand-in for the DingTalk APIs
  dingq version                          print the version, commit and Go version

Every flag is also an environment variable (--nats-url is DINGQ_NATS_URL) and a key of the
YAML file named by --config (nats-url: ...); a flag wins over its variable, the variable over
the file. Run 'dingq <command> -h' for a command's flags.
`

// stdio is where a command reads and writes.
type stdio struct {
	in       io.Reader
	out, err io.Writer
	getenv   func(string) string
	environ  func() []string // the whole environment, for the named profiles; nil: none
}

// environment is s.environ(), or nothing when it is nil.
func (s stdio) environment() []string {
	if s.environ == nil {
		return nil
	}
	return s.environ()
}

// defaultGCPercent replaces Go's default of 100 unless GOGC is set. A worker keeps a few MiB live
// and makes its garbage per job, so at 100 it collects many times a second; 200 trades a few MiB
// of heap for half of that collection work (make bench measures both).
const defaultGCPercent = 200

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr, getenv: os.Getenv, environ: os.Environ}))
}

// run executes one command and returns the process exit code: 0 on success, 2 for a usage or
// configuration mistake, 1 for any other failure.
func run(ctx context.Context, args []string, std stdio) int {
	if len(args) == 0 {
		fmt.Fprint(std.err, usage)
		return 2
	}
	commands := map[string]func(context.Context, []string, stdio) error{
		"serve":   serve,
		"send":    send,
		"sandbox": sandboxCmd,
		"dlq":     dlq,
		"status":  statusCmd,
		"console": consoleCmd,
		"version": versionCmd,
	}
	cmd, ok := commands[args[0]]
	if !ok {
		switch args[0] {
		case "-h", "--help", "help":
			fmt.Fprint(std.out, usage)
			return 0
		case "--version", "-version":
			fmt.Fprintln(std.out, versionLine())
			return 0
		}
		fmt.Fprintf(std.err, "dingq: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	err := cmd(ctx, args[1:], std)
	var ue usageError
	var se *natsconn.SettingsError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue), errors.As(err, &se):
		fmt.Fprintf(std.err, "dingq %s: %v\n", args[0], err)
		return 2
	}
	fmt.Fprintf(std.err, "dingq %s: %v\n", args[0], err)
	return 1
}

// usageError is a mistake in the command line or configuration: exit code 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// newFlagSet returns a flag set that reports its errors through the command's return value.
func newFlagSet(name string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("dingq "+name, flag.ContinueOnError)
	fs.SetOutput(w)
	return fs
}
