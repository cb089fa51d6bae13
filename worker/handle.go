package worker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/schema"
)

// job is a job as stored in the job stream: what a dead letter is made from.
type job struct {
	subject   string
	data      []byte
	header    nats.Header
	streamSeq uint64
	published time.Time   // when the job stream stored it: with streamSeq, unique across stream lifetimes
	kindName  string      // the subject's kind token: "card", or an unknown kind's name
	kind      schema.Kind // "" when kindName is not a known kind
	app       string      // the app the subject names; "" for the default app
	id        string      // the producer's id, qualified with the app (see [schema.QualifiedID])
}

// newJob names the job stored at seq on subject at the time published.
func (w *Worker) newJob(subject string, data []byte, header nats.Header, seq uint64, published time.Time) job {
	j := job{subject: subject, data: data, header: header, streamSeq: seq, published: published}
	if k, app, err := w.cfg.Names.ParseJobSubject(subject); err == nil {
		j.kind, j.kindName, j.app = k, string(k), app
	} else {
		// The job streams take only known kinds' subjects; a stream configured by hand may not.
		rest := strings.TrimPrefix(subject, w.cfg.Names.SendSubjects()[:len(w.cfg.Names.SendSubjects())-1])
		j.kindName, _, _ = strings.Cut(rest, ".")
	}
	j.id = schema.QualifiedID(j.app, schema.JobID(j.kind, header.Get(schema.HeaderMsgID), data))
	return j
}

// instance names this stored message of the job: its app, its stream sequence and the nanosecond
// the stream stored it. A sequence alone is not enough: each app's stream has its own sequences,
// and a job stream deleted and created again starts them over; state kept under a bare sequence
// would be taken for another job's.
func (j job) instance() string {
	s := strconv.FormatUint(j.streamSeq, 10) + "-" + strconv.FormatInt(j.published.UnixNano(), 10)
	if j.app != "" {
		s = j.app + "-" + s
	}
	return s
}

// delivery is one delivery of a job, as the worker sees it.
type delivery struct {
	job
	msg        jetstream.Msg
	deliveries int      // JetStream's NumDelivered: this delivery's number, from 1
	attempt    int      // this delivery's attempt: deliveries less the earlier deferrals
	state      jobState // the job's state as of this delivery (see [jobState])
	placed     bool     // its ack holds a place among those not yet confirmed (see acker.slots)
}

// inspect names a delivered job and works out its attempt. Only a redelivery can have state, so
// only a redelivery reads it.
func (w *Worker) inspect(msg jetstream.Msg) *delivery {
	var seq uint64
	var published time.Time
	deliveries := 1
	if meta, err := msg.Metadata(); err == nil {
		deliveries = int(meta.NumDelivered)
		seq, published = meta.Sequence.Stream, meta.Timestamp
	}
	d := &delivery{job: w.newJob(msg.Subject(), msg.Data(), msg.Headers(), seq, published), msg: msg,
		deliveries: deliveries, attempt: deliveries}
	if deliveries > 1 && seq != 0 {
		w.readState(d)
	}
	return d
}

// handle takes one job from delivery to its decision: ack, retry, dead letter, or hand back.
func (w *Worker) handle(ctx context.Context, msg jetstream.Msg, stopping <-chan struct{}) {
	d := w.inspect(msg)
	if dec := d.state.Decision; dec != nil {
		w.deadLetter(d, dec.failure()) // decided before; only its letter is missing
		return
	}
	if d.deliveries > 1 && w.alreadySent(d) {
		w.settled(d.job)
		_ = msg.Ack()
		w.report(d.job, ResultSent, "", 0, d.attempt, 0)
		w.log.Info().Str("job_id", d.id).Str("kind", d.kindName).Int("attempt", d.attempt).
			Msg("already sent: acked without sending again")
		return
	}
	if d.attempt > w.cfg.MaxAttempts {
		w.deadLetter(d, failure{reason: schema.ReasonExhausted, err: errNoOutcome, attempts: w.cfg.MaxAttempts})
		return
	}
	if err := w.validate(d); err != nil {
		w.deadLetter(d, failure{reason: schema.ReasonInvalid, err: err})
		return
	}
	start := time.Now()
	err := w.send(ctx, d)
	took := time.Since(start)
	w.decideAndAct(d, err, took, isClosed(stopping))
}

// decideAndAct takes the decision the send's result carries.
func (w *Worker) decideAndAct(d *delivery, err error, took time.Duration, stopping bool) {
	v := w.cfg.decide(d.attempt, err, stopping)
	code, status := "", 0
	if err != nil {
		code, status = failureCode(err)
	}
	next := d.state
	if n, ok := dispatcher.PostedOf(err); ok && n > next.Posted {
		next.Posted = n
	}
	switch v.action {
	case actAck:
		w.ackSent(d)
		w.report(d.job, ResultSent, "", 0, d.attempt, took)
		w.log.Info().Str("job_id", d.id).Str("kind", d.kindName).Int("attempt", d.attempt).Msg("sent")
	case actRetry:
		w.keepProgress(d, next)
		_ = d.msg.NakWithDelay(v.delay)
		w.report(d.job, ResultRetried, code, status, d.attempt, took)
		w.log.Info().Str("job_id", d.id).Str("kind", d.kindName).Int("attempt", d.attempt).
			Str("code", code).Int("http_status", status).Int64("delay_ms", v.delay.Milliseconds()).
			Str("error", errorText(err)).Msg("retry")
	case actDefer:
		w.deferJob(d, next, err, v.delay)
		w.report(d.job, ResultDeferred, code, 0, d.attempt, took)
	case actHandBack:
		w.keepProgress(d, next)
		_ = d.msg.Nak()
		w.report(d.job, ResultHandBack, "", 0, d.attempt, took)
		w.log.Info().Str("job_id", d.id).Str("kind", d.kindName).Int("attempt", d.attempt).
			Msg("handed back: worker stopping")
	case actDead:
		w.deadLetter(d, failure{reason: v.reason, err: err, attempts: d.attempt})
	}
}

