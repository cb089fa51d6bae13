package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// publishQueued publishes every job of w as fast as JetStream acknowledges them (asynchronously,
// at most 4,096 unacknowledged), records each one's publish time in pubAt, and returns once all
// are acknowledged. Progress goes to the log every few seconds.
func (l *lab) publishQueued(ctx context.Context, w workload, pubAt []int64, label string) error {
	stop := make(chan struct{})
	defer close(stop)
	var sent atomic.Int64
	start := time.Now()
	go every(5*time.Second, stop, func() {
		l.log.printf("%s: %d of %d jobs published", label, sent.Load(), w.n)
	})
	for n := range w.n {
		if err := l.publishOne(w, n, pubAt); err != nil {
			return err
		}
		sent.Store(int64(n + 1))
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if err := l.waitPublished(ctx); err != nil {
		return err
	}
	l.log.printf("%s: %d jobs queued in %.1f s", label, w.n, time.Since(start).Seconds())
	return nil
}

// publishPaced publishes the jobs of w at rate jobs per second, recording each one's publish
// time in pubAt; it returns once all are acknowledged.
func (l *lab) publishPaced(ctx context.Context, w workload, pubAt []int64, rate float64) error {
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for n := range w.n {
		due := start.Add(time.Duration(n) * interval)
		if d := time.Until(due); d > 200*time.Microsecond {
			if err := sleepCtx(ctx, d); err != nil {
				return err
			}
		}
		if err := l.publishOne(w, n, pubAt); err != nil {
			return err
		}
	}
	return l.waitPublished(ctx)
}

func (l *lab) publishOne(w workload, n int, pubAt []int64) error {
	m := &nats.Msg{Subject: l.names.SendSubject(w.kind(n)), Data: w.body(n)}
	pubAt[n] = now()
	if _, err := l.js.PublishMsgAsync(m, jetstream.WithStallWait(30*time.Second)); err != nil {
		return fmt.Errorf("publish job %d: %w", n, err)
	}
	return nil
}

// waitPublished waits until every asynchronous publish is acknowledged, and fails if any failed.
func (l *lab) waitPublished(ctx context.Context) error {
	select {
	case <-l.js.PublishAsyncComplete():
	case <-time.After(2 * time.Minute):
		return fmt.Errorf("publishing: %d acknowledgements still missing after 2 min", l.js.PublishAsyncPending())
	case <-ctx.Done():
		return ctx.Err()
	}
	if n := l.pubErrs.Swap(0); n > 0 {
		return fmt.Errorf("publishing: %d jobs were not stored", n)
	}
	return nil
}
