package ratelimit

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/dispatcher"
)

// maxInWindow returns the most of times (sorted) that fall in any window [t, t+w).
func maxInWindow(times []time.Time, w time.Duration) int {
	most, j := 0, 0
	for i := range times {
		for times[i].Sub(times[j]) >= w {
			j++
		}
		most = max(most, i-j+1)
	}
	return most
}

// waitTurn waits for a turn like a worker does: a deferral is waited out (JetStream would
// redeliver the job after MinDelay) and tried again with the turn it reserved.
func waitTurn(ctx context.Context, l *Limiter, key string, r Rate) (deferrals int, err error) {
	var turn time.Time
	for {
		err := l.WaitTurn(ctx, key, r, turn)
		var de *dispatcher.Error
		if !errors.As(err, &de) || de.Decision != dispatcher.Defer {
			return deferrals, err
		}
		deferrals++
		turn = de.Turn
		select {
		case <-time.After(de.MinDelay):
		case <-ctx.Done():
			return deferrals, ctx.Err()
		}
	}
}

// Two processes sharing one bucket never grant more than N turns in any window of the period,
// and every send gets its turn. The period is short so that the test is quick; MaxHold is
// shorter than the queue, so most sends are deferred at least once.
func TestTwoLimitersShareOneRate(t *testing.T) {
	url := startNATS(t)
	cfg := Config{MaxHold: 100 * time.Millisecond}
	a, _ := newLimiter(t, url, cfg)
	b, _ := newLimiter(t, url, cfg)
	r := Rate{N: 10, Per: 200 * time.Millisecond}
	const sends = 60

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	var granted []time.Time
	var deferred int
	var wg sync.WaitGroup
	for i := range sends {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Go(func() {
			n, err := waitTurn(ctx, l, "robot.test", r)
			at := time.Now()
			mu.Lock()
			defer mu.Unlock()
			deferred += n
			if err != nil {
				t.Errorf("wait: %v", err)
				return
			}
			granted = append(granted, at)
		})
	}
	wg.Wait()
	if len(granted) != sends {
		t.Fatalf("%d of %d sends got a turn", len(granted), sends)
	}
	slices.SortFunc(granted, func(x, y time.Time) int { return x.Compare(y) })
	if most := maxInWindow(granted, r.Per); most > r.N {
		t.Errorf("%d turns in one window of %v, limit %d", most, r.Per, r.N)
	}
	// A deferred send keeps its reserved turn and comes back once, shortly before it.
	if deferred == 0 || deferred > 2*sends {
		t.Errorf("%d deferrals for %d sends; want some (the queue is longer than MaxHold), each about once", deferred, sends)
	}
	t.Logf("%d sends in %v, %d deferrals", sends, granted[sends-1].Sub(granted[0]), deferred)
}

// A penalty recorded by one process holds the target in another, and only that target.
func TestPenaltyHoldsTheTargetFleetWide(t *testing.T) {
	url := startNATS(t)
	a, _ := newLimiter(t, url, Config{})
	b, _ := newLimiter(t, url, Config{})
	r := Rate{N: 20, Per: time.Minute}
	ctx := context.Background()
	if err := a.Penalize(ctx, "robot.blocked", 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	err := b.Wait(ctx, "robot.blocked", r)
	var de *dispatcher.Error
	if !errors.As(err, &de) || de.Decision != dispatcher.Defer || de.Code != dispatcher.CodeRateLimitPenalty {
		t.Fatalf("wait on a penalized robot: %v, want a %s deferral", err, dispatcher.CodeRateLimitPenalty)
	}
	if de.MinDelay < 9*time.Minute {
		t.Errorf("deferred for %v, want about the 10 minutes left of the penalty", de.MinDelay)
	}
	if err := b.Wait(ctx, "robot.other", r); err != nil {
		t.Errorf("another robot: %v, want a turn at once", err)
	}
}

// An off rate never touches the bucket; an unreachable bucket defers the send rather than
// letting it through unlimited.
func TestOffRateAndUnavailableBucket(t *testing.T) {
	url := startNATS(t)
	l, kv := newLimiter(t, url, Config{Timeout: time.Second})
	ctx := context.Background()
	if err := l.Wait(ctx, "api.x.card", Rate{}); err != nil {
		t.Fatalf("off rate: %v", err)
	}
	if _, err := kv.Get(ctx, "api.x.card"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("an off rate touched the bucket: %v", err)
	}
	js := jetStream(t, url)
	if err := js.DeleteKeyValue(ctx, kv.Bucket()); err != nil {
		t.Fatal(err)
	}
	err := l.Wait(ctx, "api.x.card", Rate{N: 20, Per: time.Second})
	var de *dispatcher.Error
	if !errors.As(err, &de) || de.Decision != dispatcher.Defer || de.Code != dispatcher.CodeRateLimitUnavailable {
		t.Fatalf("wait with the bucket gone: %v, want a %s deferral", err, dispatcher.CodeRateLimitUnavailable)
	}
}
