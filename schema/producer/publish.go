package producer

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/dingq/dingq/schema"
)

// Result is what JetStream confirmed about a published job.
type Result struct {
	// Stream is the stream that stored the job, e.g. "DINGQ_JOBS".
	Stream string
	// Sequence is the job's sequence in Stream; for a duplicate, the first copy's.
	Sequence uint64
	// JobID is the job's id, sent as Nats-Msg-Id: the one given with [WithID], or the one
	// derived from the body by [schema.JobID].
	JobID string
	// Duplicate is true when JetStream already held a job with this id within the stream's
	// duplicate window and dropped this copy. It is not an error: the job is queued once.
	Duplicate bool
}

// PublishOption sets a header of one publish.
type PublishOption func(*publishOptions)

type publishOptions struct {
	id  string
	app string
}

// WithID sets the job id, sent as the Nats-Msg-Id header. Default (or ""): the id derived from
// the body by [schema.JobID], a card's outTrackId, a cross-domain message's message_id, or a hash
// of a robot body. The id is at most 256 bytes, without control characters or surrounding
// spaces ([ErrInvalidID]).
func WithID(id string) PublishOption { return func(o *publishOptions) { o.id = id } }

// WithApp picks the workers' credential profile for the job, sent as the Dingq-App header:
// ASCII letters, digits and '_', matched without regard to case ([ErrInvalidApp]); "default"
// names the default profile. Default (or ""): the Producer's [WithDefaultApp], if any.
func WithApp(app string) PublishOption { return func(o *publishOptions) { o.app = app } }

// Publish validates job and publishes it to its kind's job subject, then waits for JetStream's
// ack. Nothing reaches NATS unless the job is valid: an invalid body returns an error wrapping a
// *[schema.ValidationError] (check with errors.As); a bad header, [ErrInvalidID] or
// [ErrInvalidApp]; a body its builder could not encode, the encoding error. Such errors are the
// job's: publishing it again fails the same way.
//
// Every publish carries the job id as Nats-Msg-Id, so publishing the same job again within the
// stream's duplicate window (10 minutes by default) is safe: JetStream drops the copy and
// Result.Duplicate reports it. Two identical robot bodies share a derived id; give each its own
// [WithID] to post the same message twice. Any other error (no job stream, a timeout, a full
// stream, ctx done) means the job may not be queued: publish it again.
//
// Publish is safe for concurrent use and does not keep job.Body.
func (p *Producer) Publish(ctx context.Context, job Job, opts ...PublishOption) (Result, error) {
	if job.err != nil {
		return Result{}, job.err
	}
	var o publishOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.app == "" {
		o.app = p.app
	}
	if err := checkID(o.id); err != nil {
		return Result{}, err
	}
	if err := checkApp(o.app); err != nil {
		return Result{}, err
	}
	id := schema.JobID(job.Kind, o.id, job.Body)
	if err := p.validator.Validate(job.Kind, job.Body); err != nil {
		return Result{}, fmt.Errorf("%s job %s: %w", job.Kind, id, err)
	}
	msg := nats.NewMsg(p.names.SendSubject(job.Kind))
	msg.Data = job.Body
	msg.Header.Set(schema.HeaderMsgID, id)
	if o.app != "" {
		msg.Header.Set(schema.HeaderApp, o.app)
	}
	ack, err := p.js.PublishMsg(ctx, msg)
	if err != nil {
		return Result{}, fmt.Errorf("publish %s job %s: %w", job.Kind, id, err)
	}
	return Result{Stream: ack.Stream, Sequence: ack.Sequence, JobID: id, Duplicate: ack.Duplicate}, nil
}

// maxID caps an explicit job id, as [schema.JobID] caps a derived one.
const maxID = 256

func checkID(id string) error {
	switch {
	case len(id) > maxID:
		return fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidID, len(id), maxID)
	case strings.ContainsFunc(id, isControl):
		return fmt.Errorf("%w: holds a control character", ErrInvalidID)
	case strings.TrimSpace(id) != id:
		return fmt.Errorf("%w: starts or ends with a space", ErrInvalidID)
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// checkApp accepts "" (no header) and the names a worker's profile can have.
func checkApp(app string) error {
	for _, r := range app {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_') {
			return fmt.Errorf("%w: %q: want ASCII letters, digits and '_'", ErrInvalidApp, app)
		}
	}
	return nil
}
