package ratelimit

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dingq/dingq/dispatcher"
)

// A penalty answered to one send holds the target's next job, in another process, without a
// send; jobs of other targets and unlimited jobs go straight through.
func TestWrapHoldsTheTargetAfterAPenalty(t *testing.T) {
	url := startNATS(t)
	a, _ := newLimiter(t, url, Config{})
	b, _ := newLimiter(t, url, Config{})
	var sends atomic.Int32
	blocked := &dispatcher.Error{Decision: dispatcher.Retry, Code: "410100", Penalty: 10 * time.Minute, MinDelay: 10 * time.Minute}
	next := dispatcher.SenderFunc(func(ctx context.Context, job dispatcher.Job) error {
		if job.Gate != nil {
			if err := job.Gate(ctx); err != nil {
				return err
			}
		}
		sends.Add(1)
		if job.ID == "first" {
			return blocked
		}
		return nil
	})
	targets := func(job dispatcher.Job) (Target, bool) {
		if job.ID == "free" {
			return Target{}, false
		}
		return Target{Key: "robot." + string(job.Body), Rate: Rate{N: 20, Per: time.Minute}}, true
	}
	ctx := context.Background()
	if err := a.Wrap(next, targets).Send(ctx, dispatcher.Job{ID: "first", Body: []byte("ops")}); !errors.Is(err, blocked) {
		t.Fatalf("first send: %v, want DingTalk's answer", err)
	}
	wb := b.Wrap(next, targets)
	err := wb.Send(ctx, dispatcher.Job{ID: "second", Body: []byte("ops")})
	var de *dispatcher.Error
	if !errors.As(err, &de) || de.Decision != dispatcher.Defer || de.Code != dispatcher.CodeRateLimitPenalty || de.Turn.IsZero() {
		t.Fatalf("second job to the blocked robot: %v, want a %s deferral with a reserved turn", err, dispatcher.CodeRateLimitPenalty)
	}
	if err := wb.Send(ctx, dispatcher.Job{ID: "other", Body: []byte("sales")}); err != nil {
		t.Errorf("a job to another robot: %v", err)
	}
	if err := wb.Send(ctx, dispatcher.Job{ID: "free", Body: []byte("ops")}); err != nil {
		t.Errorf("an unlimited job: %v", err)
	}
	if n := sends.Load(); n != 3 {
		t.Errorf("%d sends, want 3: the held job must not be sent", n)
	}
}
