package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
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

	jobs, err := readJobs(input, name, kind)
	if err != nil {
		return err
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

// inputJob is one job of the input, and where it is.
type inputJob struct {
	body []byte
	n    int // its position in the input, from 1
	line int // the line it starts on, from 1
	last int // the line it ends on
}

// readJobs decodes every JSON value of r and validates each as a job of kind. Invalid jobs are
// reported together (up to maxListedErrors), by position.
func readJobs(r io.Reader, name string, kind schema.Kind) ([]inputJob, error) {
	v, err := schema.NewValidator(schema.ValidatorConfig{})
	if err != nil {
		return nil, err
	}
	lines := &lineCounter{r: r, line: 1}
	dec := json.NewDecoder(lines)
	var jobs []inputJob
	var errs []error
	invalid := 0
	for n := 1; ; n++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%s: job %d is not JSON: %v; nothing was published", name, n, err)
		}
		end := dec.InputOffset()
		first := lines.lineAt(end - int64(len(raw)))
		last := lines.lineAt(end)
		var body bytes.Buffer
		_ = json.Compact(&body, raw)
		if err := v.Validate(kind, body.Bytes()); err != nil {
			invalid++
			if invalid <= maxListedErrors {
				errs = append(errs, fmt.Errorf("job %d (%s): %w", n, schema.JobID(kind, "", body.Bytes()), err))
			}
			continue
		}
		jobs = append(jobs, inputJob{body: body.Bytes(), n: n, line: first, last: last})
	}
	if invalid > 0 {
		return nil, fmt.Errorf("%s: %d invalid %s job(s); nothing was published:\n%w", name, invalid, kind, errors.Join(errs...))
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("%s holds no job", name)
	}
	return jobs, nil
}

// lineCounter reads r and keeps the bytes read that are not yet counted, so that the line at an
// offset the JSON decoder reports can be told.
type lineCounter struct {
	r    io.Reader
	buf  []byte // the input from offset base on, as far as read
	base int64
	line int // the line at offset base, from 1
}

func (l *lineCounter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.buf = append(l.buf, p[:n]...)
	return n, err
}

// lineAt returns the line of offset off, which is no earlier than the last one asked about and
// not past what was read.
func (l *lineCounter) lineAt(off int64) int {
	k := int(off - l.base)
	l.line += bytes.Count(l.buf[:k], []byte{'\n'})
	l.buf, l.base = l.buf[k:], off
	return l.line
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
func publishJobs(ctx context.Context, p *producer.Producer, kind schema.Kind, subject, name string, inputs []inputJob, opts []producer.PublishOption, std stdio) error {
	jobs := make([]producer.Job, len(inputs))
	for i, in := range inputs {
		jobs[i] = producer.Job{Kind: kind, Body: in.body}
	}
	var (
		published, dups int
		failed          []error
		notQueued       []inputJob // in input order, once sorted
		full            error      // the first refusal of a full stream
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
		slices.SortFunc(notQueued, func(a, b inputJob) int { return a.n - b.n })
		in := inputs[fullAt]
		err := fmt.Errorf("%s line %d (job %d of %d, id %s): %w\n%d job(s) queued before it; not queued: %s (%d job(s)): send them again once the stream has room",
			name, in.line, in.n, len(jobs), schema.JobID(kind, "", in.body), errors.Unwrap(full), queuedBefore, lineRanges(notQueued), len(notQueued))
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

// lineRanges names the lines of jobs, which are in input order: "line 5", "lines 5-9, 12-14".
func lineRanges(jobs []inputJob) string {
	var ranges []string
	for i := 0; i < len(jobs); {
		j := i
		for j+1 < len(jobs) && jobs[j+1].n == jobs[j].n+1 {
			j++
		}
		r := strconv.Itoa(jobs[i].line)
		if jobs[j].last != jobs[i].line {
			r += "-" + strconv.Itoa(jobs[j].last)
		}
		if len(ranges) == 0 || ranges[len(ranges)-1] != r { // two jobs of one line
			ranges = append(ranges, r)
		}
		i = j + 1
	}
	if len(ranges) == 1 && !strings.Contains(ranges[0], "-") {
		return "line " + ranges[0]
	}
	return "lines " + strings.Join(ranges, ", ")
}
