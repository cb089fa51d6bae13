package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/dingq/dingq/cmd/internal/config"
	"github.com/dingq/dingq/cmd/internal/natsconn"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/schema/producer"
)

// maxListedErrors caps how many invalid jobs `send` names before it stops listing.
const maxListedErrors = 10

const sendUsage = `Usage: dingq send [flags] <card|crossdomain|robot> [file|-]

Validate jobs and publish them to the job stream: one JSON job, or one per line (stdin when no
file is given), each with its job id as Nats-Msg-Id (--id, or derived from the body), so that a
job sent twice within the duplicate window is queued once. Nothing is published if any job is
invalid; a full job stream stops the run and names the lines not queued.

Examples:
  dingq send card job.json
  dingq send robot - < alerts.jsonl
  dingq send card job.json --app sales --id order-8812

Flags:
`

// send publishes jobs of one kind: one JSON job, or a stream of them (one per line, or simply one
// after another). Every job is validated first; if any is invalid, nothing is published.
func send(ctx context.Context, args []string, std stdio) error {
	cfg := config.Default()
	fs := newFlagSet("send", std.err)
	cfg.Register(fs)
	id := fs.String("id", "", "the job id, sent as Nats-Msg-Id (JetStream drops a second publish with the same id within its duplicate window); one job only")
	app := fs.String("app", "", "the app whose credentials the workers send with: publishes to <prefix>.send.<kind>.<app>, the app's job stream (default: the default app)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), sendUsage)
		fs.PrintDefaults()
	}
	pos, err := config.Parse(fs, args, std.getenv)
	if err != nil {
		return usageError{err}
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usageError{errors.New("want a kind and at most one file: dingq send <card|crossdomain|robot> [file|-]")}
	}
	kind, err := schema.ParseKind(pos[0])
	if err != nil {
		return usageError{err}
	}
	appName := strings.ToLower(*app)
	if appName == schema.DefaultApp {
		appName = ""
	}
	if appName != "" {
		if err := schema.ValidateApp(appName); err != nil {
			return usageError{fmt.Errorf("--app: %w", err)}
		}
	}
	input, name, err := openInput(pos[1:], std.in)
	if err != nil {
		return err
	}
	defer input.Close()

	jobs, err := producer.Read(input, kind)
	if err != nil {
		return fmt.Errorf("%s: nothing was published: %w", name, err)
	}
	if *id != "" && len(jobs) != 1 {
		return usageError{fmt.Errorf("--id names one job, but %s holds %d", name, len(jobs))}
	}

	nc, js, err := natsconn.Client(cfg)
	if err != nil {
		return err
	}
	defer nc.Close()
	p, err := producer.New(js, producer.WithSubjectPrefix(cfg.SubjectPrefix), producer.WithDefaultApp(appName))
	if err != nil {
		return usageError{err}
	}
	var opts []producer.PublishOption
	if *id != "" {
		opts = append(opts, producer.WithID(*id))
	}
	subject := schema.NewNames(cfg.SubjectPrefix).SendSubjectFor(kind, appName)
	return publishJobs(ctx, p, kind, subject, name, jobs, opts, std)
}

func openInput(args []string, stdin io.Reader) (io.ReadCloser, string, error) {
	if len(args) == 0 || args[0] == "-" {
		return io.NopCloser(stdin), "stdin", nil
	}
	f, err := os.Open(args[0])
	if err != nil {
		return nil, "", err
	}
	return f, args[0], nil
}

// publishJobs publishes jobs with schema/producer, as every dingq publisher does (see
// [producer.Producer.PublishBatch]): each with its job id as Nats-Msg-Id, --id or derived from
// the body. A duplicate (JetStream already had the id) is reported, not hidden. Progress is shown
// each second on long runs.
//
// A job stream that is full refuses jobs (producer.ErrStreamFull): send then publishes no further
// job and says which job, at which line of the input, was refused first, how many were queued
// before it and, exactly, which lines were not queued (those already in flight may be refused
// too, or land if workers made room meanwhile).
func publishJobs(ctx context.Context, p *producer.Producer, kind schema.Kind, subject, name string, inputs []producer.Entry, opts []producer.PublishOption, std stdio) error {
	jobs := make([]producer.Job, len(inputs))
	for i, in := range inputs {
		jobs[i] = in.Job
	}
	var (
		published, dups int
		failed          []error
		notQueued       []producer.Entry // in input order, once sorted
		full            error            // the first refusal of a full stream
		fullAt          int
		queuedBefore    int // jobs queued before the first refusal
		lastReport      = time.Now()
	)
	n, err := p.PublishBatch(ctx, jobs, func(i int, res producer.Result, err error) bool {
		switch {
		case errors.Is(err, producer.ErrStreamFull):
			notQueued = append(notQueued, inputs[i])
			if full == nil {
				full, fullAt, queuedBefore = err, i, published
			}
			return false
		case err != nil:
			notQueued = append(notQueued, inputs[i])
			failed = append(failed, err)
		case res.Duplicate:
			dups++
			fmt.Fprintf(std.err, "duplicate: job %s was already published within the duplicate window; JetStream dropped this copy\n", res.JobID)
		default:
			published++
			if len(jobs) == 1 {
				fmt.Fprintf(std.out, "published %s job %s (stream %s, seq %d)\n", kind, res.JobID, res.Stream, res.Sequence)
			}
		}
		if time.Since(lastReport) > time.Second {
			fmt.Fprintf(std.err, "published %d of %d...\n", published, len(jobs))
			lastReport = time.Now()
		}
		return true
	}, opts...)
	if err != nil {
		return fmt.Errorf("interrupted after %d of %d jobs: %w", published, len(jobs), err)
	}
	notQueued = append(notQueued, inputs[n:]...)
	if len(jobs) > 1 {
		fmt.Fprintf(std.out, "published %d %s jobs to %s (%d duplicates dropped)\n", published, kind, subject, dups)
	}
	if full != nil {
		if len(jobs) == 1 {
			return full
		}
		slices.SortFunc(notQueued, func(a, b producer.Entry) int { return a.N - b.N })
		in := inputs[fullAt]
		err := fmt.Errorf("%s line %d (job %d of %d, id %s): %w\n%d job(s) queued before it; not queued: %s (%d job(s)): send them again once the stream has room",
			name, in.Line, in.N, len(jobs), schema.JobID(kind, "", in.Body), errors.Unwrap(full), queuedBefore, producer.Lines(notQueued), len(notQueued))
		if len(failed) > 0 {
			err = fmt.Errorf("%w\n%w", err, errors.Join(failed[:min(len(failed), maxListedErrors)]...))
		}
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d jobs not published:\n%w", len(failed), len(jobs), errors.Join(failed[:min(len(failed), maxListedErrors)]...))
	}
	return nil
}
