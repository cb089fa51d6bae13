package main

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dingq/dingq/dispatcher/sandbox"
)

// promptExit is how long an idle `dingq serve` may take to exit after SIGTERM: it is asked to exit
// within 2 s, and the margin is for a loaded test machine. Before the fix it took 21.5 s with
// NATS down.
const promptExit = 5 * time.Second

// unflushedMsg is the one warning a worker stopping without NATS gives about what it could not
// flush, if anything.
const unflushedMsg = "stopped with status records and acks unflushed: NATS unreachable"

// terminate sends SIGTERM to p and returns how long it took to exit; it fails the test unless p
// exits 0 within 30 s.
func (p *process) terminate(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, p.out)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit 30 s after SIGTERM:\n%s", p.out)
	}
	return time.Since(start)
}

// An idle worker whose NATS is down exits promptly on SIGTERM, and says at most once what it could
// not flush.
func TestIdleServeExitsPromptlyOnSIGTERMWhileNATSIsDown(t *testing.T) {
	h := newHarness(t)
	bin := buildDingq(t)
	p := startProcess(t, bin, h.crashEnv())
	publishCards(t, h.js, "idle-down", 1)
	waitFor(t, 20*time.Second, "the job sent", func() bool { return h.sb.DeliveryCount("idle-down-00000") == 1 }, p.out)
	// Nothing is in flight, but the job's status record may still be on its way: NATS goes down
	// either way, and whatever is left must not hold up the exit.
	h.srv.Shutdown()
	waitFor(t, 10*time.Second, "the worker noticing", func() bool { return p.out.Has("disconnected from NATS; reconnecting") }, p.out)

	took := p.terminate(t)
	t.Logf("idle dingq serve, NATS down: exited %v after SIGTERM", took.Round(time.Millisecond))
	if took > promptExit {
		t.Errorf("exited %v after SIGTERM with NATS down and nothing in flight, want within %v\n%s", took, promptExit, p.out)
	}
	if n := p.out.Count(unflushedMsg); n > 1 {
		t.Errorf("%d warnings %q, want at most 1:\n%s", n, unflushedMsg, p.out)
	}
	assertOneWarningAfterStopping(t, p)
}

// A job that fails while NATS is down is handed back with a nak that cannot reach the server. The
// worker, idle again, still exits promptly on SIGTERM, and says once that the nak was not flushed.
func TestServeStoppedWithANakUnflushedExitsPromptlyAndSaysSoOnce(t *testing.T) {
	h := newHarness(t)
	if err := h.sb.AddFault(sandbox.Fault{Contains: "held", Preset: "busy", Times: 1}); err != nil {
		t.Fatal(err)
	}
	// In front of the sandbox: the first card send is held until NATS is down.
	arrived, release := make(chan struct{}), make(chan struct{})
	var arrive, letGo sync.Once
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1.0/im/interactiveCards/templates/send" {
			arrive.Do(func() { close(arrived); <-release })
		}
		h.sb.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	t.Cleanup(func() { letGo.Do(func() { close(release) }) }) // before front.Close, which waits for it
	env := h.crashEnv()
	env["DINGQ_DINGTALK_API_URL"] = front.URL
	p := startProcess(t, buildDingq(t), env)
	publishCards(t, h.js, "held", 1)
	select {
	case <-arrived:
	case <-time.After(20 * time.Second):
		t.Fatalf("the send never arrived:\n%s", p.out)
	}
	h.srv.Shutdown()
	waitFor(t, 10*time.Second, "the worker noticing", func() bool { return p.out.Has("disconnected from NATS; reconnecting") }, p.out)
	letGo.Do(func() { close(release) })
	waitFor(t, 10*time.Second, "the job handed back for a retry", func() bool { return p.out.Has("retry") }, p.out)

	took := p.terminate(t)
	t.Logf("dingq serve idle with a nak unflushed, NATS down: exited %v after SIGTERM", took.Round(time.Millisecond))
	if took > promptExit {
		t.Errorf("exited %v after SIGTERM with NATS down and nothing in flight, want within %v\n%s", took, promptExit, p.out)
	}
	warnings := p.out.Events(unflushedMsg)
	if len(warnings) != 1 {
		t.Fatalf("%d warnings %q, want 1:\n%s", len(warnings), unflushedMsg, p.out)
	}
	if b, _ := warnings[0]["unflushed_bytes"].(float64); b <= 0 {
		t.Errorf("warning %v: want the unflushed nak's bytes counted", warnings[0])
	}
	assertOneWarningAfterStopping(t, p)
}

// With NATS up an idle worker flushes everything, exits promptly and warns about nothing.
func TestIdleServeExitsPromptlyOnSIGTERMWhileNATSIsUp(t *testing.T) {
	h := newHarness(t)
	bin := buildDingq(t)
	p := startProcess(t, bin, h.crashEnv())
	publishCards(t, h.js, "idle-up", 1)
	waitFor(t, 20*time.Second, "the job sent", func() bool { return h.sb.DeliveryCount("idle-up-00000") == 1 }, p.out)

	took := p.terminate(t)
	t.Logf("idle dingq serve, NATS up: exited %v after SIGTERM", took.Round(time.Millisecond))
	if took > promptExit {
		t.Errorf("exited %v after SIGTERM with nothing in flight, want within %v\n%s", took, promptExit, p.out)
	}
	if p.out.Has(unflushedMsg) {
		t.Errorf("warned %q with NATS up:\n%s", unflushedMsg, p.out)
	}
	if h.jobStreamMsgs() != 0 {
		t.Errorf("the job stream holds %d jobs; want the sent job acked", h.jobStreamMsgs())
	}
}

// assertOneWarningAfterStopping checks that, from "worker stopping" on, the only warning is the
// one about what could not be flushed: a stopping worker does not repeat itself.
func assertOneWarningAfterStopping(t *testing.T, p *process) {
	t.Helper()
	stopping := false
	for _, ev := range p.out.Events("") {
		if ev["message"] == "worker stopping: no new jobs, finishing in-flight sends" {
			stopping = true
		}
		if stopping && (ev["level"] == "warn" || ev["level"] == "error") && ev["message"] != unflushedMsg {
			t.Errorf("warning while stopping besides the one about what was not flushed: %v", ev)
		}
	}
	if !stopping {
		t.Errorf("no \"worker stopping\":\n%s", p.out)
	}
}
