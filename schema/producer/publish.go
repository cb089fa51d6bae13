package producer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

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

// WithApp picks the app whose credentials the workers send the job with: the job is published to
// "<prefix>.send.<kind>.<app>", into the app's own job stream. The name is letters, digits and
// '_', matched without regard to case ([ErrInvalidApp]); "default" names the default app, whose
// subject carries no app. Default (or ""): the Producer's [WithDefaultApp], if any. A producer
// whose NATS account maps "<prefix>.send.>" into an app's subjects needs no WithApp.
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
// [WithID] to post the same message twice.
//
// A job stream that is full (at its size or message limit: it refuses new jobs rather than drop
// queued ones) makes Publish return an error wrapping [ErrStreamFull], naming the stream and the
// limit: the job is not queued. Any other error (no job stream, a timeout, ctx done) means the job
// may not be queued: publish it again.
//
// Publish is safe for concurrent use and does not keep job.Body.
func (p *Producer) Publish(ctx context.Context, job Job, opts ...PublishOption) (Result, error) {
	m, err := p.message(job, opts)
	if err != nil {
		return Result{}, err
	}
	ack, err := p.js.PublishMsg(ctx, m.msg)
	return p.result(m, ack, err)
}

// PublishBatch publishes jobs in order without waiting for each one's ack (at most batchWindow
// wait at once), and tells each of every job's outcome, in order, as Publish would return it: a
// job that is invalid is never published, and its error says why. When each returns false, no
// further job is published; the jobs already on their way are still told. PublishBatch returns
// how many jobs it handed to NATS or found invalid (the jobs after those were not touched), and
// an error only when ctx ends or NATS refuses a publish outright.
//
// Every job is published as [Producer.Publish] publishes it (the same subject, the same
// Nats-Msg-Id), with the same opts; a WithID applies to every job, so give it for one job only.
func (p *Producer) PublishBatch(ctx context.Context, jobs []Job, each func(i int, res Result, err error) bool, opts ...PublishOption) (int, error) {
	type inFlight struct {
		i   int
		m   message
		ack jetstream.PubAckFuture
	}
	var pending []inFlight
	stop := false
	tell := func(f inFlight, wait bool) bool {
		var ack *jetstream.PubAck
		var err error
		select {
		case ack = <-f.ack.Ok():
		case err = <-f.ack.Err():
		default:
			if !wait {
				return false
			}
			select {
			case ack = <-f.ack.Ok():
			case err = <-f.ack.Err():
			}
		}
		if res, err := p.result(f.m, ack, err); !each(f.i, res, err) {
			stop = true
		}
		return true
	}
	drain := func(wait bool) {
		for len(pending) > 0 && tell(pending[0], wait) {
			pending = pending[1:]
		}
	}
	n := 0
	for i, job := range jobs {
		drain(false) // settle what has come, so that a refusal stops the run early
		if stop {
			break
		}
		if err := ctx.Err(); err != nil {
			drain(true)
			return n, err
		}
		n++
		m, err := p.message(job, opts)
		if err != nil {
			drain(true)
			if !each(i, Result{}, err) {
				break
			}
			continue
		}
		ack, err := p.js.PublishMsgAsync(m.msg)
		if err != nil {
			drain(true)
			return n, fmt.Errorf("publish %s job %s: %w", job.Kind, m.id, err)
		}
		pending = append(pending, inFlight{i: i, m: m, ack: ack})
		if len(pending) >= batchWindow {
			drain(true)
		}
	}
	drain(true)
	return n, nil
}

// batchWindow caps the publishes of PublishBatch waiting for their acks.
const batchWindow = 256

// message is a job ready to publish: its NATS message, and what its result needs.
type message struct {
	msg     *nats.Msg
	kind    schema.Kind
	app, id string
}

// message builds job's NATS message, the one way dingq's publishers build it: validated, on its
// app's subject, with its job id (WithID, or derived from the body) as Nats-Msg-Id.
func (p *Producer) message(job Job, opts []PublishOption) (message, error) {
	if job.err != nil {
		return message{}, job.err
	}
	var o publishOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.app == "" {
		o.app = p.app
	}
	if err := checkID(o.id); err != nil {
		return message{}, err
	}
	app, err := checkApp(o.app)
	if err != nil {
		return message{}, err
	}
	id := schema.JobID(job.Kind, o.id, job.Body)
	if err := p.validator.Validate(job.Kind, job.Body); err != nil {
		return message{}, fmt.Errorf("%s job %s: %w", job.Kind, id, err)
	}
	msg := nats.NewMsg(p.names.SendSubjectFor(job.Kind, app))
	msg.Data = job.Body
	msg.Header.Set(schema.HeaderMsgID, id)
	return message{msg: msg, kind: job.Kind, app: app, id: id}, nil
}

