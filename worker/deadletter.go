package worker

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
)

// deadLetterTimeout bounds the wait for a dead letter's publish ack. It is independent of the
// worker's context so that a job being dead-lettered during shutdown still gets its dead letter.
const deadLetterTimeout = 10 * time.Second

// maxErrorHeader keeps Dingq-Error readable and well inside header limits.
const maxErrorHeader = 512

// failure is why a job is dead-lettered.
type failure struct {
	reason   string // schema.ReasonRejected, ReasonExhausted or ReasonInvalid
	err      error  // secret-free by construction: dispatcher and schema errors never hold one
	attempts int    // sends tried
}

// deadLetter publishes the job to its dead-letter subject, waits for the publish ack, and only
// then terminates the job. If the publish fails the decision is kept in the job's state and the
// job is nak'ed with a delay: when it comes back, only its letter is published again, with the
// same reason, code and attempts; it is never sent again. A job is never lost between the two
// streams, and never sent after DingTalk rejected it.
func (w *Worker) deadLetter(d *delivery, f failure) {
	code, status, err := w.publishDeadLetter(d.job, f)
	if err != nil {
		w.deadLetterFailed(err)
		if d.state.Decision == nil {
			next := d.state
			next.Decision = &decision{Reason: f.reason, Code: code, HTTPStatus: status, Attempts: f.attempts, Error: errorText(f.err)}
			w.saveState(d, next, "decision")
		}
		delay := w.cfg.retryDelay(d.attempt)
		_ = d.msg.NakWithDelay(delay)
		w.log.Error().Err(err).Str("job_id", d.id).Str("kind", d.kindName).Int("attempt", d.attempt).
			Str("reason", f.reason).Str("code", code).Int64("delay_ms", delay.Milliseconds()).
			Msg("dead-letter publish failed; job kept, its letter published again later")
		return
	}
	w.deadLetterStored()
	w.settled(d.job)
	_ = d.msg.TermWithReason(f.reason)
	w.logDeadLettered(d.job, f, code, status)
	w.report(d.job, deadResult(f.reason), code, status, f.attempts, 0)
}

func (w *Worker) logDeadLettered(j job, f failure, code string, status int) {
	w.log.Warn().Str("job_id", j.id).Str("kind", j.kindName).Int("attempt", f.attempts).
		Str("reason", f.reason).Str("code", code).Int("http_status", status).Str("error", errorText(f.err)).
		Msg("dead-lettered")
}

// publishDeadLetter stores the dead letter of j and waits for the publish ack. Its message id is
// derived from the job's instance (stream sequence and store time), so a repeated move (the Term
// was lost, or the advisory path and a worker both act) is stored once, and a job stream created
// anew, whose sequences start over, does not collide with the letters of the old one. The letter
// is made to fit the server's max payload (see [letterMsg.fit]), and a duplicate ack is checked
// against what is stored (see [Worker.storeLetter]): whatever the job, its letter is stored.
func (w *Worker) publishDeadLetter(j job, f failure) (code string, status int, err error) {
	code, status = failureCode(f.err)
	ctx, cancel := context.WithTimeout(context.Background(), deadLetterTimeout)
	defer cancel()
	l := deadLetterMsg(w.cfg.Names, j, f, code, status)
	l.Header.Set(jetstream.MsgIDHeader, "dead-"+w.cfg.Names.JobStreamFor(j.app)+"-"+j.instance())
	if limit := w.js.Conn().MaxPayload(); limit > 0 { // 0 only before the first connection
		if err := l.fit(limit); err != nil {
			return code, status, err
		}
	}
	w.logFitted(j, l)
	return code, status, w.storeLetter(ctx, l.Msg)
}

// deadLetterMsg copies the job's body and headers (less JetStream's own Nats-* headers, which
// would deduplicate or constrain the new publish, those that would pose as the letter's own, and
// those whose name a NATS client will not publish, listed in Dingq-Dropped-Headers) and adds the
// contract's Dingq-* headers.
func deadLetterMsg(names schema.Names, j job, f failure, code string, status int) letterMsg {
	l := letterMsg{Msg: nats.NewMsg(names.DeadSubject(schema.Kind(j.kindName)))}
	l.Data = j.data
	l.copyJobHeaders(j.header)
	l.Header.Set(schema.HeaderJobID, letterJobID(j.id))
	l.Header.Set(schema.HeaderReason, f.reason)
	l.Header.Set(schema.HeaderErrorCode, code)
	l.Header.Set(schema.HeaderError, errorText(f.err))
	if status > 0 {
		l.Header.Set(schema.HeaderHTTPStatus, strconv.Itoa(status))
	}
	l.Header.Set(schema.HeaderAttempts, strconv.Itoa(f.attempts))
	l.Header.Set(schema.HeaderOriginalSubject, j.subject)
	l.Header.Set(schema.HeaderFailedAt, time.Now().UTC().Format(time.RFC3339))
	l.setDropped()
	return l
}

// errorText renders err for a header or log line: one line, bounded.
func errorText(err error) string {
	if err == nil {
		return ""
	}
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > maxErrorHeader {
		s = strings.ToValidUTF8(s[:maxErrorHeader], "") + "..."
	}
	return s
}

// errNoOutcome explains a job that came back after its last attempt without a decision.
var errNoOutcome = errors.New("no outcome recorded for the last attempt (its worker stopped, or the dead-letter publish failed)")
