package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/cmd/internal/config"
	"github.com/dingq/dingq/schema"
)

// maxListedErrors caps how many invalid jobs `send` names before it stops listing.
const maxListedErrors = 10

// send publishes jobs of one kind: one JSON job, or a stream of them (one per line, or simply one
// after another). Every job is validated first; if any is invalid, nothing is published.
func send(ctx context.Context, args []string, io stdio) error {
	cfg := config.Default()
	fs := newFlagSet("send", io.err)
	cfg.Register(fs)
	id := fs.String("id", "", "the job id, sent as Nats-Msg-Id (JetStream drops a second publish with the same id within its duplicate window); one job only")
	app := fs.String("app", "", "the worker's credential profile to send with, as the Dingq-App header (default: the default profile)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: dingq send [flags] <card|crossdomain|robot> [file|-]\n\nFlags:\n")
		fs.PrintDefaults()
	}
	pos, err := config.Parse(fs, args, io.getenv)
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
	input, name, err := openInput(pos[1:], io.in)
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

	nc, js, err := connectClient(cfg)
	if err != nil {
		return err
	}
	defer nc.Close()
	hdr := nats.Header{}
	if *id != "" {
		hdr.Set(schema.HeaderMsgID, *id)
	}
	if *app != "" {
		hdr.Set(schema.HeaderApp, *app)
	}
	return publishJobs(ctx, js, schema.NewNames(cfg.SubjectPrefix).SendSubject(kind), kind, jobs, hdr, io)
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

// readJobs decodes every JSON value of r and validates each as a job of kind. Invalid jobs are
// reported together (up to maxListedErrors), by position.
func readJobs(r io.Reader, name string, kind schema.Kind) ([][]byte, error) {
	v, err := schema.NewValidator(schema.ValidatorConfig{})
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(r)
	var jobs [][]byte
	var errs []error
	invalid := 0
	for n := 1; ; n++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%s: job %d is not JSON: %v; nothing was published", name, n, err)
		}
		var body bytes.Buffer
		_ = json.Compact(&body, raw)
		if err := v.Validate(kind, body.Bytes()); err != nil {
			invalid++
			if invalid <= maxListedErrors {
				errs = append(errs, fmt.Errorf("job %d (%s): %w", n, schema.JobID(kind, "", body.Bytes()), err))
			}
			continue
		}
		jobs = append(jobs, body.Bytes())
	}
	if invalid > 0 {
		return nil, fmt.Errorf("%s: %d invalid %s job(s); nothing was published:\n%w", name, invalid, kind, errors.Join(errs...))
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("%s holds no job", name)
	}
	return jobs, nil
}

// publishJobs publishes asynchronously, a window at a time, and waits for every publish ack. A
// duplicate (JetStream already had the id) is reported, not hidden. Every job carries hdr. Progress is shown each second
// on long runs.
func publishJobs(ctx context.Context, js jetstream.JetStream, subject string, kind schema.Kind, jobs [][]byte, hdr nats.Header, io stdio) error {
	id := hdr.Get(schema.HeaderMsgID)
	const window = 256
	type pending struct {
		id  string
		ack jetstream.PubAckFuture
	}
	var (
		inFlight        []pending
		published, dups int
		failed          []error
		lastReport      = time.Now()
	)
	settle := func(p pending) {
		select {
		case ack := <-p.ack.Ok():
			if ack.Duplicate {
				dups++
				fmt.Fprintf(io.err, "duplicate: job %s was already published within the duplicate window; JetStream dropped this copy\n", p.id)
				return
			}
			published++
			if len(jobs) == 1 {
				fmt.Fprintf(io.out, "published %s job %s (stream %s, seq %d)\n", kind, p.id, ack.Stream, ack.Sequence)
			}
		case err := <-p.ack.Err():
			failed = append(failed, fmt.Errorf("job %s: %w", p.id, err))
		}
	}
	for _, body := range jobs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("interrupted after %d of %d jobs: %w", published, len(jobs), err)
		}
		m := nats.NewMsg(subject)
		m.Data, m.Header = body, hdr
		ack, err := js.PublishMsgAsync(m)
		if err != nil {
			return fmt.Errorf("publish after %d of %d jobs: %w", published, len(jobs), err)
		}
		inFlight = append(inFlight, pending{id: schema.JobID(kind, id, body), ack: ack})
		if len(inFlight) >= window {
			for _, p := range inFlight {
				settle(p)
			}
			inFlight = inFlight[:0]
		}
		if time.Since(lastReport) > time.Second {
			fmt.Fprintf(io.err, "published %d of %d...\n", published, len(jobs))
			lastReport = time.Now()
		}
	}
	for _, p := range inFlight {
		settle(p)
	}
	if len(jobs) > 1 {
		fmt.Fprintf(io.out, "published %d %s jobs to %s (%d duplicates dropped)\n", published, kind, subject, dups)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d jobs not published:\n%w", len(failed), len(jobs), errors.Join(failed[:min(len(failed), maxListedErrors)]...))
	}
	return nil
}