// keepProgress stores the messages a multi-message job has posted, when this delivery posted
// more, so that its next attempt does not start over.
func (w *Worker) keepProgress(d *delivery, next jobState) {
	if next.Posted > d.state.Posted {
		next.Turn = time.Time{}
		w.saveState(d, next, "progress")
	}
}

// deferJob hands a job that waits for its turn under a rate limit back to JetStream until about
// then, recording the deferral first so that it is not counted as an attempt, the turn the
// limiter reserved so that the job keeps its place when it returns, and the messages it posted.
func (w *Worker) deferJob(d *delivery, next jobState, err error, delay time.Duration) {
	next.Deferrals++
	next.Turn = time.Time{}
	var de *dispatcher.Error
	if errors.As(err, &de) {
		next.Turn = de.Turn
	}
	w.saveState(d, next, "deferral")
	_ = d.msg.NakWithDelay(delay)
	ev := w.log.Debug()
	if de.Code == dispatcher.CodeRateLimitUnavailable {
		ev = w.limitWarn.event(w.log)
	}
	ev.Str("job_id", d.id).Str("kind", d.kindName).Int("attempt", d.attempt).
		Str("code", de.Code).Int64("delay_ms", delay.Milliseconds()).Str("error", errorText(err)).
		Msg("deferred: waiting for its turn")
}

// ackSent acks a sent job and has the ack confirmed, without waiting for the answer (see acker). An
// ack that cannot be confirmed (NATS unreachable, the reply lost) may not have arrived, and the job
// may come back: the send is then recorded in the sent-record, retried until stored, so the
// redelivery is acked without a second send. A confirmed ack needs no record: that job cannot
// come back.
func (w *Worker) ackSent(d *delivery) {
	w.settled(d.job)
	w.acker.add(d)
}

// unconfirmed records the sends of jobs whose acks JetStream did not confirm, then acks each
// again: an ack lost in a disconnect or a leader election may land now, sparing the job its
// redelivery; if it does not, the redelivery finds the record. Each job's place among the acks
// awaiting confirmation is freed only then (see acker.slots).
func (w *Worker) unconfirmed(group ...*delivery) {
	w.log.Warn().Int("jobs", len(group)).Str("job_id", group[0].id).Str("kind", group[0].kindName).
		Msg("acks not confirmed; recording the sends so that a redelivery is not sent again")
	// A record may take as long as NATS stays away: each is written on its own.
	for _, d := range group {
		w.recording.add(d.job)
		w.recorders.Go(func() {
			if err := w.res.sentRecord().markSent(d.job); err != nil {
				w.log.Error().Err(err).Str("job_id", d.id).Str("kind", d.kindName).
					Msg("could not record the send; if the ack was lost the job will be sent again")
			}
			w.recording.remove(d.job)
			_ = d.msg.Ack()
			if d.placed {
				<-w.acker.slots
			}
		})
	}
}

// alreadySent reports whether this message was sent on an earlier delivery whose ack never
// arrived: by this process, its record perhaps not yet stored, or by any. Only redeliveries ask:
// a first delivery cannot have been sent. If the record cannot be read, the job is sent: a
// possible duplicate beats a job stuck on a broken bucket.
func (w *Worker) alreadySent(d *delivery) bool {
	if w.recording.has(d.job) {
		return true
	}
	sent, err := w.res.sentRecord().wasSent(d.job)
	if err != nil {
		w.log.Warn().Err(err).Str("job_id", d.id).Msg("could not read the sent-record; sending")
	}
	return sent
}

func (w *Worker) validate(d *delivery) error {
	if d.kind == "" {
		return &schema.ValidationError{Code: schema.CodeUnknownKind,
			Message: fmt.Sprintf("subject %s names no job kind (want card, crossdomain or robot)", d.subject)}
	}
	if h := d.header.Get(schema.HeaderApp); h != "" && !strings.EqualFold(h, schema.DefaultApp) && h != d.app {
		return &schema.ValidationError{Code: schema.CodeAppHeader,
			Message: fmt.Sprintf("the %s header is not read: a job's app is its subject's; publish to %s to send with app %q",
				schema.HeaderApp, w.cfg.Names.SendSubjectFor(d.kind, strings.ToLower(h)), h)}
	}
	return w.validator.Validate(d.kind, d.data)
}

// errPanic marks a sender that panicked; the job takes the normal retry path.
var errPanic = errors.New("sender panicked")

// send calls the sender, signalling progress to JetStream while it runs and turning a panic into
// an error.
func (w *Worker) send(ctx context.Context, d *delivery) (err error) {
	defer startProgress(d.msg, w.cfg.AckWait/3).stop()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errPanic, r)
		}
	}()
	return w.sender.Send(ctx, dispatcher.Job{Kind: d.kind, ID: d.id, Body: d.data,
		App: d.app, Attempt: d.attempt, Turn: d.state.Turn, Posted: d.state.Posted})
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
