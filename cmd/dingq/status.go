package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/cmd/internal/config"
	"github.com/dingq/dingq/cmd/internal/natsconn"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker/status"
)

// newStatusRecorder returns the recorder of each job's final outcome, as an event on
// <prefix>.events.<kind>.<outcome> and, for DINGQ_SENT_TTL, in the status bucket that `dingq
// status` reads; nil when DINGQ_STATUS is off, or when it cannot be built (delivery goes on).
func newStatusRecorder(js jetstream.JetStream, cfg config.Config, log zerolog.Logger) *status.Recorder {
	if cfg.Status == "off" {
		return nil
	}
	rec, err := status.NewRecorder(js.Conn(), status.Config{
		Names: cfg.Worker().Names, Logger: log.With().Str("component", "status").Logger()})
	if err != nil {
		log.Error().Err(err).Msg("delivery status disabled: no outcome events, dingq status reads pending")
		return nil
	}
	return rec
}

const statusUsage = `Usage: dingq status [flags] <job-id>

Where a job is: sent, dead (with its reason, code, attempts and time), or pending: no final
outcome recorded yet (queued, in flight, retrying, or an id dingq never saw). Exit 0 for all three.

The job id is the Nats-Msg-Id the job was published with, or else the one derived from its body
(card: outTrackId, crossdomain: message_id, robot: a hash of the body), as dingq send prints it.
Without --kind the id is looked up under every kind.
A named app's job ids are qualified with the app: sales:order-8812.
An id published more than once shows its latest recorded outcome; outcomes are kept for the
workers' DINGQ_SENT_TTL (default 24h), after which a job reads as pending again.

Examples:
  dingq status order-8812-shipped
  dingq status --kind card --json sales:order-8812

Flags:
`

// statusCmd is `dingq status <job-id>`.
func statusCmd(ctx context.Context, args []string, std stdio) error {
	cfg := config.Default()
	fs := newFlagSet("status", std.err)
	cfg.Register(fs)
	kindName := fs.String("kind", "", "look the id up under this kind only: card, crossdomain or robot (default: every kind)")
	asJSON := fs.Bool("json", false, "print the record as JSON, one object per line")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), statusUsage)
		fs.PrintDefaults()
	}
	pos, err := config.Parse(fs, args, std.getenv)
	if err != nil {
		return usageError{err}
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	if len(pos) != 1 || pos[0] == "" {
		return usageError{errors.New("want one job id: dingq status [--kind card] [--json] <job-id>")}
	}
	kinds, err := statusKinds(*kindName)
	if err != nil {
		return usageError{err}
	}

	nc, js, err := natsconn.Client(cfg)
	if err != nil {
		return err
	}
	defer nc.Close()
	names := schema.NewNames(cfg.SubjectPrefix)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	recs, err := status.Lookup(ctx, js, names, kinds, pos[0])
	noBucket := errors.Is(err, status.ErrNoBucket)
	if err != nil && !noBucket {
		return err
	}
	if *asJSON {
		return printStatusJSON(std.out, recs, pos[0], *kindName)
	}
	printStatus(std.out, names, recs, pos[0], *kindName)
	if noBucket {
		fmt.Fprintf(std.err, "note: there is no status bucket %s yet: no worker has recorded an outcome\n", names.StatusBucket())
	}
	return nil
}

func statusKinds(name string) ([]string, error) {
	if name == "" {
		return schema.KindNames(), nil
	}
	k, err := schema.ParseKind(name)
	if err != nil {
		return nil, err
	}
	return []string{string(k)}, nil
}

// printStatus prints one line per record, latest first, or the pending line.
func printStatus(w io.Writer, names schema.Names, recs []status.Record, id, kind string) {
	if len(recs) == 0 {
		fmt.Fprintf(w, "%s: pending: no final outcome recorded (queued, in flight, retrying, or unknown)\n", jobLabel(kind, id))
		return
	}
	for _, r := range recs {
		at := r.At.UTC().Format(time.RFC3339)
		if !r.Dead() {
			fmt.Fprintf(w, "%s: sent at %s, attempt %d\n", jobLabel(r.Kind, r.JobID), at, r.Attempts)
			continue
		}
		var why []string
		why = append(why, r.Outcome)
		if r.Code != "" {
			why = append(why, "code "+r.Code)
		}
		if r.HTTPStatus != 0 {
			why = append(why, fmt.Sprintf("HTTP %d", r.HTTPStatus))
		}
		fmt.Fprintf(w, "%s: dead (%s) %s, at %s; the dead letter is on %s\n", jobLabel(r.Kind, r.JobID),
			strings.Join(why, ", "), attempts(r.Attempts), at, names.DeadSubject(schema.Kind(r.Kind)))
	}
}

func jobLabel(kind, id string) string {
	if kind == "" {
		return fmt.Sprintf("job %q", id)
	}
	return fmt.Sprintf("%s job %q", kind, id)
}

func attempts(n int) string {
	switch n {
	case 0:
		return "before any send"
	case 1:
		return "after 1 attempt"
	}
	return fmt.Sprintf("after %d attempts", n)
}

// statusJSON is a record as `dingq status --json` prints it: its status ("sent", "dead" or
// "pending") and, unless pending, the record's fields.
type statusJSON struct {
	Status string `json:"status"`
	*status.Record
}

// pendingJSON is the line of a job with no record.
type pendingJSON struct {
	Status string `json:"status"`
	JobID  string `json:"job_id"`
	Kind   string `json:"kind,omitempty"`
}

func printStatusJSON(w io.Writer, recs []status.Record, id, kind string) error {
	enc := json.NewEncoder(w)
	if len(recs) == 0 {
		return enc.Encode(pendingJSON{Status: "pending", JobID: id, Kind: kind})
	}
	for i := range recs {
		st := "sent"
		if recs[i].Dead() {
			st = "dead"
		}
		if err := enc.Encode(statusJSON{Status: st, Record: &recs[i]}); err != nil {
			return err
		}
	}
	return nil
}
