package worker

import (
	"time"

	"github.com/dingq/dingq/schema"
)

// Results of a delivery, the values of [Outcome.Result].
const (
	ResultSent      = "sent"      // DingTalk accepted the job (final)
	ResultRejected  = "rejected"  // dead-lettered: DingTalk said the request is wrong (final)
	ResultExhausted = "exhausted" // dead-lettered: attempts used up (final)
	ResultInvalid   = "invalid"   // dead-lettered: failed validation, never sent (final)
	ResultRetried   = "retried"   // a failed attempt; the job comes back after a backoff
	ResultDeferred  = "deferred"  // waiting for its turn under a rate limit; not an attempt
	ResultHandBack  = "handed_back"
)

// Outcome is what became of one delivery of a job, as reported to [Deps.OnOutcome].
type Outcome struct {
	Kind       string // the job's kind as named by its subject ("card", or an unknown kind's name)
	JobID      string
	StreamSeq  uint64 // the job's sequence in the job stream
	Result     string // a Result* constant
	Code       string // DingTalk's or dingq's code for a failure; "" when sent
	HTTPStatus int    // the failure's HTTP status, where there was one
	Attempt    int    // the attempt this delivery was (attempts used, for a dead letter)
	Duration   time.Duration
	At         time.Time
}

// Final reports whether the job is done: sent or dead-lettered.
func (o Outcome) Final() bool {
	switch o.Result {
	case ResultSent, ResultRejected, ResultExhausted, ResultInvalid:
		return true
	}
	return false
}

// report passes an outcome of j to the OnOutcome hook, if there is one.
func (w *Worker) report(j job, result, code string, status, attempt int, took time.Duration) {
	if w.onOutcome == nil {
		return
	}
	w.onOutcome(Outcome{Kind: j.kindName, JobID: j.id, StreamSeq: j.streamSeq, Result: result, Code: code,
		HTTPStatus: status, Attempt: attempt, Duration: took, At: time.Now()})
}

// deadResult maps a dead letter's reason to its result.
func deadResult(reason string) string {
	switch reason {
	case schema.ReasonRejected:
		return ResultRejected
	case schema.ReasonInvalid:
		return ResultInvalid
	}
	return ResultExhausted
}
