package worker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/schema"
)

// A job deferred under a rate limit keeps its attempts: three deferrals and a busy answer, with
// two attempts allowed, still end in a send on attempt 2. Each return hands the sender the turn
// the last deferral reserved.
func TestDeferralsDoNotSpendAttempts(t *testing.T) {
	e := newEnv(t)
	turn := time.Now().Add(time.Hour).Round(0)
	wait := &dispatcher.Error{Decision: dispatcher.Defer, Code: "rate_limit_wait", MinDelay: 10 * time.Millisecond, Turn: turn}
	s := newScript().on("defer-1", wait, wait, wait, busy)
	var mu sync.Mutex
	var seen []dispatcher.Job
	s.fn = func(_ context.Context, job dispatcher.Job) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, job)
		return nil
	}
	cfg := testConfig()
	cfg.MaxAttempts = 2
	e.run(cfg, s)

	e.publish(schema.KindCard, card("defer-1"), nil)
	e.waitFor(10*time.Second, "the job sent", func() bool { return e.log.Has("sent") })

	if sent := e.log.Events("sent")[0]; sent["attempt"] != float64(2) {
		t.Errorf("sent on attempt %v, want 2: the three deferrals are not attempts", sent["attempt"])
	}
	if n := len(e.deadLetters()); n != 0 {
		t.Errorf("dead letters = %d, want 0", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 5 {
		t.Fatalf("sender called %d times, want 5 (3 deferrals, busy, sent)", len(seen))
	}
	wantAttempts := []int{1, 1, 1, 1, 2}
	for i, job := range seen {
		if job.Attempt != wantAttempts[i] {
			t.Errorf("call %d: attempt %d, want %d", i+1, job.Attempt, wantAttempts[i])
		}
		if reserved := i > 0; reserved != job.Turn.Equal(turn) {
			t.Errorf("call %d: turn %v, want the reserved turn from call 2 on", i+1, job.Turn)
		}
	}
}
