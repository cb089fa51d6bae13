package worker_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/schema"
)

// promptStop is how long an idle worker may take to stop: it is asked to stop within 2 s, and the
// margin is for a loaded test machine. Before the fix it took until its connection gave up a
// drain (10 s) or the shutdown timeout, whichever came first.
const promptStop = 5 * time.Second

// stopTimed stops a worker and returns how long Run took to return.
func stopTimed(stop func()) time.Duration {
	start := time.Now()
	stop()
	return time.Since(start)
}

// A worker with nothing in flight stops at once while NATS is away: its consumers' drains cannot
// finish until NATS is back, and there is nothing to wait for.
func TestIdleWorkerStopsPromptlyWhileNATSIsDown(t *testing.T) {
	natsd := newRestartable(t)
	e := envOn(t, natsd.srv)
	cfg := testConfig()
	cfg.ShutdownTimeout = 20 * time.Second // longer than the drain's own 10 s give-up
	s := newScript()
	stop := e.run(cfg, s)
	e.publish(schema.KindCard, card("before-outage"), nil)
	e.waitFor(10*time.Second, "the job sent", func() bool { return s.count("before-outage") == 1 })

	natsd.stop()
	e.waitFor(10*time.Second, "the connection lost", func() bool { return !e.nc.IsConnected() })
	took := stopTimed(stop)
	t.Logf("idle worker, NATS down: Run returned %v after cancel", took.Round(time.Millisecond))
	if took > promptStop {
		t.Errorf("Run returned %v after cancel with NATS down and nothing in flight, want within %v", took, promptStop)
	}
	if !e.log.Has("worker stopped") {
		t.Errorf("no \"worker stopped\":\n%s", e.log)
	}
}

// With NATS up an idle worker lets its drains finish, which is quick.
func TestIdleWorkerStopsPromptlyWhileNATSIsUp(t *testing.T) {
	e := newEnv(t)
	cfg := testConfig()
	cfg.ShutdownTimeout = 20 * time.Second
	s := newScript()
	stop := e.run(cfg, s)
	e.publish(schema.KindCard, card("idle-up"), nil)
	e.waitFor(10*time.Second, "the job sent", func() bool { return s.count("idle-up") == 1 })
	took := stopTimed(stop)
	t.Logf("idle worker, NATS up: Run returned %v after cancel", took.Round(time.Millisecond))
	if took > promptStop {
		t.Errorf("Run returned %v after cancel with nothing in flight, want within %v", took, promptStop)
	}
}

// A send in flight when the worker is stopped while NATS is away still gets the shutdown timeout
// to finish: the prompt stop is for an idle worker only. Its ack cannot be confirmed, so the
// worker waits, within the same timeout, for the send to be recorded once NATS is back.
func TestInFlightSendFinishesWhenStoppedWhileNATSIsDown(t *testing.T) {
	natsd := newRestartable(t)
	e := envOn(t, natsd.srv)
	cfg := testConfig()
	cfg.ShutdownTimeout = 20 * time.Second
	sending, release := make(chan struct{}), make(chan struct{})
	var sends, cancelled atomic.Int64
	stop := e.run(cfg, dispatcher.SenderFunc(func(ctx context.Context, _ dispatcher.Job) error {
		if sends.Add(1) == 1 {
			close(sending)
		}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			cancelled.Add(1)
			return ctx.Err()
		}
	}))
	e.publish(schema.KindCard, card("in-flight"), nil)
	<-sending
	natsd.stop()
	e.waitFor(10*time.Second, "the connection lost", func() bool { return !e.nc.IsConnected() })

	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	e.waitFor(10*time.Second, "the worker stopping", func() bool { return e.log.Has("worker stopping: no new jobs, finishing in-flight sends") })
	// Longer than an idle worker may take: Run must still be waiting for the send.
	select {
	case <-stopped:
		t.Fatalf("Run returned while a send was in flight:\n%s", e.log)
	case <-time.After(promptStop):
	}
	close(release)
	natsd.start()
	select {
	case <-stopped:
	case <-time.After(cfg.ShutdownTimeout):
		t.Fatalf("Run did not return after the send finished:\n%s", e.log)
	}
	if n := cancelled.Load(); n != 0 {
		t.Errorf("the in-flight send was cancelled; want it given the shutdown timeout")
	}
	if e.log.Has("shutdown timeout: cancelling in-flight sends and handing their jobs back") {
		t.Errorf("shutdown timeout hit:\n%s", e.log)
	}
	e.waitFor(10*time.Second, "the send recorded", func() bool { return e.streamMsgs("KV_"+names.SentBucket()) == 1 })
	if n := sends.Load(); n != 1 {
		t.Errorf("sends = %d, want 1", n)
	}
}
