package dispatcher

import (
	"errors"
	"fmt"
	"time"

	"github.com/dingq/dingq/dispatcher/internal/wire"
)

// Decision is what the worker must do with a job after a failed send.
type Decision int

const (
	// Retry means the failure is transient: send again after a backoff.
	Retry Decision = iota
	// Reject means DingTalk said the request is wrong: dead-letter it, never send it again.
	Reject
	// TokenExpired means the access token was refused: drop it, fetch a new one, send again.
	// Senders handle it themselves; it reaches the worker only if the fresh token is refused too,
	// where it is treated as [Retry].
	TokenExpired
	// Defer means the job was not sent and nothing failed: it waits for its turn under a rate
	// limit (MinDelay says how long). A deferral does not use up one of the job's attempts.
	Defer
)

func (d Decision) String() string {
	switch d {
	case Retry:
		return "retry"
	case Reject:
		return "reject"
	case TokenExpired:
		return "token_expired"
	case Defer:
		return "defer"
	}
	return fmt.Sprintf("decision(%d)", int(d))
}

// Error is DingTalk's failure answer, classified. Every field is safe to log and to put in a
// dead letter's headers: it holds no token, secret or query string.
type Error struct {
	Decision Decision
	// Code is DingTalk's code as given ("systemBusy", "40035", "88/90018"), or a dingq code such
	// as "non_json_body" when the answer could not be read.
	Code string
	// HTTPStatus is the answer's HTTP status.
	HTTPStatus int
	// Message is DingTalk's message, trimmed.
	Message string
	// MinDelay is the least time to wait before the next send, where DingTalk implies one
	// (at least 1 s after a QPS refusal). Zero means the worker's own backoff alone decides.
	MinDelay time.Duration
	// Penalty is how long DingTalk now blocks every send to the same target (a group robot that
	// went over its 20 messages a minute is blocked for 10 minutes), so that the rate limiter
	// holds that target's other jobs too. Zero: no block announced.
	Penalty time.Duration
	// Turn, on a [Defer], is the send turn reserved for the job: the worker hands it back in
	// [Job.Turn] when the job returns after MinDelay, so the job keeps its place in the queue.
	Turn time.Time
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("dingtalk %s: http %d code %s", e.Decision, e.HTTPStatus, e.Code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// rejectJob is the refusal of a job that cannot be sent as it is; nothing was sent.
func rejectJob(code, msg string) *Error {
	return &Error{Decision: Reject, Code: code, Message: wire.Line(msg)}
}

// DecisionOf returns the decision err carries: that of the [*Error] in its chain, or [Retry] for
// any other error, since an unknown failure may be transient.
func DecisionOf(err error) Decision {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Decision
	}
	return Retry
}

// PartialError is the failure of a multi-message send that stopped part-way: the first Posted
// messages of the job are with DingTalk, and the next attempt starts after them ([Job.Posted]).
// It wraps the failure that stopped the send, which carries the decision.
type PartialError struct {
	Posted int
	Err    error
}

func (e *PartialError) Error() string { return e.Err.Error() }
func (e *PartialError) Unwrap() error { return e.Err }

// PostedOf returns how many messages of the job the failed send err posted in all, counting those
// of earlier attempts, and whether err says so at all.
func PostedOf(err error) (int, bool) {
	if p, ok := errors.AsType[*PartialError](err); ok {
		return p.Posted, true
	}
	return 0, false
}
