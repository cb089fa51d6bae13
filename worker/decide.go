package worker

import (
	"context"
	"errors"
	"time"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/schema"
)

// action is what the worker does with a job once its send returned.
type action int

const (
	actAck      action = iota // sent
	actRetry                  // NakWithDelay(delay)
	actDead                   // dead-letter with reason, then Term
	actHandBack               // the worker is stopping: Nak at once for another worker
	actDefer                  // waiting for a turn under a rate limit: NakWithDelay(delay), not an attempt
)

// verdict is the outcome of [decide].
type verdict struct {
	action action
	delay  time.Duration // actRetry
	reason string        // actDead: schema.ReasonRejected or schema.ReasonExhausted
}

// decide maps a send's result to what happens to the job. It is pure: the attempt number comes
// from JetStream, the decision from the error (errors.As only, never its text), and an error that
// carries no decision means retry.
func (c Config) decide(attempt int, err error, stopping bool) verdict {
	switch {
	case err == nil:
		return verdict{action: actAck}
	case dispatcher.DecisionOf(err) == dispatcher.Defer:
		return verdict{action: actDefer, delay: minDelay(err)}
	case stopping && errors.Is(err, context.Canceled):
		return verdict{action: actHandBack}
	case dispatcher.DecisionOf(err) == dispatcher.Reject:
		return verdict{action: actDead, reason: schema.ReasonRejected}
	case attempt >= c.MaxAttempts:
		return verdict{action: actDead, reason: schema.ReasonExhausted}
	}
	return verdict{action: actRetry, delay: max(c.retryDelay(attempt), minDelay(err))}
}

// minDelay is the least wait DingTalk implied for this failure (e.g. 1 s after a QPS refusal).
func minDelay(err error) time.Duration {
	if de, ok := errors.AsType[*dispatcher.Error](err); ok {
		return de.MinDelay
	}
	return 0
}

// failureCode names a failure for logs and the Dingq-Error-Code header: DingTalk's code when it
// answered, otherwise what went wrong on the way.
func failureCode(err error) (code string, httpStatus int) {
	var de *dispatcher.Error
	var ve *schema.ValidationError
	var pf *priorFailure
	switch {
	case errors.As(err, &pf):
		return pf.code, pf.status
	case errors.As(err, &de):
		return de.Code, de.HTTPStatus
	case errors.As(err, &ve):
		return ve.Code, 0
	case errors.Is(err, context.DeadlineExceeded):
		return dispatcher.CodeTimeout, 0
	case errors.Is(err, errPanic):
		return dispatcher.CodePanic, 0
	case errors.Is(err, errNoOutcome):
		return dispatcher.CodeNoOutcome, 0
	}
	return dispatcher.CodeTransport, 0
}
