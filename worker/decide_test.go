package worker

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/schema"
)

func TestDecide(t *testing.T) {
	cfg := Config{MaxAttempts: 3, BackoffInitial: time.Second, BackoffMax: time.Minute}.withDefaults()
	busy := &dispatcher.Error{Decision: dispatcher.Retry, Code: "systemBusy"}
	qps := &dispatcher.Error{Decision: dispatcher.Retry, Code: "90018", MinDelay: 10 * time.Second}
	bad := &dispatcher.Error{Decision: dispatcher.Reject, Code: "40035"}
	stale := &dispatcher.Error{Decision: dispatcher.TokenExpired, Code: "InvalidAuthentication"}
	wait := &dispatcher.Error{Decision: dispatcher.Defer, Code: "rate_limit_wait", MinDelay: 7 * time.Second}
	cases := []struct {
		name     string
		attempt  int
		err      error
		stopping bool
		want     action
		reason   string
	}{
		{"sent", 1, nil, false, actAck, ""},
		{"busy retries", 1, busy, false, actRetry, ""},
		{"wrapped busy retries", 2, fmt.Errorf("send: %w", busy), false, actRetry, ""},
		{"unknown error retries", 1, errors.New("connection reset"), false, actRetry, ""},
		{"token still refused retries", 1, stale, false, actRetry, ""},
		{"reject dead-letters at once", 1, bad, false, actDead, schema.ReasonRejected},
		{"wrapped reject", 1, fmt.Errorf("x: %w", bad), false, actDead, schema.ReasonRejected},
		{"last attempt exhausts", 3, busy, false, actDead, schema.ReasonExhausted},
		{"reject on last attempt is rejected", 3, bad, false, actDead, schema.ReasonRejected},
		{"cancelled while stopping hands back", 1, context.Canceled, true, actHandBack, ""},
		{"cancelled while stopping on last attempt hands back", 3, context.Canceled, true, actHandBack, ""},
		{"cancelled not stopping retries", 1, context.Canceled, false, actRetry, ""},
		{"deferral waits", 1, wait, false, actDefer, ""},
		{"deferral on the last attempt still waits", 3, fmt.Errorf("x: %w", wait), false, actDefer, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := cfg.decide(c.attempt, c.err, c.stopping)
			if v.action != c.want || v.reason != c.reason {
				t.Errorf("decide = %+v, want action %v reason %q", v, c.want, c.reason)
			}
		})
	}
	if v := cfg.decide(3, wait, false); v.delay != 7*time.Second {
		t.Errorf("deferral's MinDelay ignored: delay = %v", v.delay)
	}
	if v := cfg.decide(1, qps, false); v.delay != 10*time.Second {
		t.Errorf("MinDelay ignored: delay = %v", v.delay)
	}
}

func TestRetryDelayGrowsWithJitterUntilTheCap(t *testing.T) {
	cfg := Config{BackoffInitial: time.Second, BackoffMax: 30 * time.Second}.withDefaults()
	for range 200 {
		prev := time.Duration(0)
		for n := 1; n <= 8; n++ {
			d := cfg.retryDelay(n)
			base := time.Second << (n - 1)
			lo, hi := base*3/4, base*5/4
			if base >= cfg.BackoffMax {
				lo, hi = cfg.BackoffMax*3/4, cfg.BackoffMax
			}
			if d < lo || d > hi {
				t.Fatalf("attempt %d: delay %v outside [%v, %v]", n, d, lo, hi)
			}
			if base < cfg.BackoffMax/2 && d <= prev {
				t.Fatalf("attempt %d: delay %v did not grow from %v", n, d, prev)
			}
			prev = d
		}
	}
}
