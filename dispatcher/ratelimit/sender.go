package ratelimit

import (
	"context"
	"errors"
	"time"

	"github.com/dingq/dingq/dispatcher"
)

// Target is where a job is sent, as far as limits go: the key its turns are kept under (an app's
// API, a robot) and the rate that applies. A zero Rate is no limit.
type Target struct {
	Key  string
	Rate Rate
}

// TargetFunc names a job's target. ok false means the job is not limited.
type TargetFunc func(job dispatcher.Job) (t Target, ok bool)

// Wrap returns a sender that lets each request of a job to DingTalk out on its turn (see
// [Limiter.Wait]), right before the request leaves ([dispatcher.Job.Gate]): after the token fetch,
// which would otherwise delay a turn's send into the next one's, and once per request, as
// DingTalk counts them. When DingTalk answers with a penalty ([dispatcher.Error.Penalty]), it
// holds the target's other jobs, across the fleet, until the penalty ends. A job's Send runs its
// requests one after another, so the gate needs no lock.
func (l *Limiter) Wrap(next dispatcher.Sender, targetOf TargetFunc) dispatcher.Sender {
	return dispatcher.SenderFunc(func(ctx context.Context, job dispatcher.Job) error {
		t, ok := targetOf(job)
		if !ok || t.Rate.Off() {
			return next.Send(ctx, job)
		}
		turn := job.Turn // the first request may use the turn a deferral reserved
		outer := job.Gate
		job.Gate = func(ctx context.Context) error {
			if outer != nil {
				if err := outer(ctx); err != nil {
					return err
				}
			}
			reserved := turn
			turn = time.Time{}
			return l.WaitTurn(ctx, t.Key, t.Rate, reserved)
		}
		err := next.Send(ctx, job)
		if de, ok := errors.AsType[*dispatcher.Error](err); ok && de.Penalty > 0 {
			// Recorded even if the send's context has ended: the block is DingTalk's, not ours.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.Timeout)
			_ = l.Penalize(ctx, t.Key, de.Penalty)
			cancel()
		}
		return err
	})
}
