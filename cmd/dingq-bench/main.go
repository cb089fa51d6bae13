// Command dingq-bench measures dingq end to end and prints one markdown table: each scenario is
// run against real `dingq serve` processes and, in the same run, against a bare-loop ceiling (pull
// from the same consumer, one HTTP POST, ack; no validation, retries or logging), and reported as
// the ratio of the two, because absolute numbers on shared machines drift from run to run.
//
// It needs no DingTalk account and no Docker: it builds dingq and nats-server from this module,
// runs NATS as its own process (so a worker's memory excludes it), and serves the DingTalk
// sandbox in its own process with a per-scenario latency and failure rate. `make bench` runs it.
//
//	go run ./cmd/dingq-bench [-scenarios overhead,latency,...] [-runs 3] [-scale 0.1] [-out bench.md]
//
// The table goes to stdout, progress to stderr. `dingq-bench ceiling ...` is the ceiling itself,
// which the harness starts as a child process.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// options are the command line of a benchmark run.
type options struct {
	scenarios []string
	scale     float64
	runs      int // repetitions of the scenarios that repeat (see scenario.repeat)
	out       string
	profile   string // directory for a CPU profile of the overhead scenario's worker; "" for none
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == ceilingCommand {
		os.Exit(ceilingMain(os.Args[2:]))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run parses args, runs the scenarios and prints the table; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "dingq-bench: %v\n", err)
		return 2
	}
	start := time.Now()
	report, err := runBench(ctx, opts, newProgress(stderr))
	if err != nil {
		fmt.Fprintf(stderr, "dingq-bench: %v\n", err)
		return 1
	}
	report.took = time.Since(start)
	text := report.markdown()
	fmt.Fprint(stdout, text)
	if opts.out != "" {
		if err := os.WriteFile(opts.out, []byte(text), 0o644); err != nil {
			fmt.Fprintf(stderr, "dingq-bench: %v\n", err)
			return 1
		}
	}
	return 0
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("dingq-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	names := fs.String("scenarios", strings.Join(defaultScenarios, ","),
		"comma-separated scenarios to run, of: "+strings.Join(allScenarios, ", "))
	scale := fs.Float64("scale", 1, "multiplies every job count and the half-load duration; 0.1 for a quick run")
	runs := fs.Int("runs", 3, "how many times the scenarios with a target ratio run (overhead and its variants, latency); the table gives the least, median and most")
	out := fs.String("out", "", "also write the table to this markdown file")
	profile := fs.String("profile", "", "save a 10 s CPU profile of the worker during the overhead scenario in this directory")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *runs < 1 || *runs > 20 {
		return options{}, fmt.Errorf("-runs %d: want 1 to 20", *runs)
	}
	if !(*scale > 0 && *scale <= 10) {
		return options{}, fmt.Errorf("-scale %v: want a number in (0, 10]", *scale)
	}
	var chosen []string
	for n := range strings.SplitSeq(*names, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if !slices.Contains(allScenarios, n) {
			return options{}, fmt.Errorf("-scenarios: unknown scenario %q (want %s)", n, strings.Join(allScenarios, ", "))
		}
		chosen = append(chosen, n)
	}
	if len(chosen) == 0 {
		return options{}, errors.New("-scenarios: none given")
	}
	return options{scenarios: chosen, scale: *scale, runs: *runs, out: *out, profile: *profile}, nil
}
