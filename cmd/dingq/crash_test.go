package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/dispatcher/sandbox"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker/workertest"
)

// process is a `dingq serve` running as its own OS process, so it can be killed for real.
type process struct {
	cmd  *exec.Cmd
	out  *workertest.LogBuffer
	done chan error
}

// buildDingq compiles the command into the test's temporary directory.
func buildDingq(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "dingq")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func startProcess(t *testing.T, bin string, env map[string]string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, "serve"), out: &workertest.LogBuffer{}, done: make(chan error, 1)}
	p.cmd.Env = os.Environ()
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); <-p.done })
	waitFor(t, 20*time.Second, "the worker process started", func() bool { return p.out.Has("worker started") }, p.out)
	return p
}

func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	p.done <- nil // for the cleanup
}

// crashEnv is the environment of a worker process in these tests: a short ack wait, so jobs of a
// killed worker come back within seconds.
func (h *harness) crashEnv() map[string]string {
	env := h.env()
	env["DINGQ_ACK_WAIT"] = "2s"
	env["DINGQ_LOG_LEVEL"] = "info"
	return env
}

func publishCards(t *testing.T, js jetstream.JetStream, prefix string, n int) {
	t.Helper()
	for i := range n {
		m := nats.NewMsg("dingq.send.card")
		m.Data = []byte(cardJob(fmt.Sprintf("%s-%05d", prefix, i)))
		if _, err := js.PublishMsgAsync(m); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		t.Fatal("publishing timed out")
	}
}

func TestSIGKILLWithJobsInFlightLosesNothing(t *testing.T) {
	const jobs = 5000
	h := newHarness(t, sandbox.Config{Latency: 20 * time.Millisecond})
	bin := buildDingq(t)
	env := h.crashEnv()
	first := startProcess(t, bin, env)
	publishCards(t, h.js, "kill", jobs)

	waitFor(t, 60*time.Second, "a third of the jobs sent", func() bool { return len(h.sb.Deliveries()) >= jobs/3 }, first.out)
	first.kill(t)
	sentBefore := h.sb.Stats().Deliveries[schema.KindCard]

	restarted := time.Now()
	startProcess(t, bin, env)
	waitFor(t, 120*time.Second, "every job delivered", func() bool { return h.uniqueDeliveries(jobs, "kill") == jobs }, first.out)
	waitFor(t, 30*time.Second, "the job stream empty", func() bool { return h.jobStreamMsgs() == 0 }, first.out)
	recovery := time.Since(restarted)

	dups := h.sb.Stats().Deliveries[schema.KindCard] - jobs
	t.Logf("SIGKILL: %d jobs, %d sent before the kill, 0 lost, %d duplicate sends, all delivered %v after the restart",
		jobs, sentBefore, dups, recovery.Round(time.Millisecond))
	// Only a job whose send landed while its worker died, before the sent-record and the ack, can
	// be sent twice: at most one per concurrent send.
	if dups > 64 {
		t.Errorf("duplicate sends = %d, want at most the 64 that can be mid-send", dups)
	}
}

func TestWorkerKilledDuringTheLastAttemptDeadLettersTheJob(t *testing.T) {
	h := newHarness(t)
	bin := buildDingq(t)
	env := h.crashEnv()
	env["DINGQ_MAX_ATTEMPTS"] = "2"
	env["DINGQ_HTTP_TIMEOUT"] = "60s"
	// Attempt 1 is answered busy; attempt 2 hangs until its worker is killed.
	for _, f := range []sandbox.Fault{
		{Contains: "last-try", Preset: "busy", Times: 1},
		{Contains: "last-try", Preset: "busy", Delay: time.Minute, Times: 1},
	} {
		if err := h.sb.AddFault(f); err != nil {
			t.Fatal(err)
		}
	}
	p := startProcess(t, bin, env)
	publishCards(t, h.js, "last-try", 1)
	waitFor(t, 20*time.Second, "the last attempt under way", func() bool { return h.sb.Requests(schema.KindCard) == 2 }, p.out)
	p.kill(t)

	q := startProcess(t, bin, env)
	waitFor(t, 30*time.Second, "the dead letter", func() bool { return q.out.Has("dead-lettered") }, q.out)
	dead, err := h.js.Stream(context.Background(), "DINGQ_DEAD")
	if err != nil {
		t.Fatal(err)
	}
	dl, err := dead.GetLastMsgForSubject(context.Background(), "dingq.dead.card")
	if err != nil {
		t.Fatal(err)
	}
	if id, r := dl.Header.Get(schema.HeaderJobID), dl.Header.Get(schema.HeaderReason); id != "last-try-00000" || r != "exhausted" {
		t.Errorf("dead letter: job %s reason %s", id, r)
	}
	if n := h.sb.Requests(schema.KindCard); n != 2 {
		t.Errorf("sends = %d, want 2: no send after the last attempt", n)
	}
}

func TestSIGTERMFinishesInFlightSendsAndExitsZero(t *testing.T) {
	h := newHarness(t, sandbox.Config{Latency: 300 * time.Millisecond})
	bin := buildDingq(t)
	p := startProcess(t, bin, h.crashEnv())
	publishCards(t, h.js, "term", 20)
	waitFor(t, 20*time.Second, "sends in flight", func() bool { return h.sb.Requests(schema.KindCard) > 0 }, p.out)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, p.out)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit 30 s after SIGTERM")
	}
	// Every send that had started finished and was acked: none of them comes back.
	started := h.sb.Requests(schema.KindCard)
	if d := len(h.sb.Deliveries()); d != started {
		t.Errorf("delivered %d of %d started sends", d, started)
	}
	if left := h.jobStreamMsgs(); left != uint64(20-started) {
		t.Errorf("job stream holds %d, want the %d never started", left, 20-started)
	}
}

func (h *harness) uniqueDeliveries(n int, prefix string) int {
	got := 0
	for i := range n {
		if h.sb.DeliveryCount(fmt.Sprintf("%s-%05d", prefix, i)) > 0 {
			got++
		}
	}
	return got
}

func (h *harness) jobStreamMsgs() uint64 {
	s, err := h.js.Stream(context.Background(), "DINGQ_JOBS")
	if err != nil {
		return 0
	}
	info, err := s.Info(context.Background())
	if err != nil {
		return 0
	}
	return info.State.Msgs
}