// result turns the outcome of m's publish into Publish's result or error.
func (p *Producer) result(m message, ack *jetstream.PubAck, err error) (Result, error) {
	if err != nil {
		if full := StreamFull(p.names.JobStreamFor(m.app), err); full != nil {
			err = full
		} else if none := NoStream(m.msg.Subject, err); none != nil {
			err = none
		}
		return Result{}, fmt.Errorf("publish %s job %s: %w", m.kind, m.id, err)
	}
	// The stream that took the job names its app, also when an account import chose it.
	app := m.app
	if a, ok := p.names.AppOfJobStream(ack.Stream); ok {
		app = a
	}
	return Result{Stream: ack.Stream, Sequence: ack.Sequence, JobID: schema.QualifiedID(app, m.id), Duplicate: ack.Duplicate}, nil
}

// ErrStreamFull: JetStream refused the job because the job stream is full, at its MaxBytes or
// MaxMsgs limit (or MaxMsgsPerSubject): the stream discards new messages, not queued ones, so the
// job is not queued. It is the stream's state, not the job's: publish the job again once the
// workers have made room (its id makes that safe); until then a retry fails the same way. The
// error says which stream and which limit, e.g. "job stream DINGQ_JOBS is full (max bytes): job
// not queued", and also wraps JetStream's *jetstream.APIError.
var ErrStreamFull = errors.New("producer: job stream is full")

// JetStream's refusal of a message by a stream with DiscardNew at a limit: a 503 API error with
// error code 10077 (JSStreamStoreFailedF, "{err}" in nats-server's errors.json), whose
// description is the store's error for the limit (ErrMaxBytes, ErrMaxMsgs, ErrMaxMsgsPerSubject
// in nats-server's store.go). The same code with another description (e.g. "message too large")
// is not a full stream.
const jsErrCodeStreamStoreFailed jetstream.ErrorCode = 10077

// fullLimits maps the descriptions of a full stream's refusal to the limit they name.
var fullLimits = map[string]string{
	"maximum bytes exceeded":                "max bytes",
	"maximum messages exceeded":             "max messages",
	"maximum messages per subject exceeded": "max messages per subject",
}

// NoStream returns err with the likely cause named when err is JetStream finding no stream for
// subject (errors.Is [jetstream.ErrNoStreamResponse] still holds); otherwise nil. Each app's job
// stream is created by the workers that have its credentials: until one has started, a job for
// the app has nowhere to go.
func NoStream(subject string, err error) error {
	if !errors.Is(err, jetstream.ErrNoStreamResponse) {
		return nil
	}
	return fmt.Errorf("no job stream takes %s: no worker with that app's credentials has started, or the subject names no job kind: %w", subject, err)
}

// StreamFull returns an error wrapping [ErrStreamFull] and err, naming stream and the limit hit,
// when err is JetStream refusing a publish because stream is full; otherwise nil. Publish applies
// it to its own publishes; it serves code that publishes jobs through JetStream directly, as
// `dingq send` does (err may come from a synchronous publish or an async publish's ack).
func StreamFull(stream string, err error) error {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != jsErrCodeStreamStoreFailed {
		return nil
	}
	limit, ok := fullLimits[apiErr.Description]
	if !ok {
		return nil
	}
	return &streamFullError{stream: stream, limit: limit, err: err}
}

// streamFullError is [ErrStreamFull] for one stream and limit, wrapping JetStream's error.
type streamFullError struct {
	stream, limit string
	err           error
}

func (e *streamFullError) Error() string {
	return fmt.Sprintf("job stream %s is full (%s): job not queued", e.stream, e.limit)
}

func (e *streamFullError) Is(target error) bool { return target == ErrStreamFull }

func (e *streamFullError) Unwrap() error { return e.err }

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

// checkApp returns the app a name picks, in lower case: "" for "" and "default".
func checkApp(name string) (string, error) {
	app := strings.ToLower(name)
	if app == "" || app == schema.DefaultApp {
		return "", nil
	}
	if err := schema.ValidateApp(app); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidApp, err)
	}
	return app, nil
}
