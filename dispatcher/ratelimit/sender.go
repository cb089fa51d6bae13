package ratelimit

import (
	"context"
	"errors"

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

// Wrap returns a sender that waits for each job's turn (see [Limiter.Wait]) before next sends
// it, and, when DingTalk answers with a penalty ([dispatcher.Error.Penalty]), holds the target's
// other jobs, across the fleet, until the penalty ends.
func (l *Limiter) Wrap(next dispatcher.Sender, targetOf TargetFunc) dispatcher.Sender {
	return dispatcher.SenderFunc(func(ctx context.Context, job dispatcher.Job) error {
		t, ok := targetOf(job)
		if !ok || t.Rate.Off() {
			return next.Send(ctx, job)
		}
		wait := l.Wait
		if !job.Turn.IsZero() {
			wait = func(ctx context.Context, key string, r Rate) error { return l.WaitTurn(ctx, key, r, job.Turn) }
		}
		if err := wait(ctx, t.Key, t.Rate); err != nil {
			return err
		}
		err := next.Send(ctx, job)
		var de *dispatcher.Error
		if errors.As(err, &de) && de.Penalty > 0 {
			// Recorded even if the send's context has ended: the block is DingTalk's, not ours.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.Timeout)
			_ = l.Penalize(ctx, t.Key, de.Penalty)
			cancel()
		}
		return err
	})
}
