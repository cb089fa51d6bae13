package worker_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
)

// beats is a subscription to every worker's heartbeats.
type beats struct {
	e   *env
	sub *nats.Subscription
}

// listenBeats subscribes to the heartbeats on the test's connection, before any worker starts.
func (e *env) listenBeats() *beats {
	e.t.Helper()
	sub, err := e.nc.SubscribeSync(names.WorkerSubjects())
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.nc.Flush(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = sub.Unsubscribe() })
	return &beats{e: e, sub: sub}
}

// next returns the next beat, failing the test if none comes within timeout.
func (b *beats) next(timeout time.Duration) (worker.Heartbeat, *nats.Msg) {
	b.e.t.Helper()
	m, err := b.sub.NextMsg(timeout)
	if err != nil {
		b.e.t.Fatalf("no heartbeat within %v: %v; log:\n%s", timeout, err, b.e.log)
	}
	h, err := worker.ParseHeartbeat(m.Data)
	if err != nil {
		b.e.t.Fatalf("heartbeat %s on %s: %v", m.Data, m.Subject, err)
	}
	return h, m
}

// waitFor reads beats until one satisfies cond, and returns it; it fails the test if none does
// within timeout.
func (b *beats) waitFor(timeout time.Duration, what string, cond func(worker.Heartbeat) bool) worker.Heartbeat {
	b.e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			b.e.t.Fatalf("timed out after %v waiting for a heartbeat with %s; log:\n%s", timeout, what, b.e.log)
		}
		m, err := b.sub.NextMsg(left)
		if err != nil {
			b.e.t.Fatalf("waiting for a heartbeat with %s: %v; log:\n%s", what, err, b.e.log)
		}
		h, err := worker.ParseHeartbeat(m.Data)
		if err != nil {
			b.e.t.Fatalf("heartbeat %s on %s: %v", m.Data, m.Subject, err)
		}
		if cond(h) {
			return h
		}
	}
}

// pending returns the beats received and not yet read. The worker publishes on the test's
// connection: after a round trip on it, every beat published before is pending.
func (b *beats) pending() []worker.Heartbeat {
	b.e.t.Helper()
	if err := b.e.nc.Flush(); err != nil {
		b.e.t.Fatal(err)
	}
	var out []worker.Heartbeat
	for {
		m, err := b.sub.NextMsg(0)
		if err != nil {
			return out
		}
		h, err := worker.ParseHeartbeat(m.Data)
		if err != nil {
			b.e.t.Fatalf("heartbeat %s: %v", m.Data, err)
		}
		out = append(out, h)
	}
}

// runFor starts a worker and returns it and a stop that cancels it and waits for Run to return.
func (e *env) runFor(cfg worker.Config, deps worker.Deps) (*worker.Worker, func()) {
	e.t.Helper()
	w := e.newWorker(cfg, deps)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				e.t.Errorf("Run: %v", err)
			}
		})
	}
	e.t.Cleanup(stop)
	return w, stop
}

// A running worker announces itself ready as soon as it consumes, on its own subject, with what a
// console shows and nothing secret; says why it is not ready when a resource it needs is gone and
// cannot be provisioned again, and when it is ready again; and its last beat, published before Run
// returns, says it is stopping.
func TestHeartbeats(t *testing.T) {
	e := newEnv(t)
	b := e.listenBeats()
	cfg := testConfig()
	cfg.Apps = []string{"sales"}
	w, stop := e.runFor(cfg, worker.Deps{Sender: newScript()})

	first, m := b.next(10 * time.Second)
	host, _ := os.Hostname()
	if m.Subject != names.WorkerSubject(w.ID()) || m.Subject != "dingq.workers."+w.ID() {
		t.Errorf("beat on %s, want %s: the id is one subject token as it is", m.Subject, names.WorkerSubject(w.ID()))
	}
	if first.ID != w.ID() || !strings.HasPrefix(w.ID(), schema.SubjectToken(host)+"-") || first.Host != host || first.PID != os.Getpid() {
		t.Errorf("beat names %q on %q, pid %d; want %q on %q, pid %d", first.ID, first.Host, first.PID, w.ID(), host, os.Getpid())
	}
	if !first.Ready || first.NotReady != "" || first.Stopping || first.InFlight != 0 {
		t.Errorf("first beat: ready %v (%q), stopping %v, in flight %d; want ready, idle", first.Ready, first.NotReady, first.Stopping, first.InFlight)
	}
	if !slices.Equal(first.Apps, []string{"default", "sales"}) || !slices.Equal(first.Kinds, []string{"card", "crossdomain", "robot"}) ||
		first.Concurrency != cfg.Concurrency || first.Every != worker.HeartbeatEvery {
		t.Errorf("first beat: apps %q, kinds %q, concurrency %d, every %v", first.Apps, first.Kinds, first.Concurrency, first.Every)
	}
	if first.Version == "" || first.Started.IsZero() || first.At.Before(first.Started) || time.Since(first.At) > time.Minute ||
		first.Started.Location() != time.UTC {
		t.Errorf("first beat: version %q, started %v, at %v", first.Version, first.Started, first.At)
	}
	if first.Gone(first.At.Add(3*first.Every)) || !first.Gone(first.At.Add(3*first.Every+time.Millisecond)) {
		t.Errorf("a worker is gone after 3 missed beats of %v and not before", first.Every)
	}
	var raw map[string]any
	if err := json.Unmarshal(m.Data, &raw); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	// Exactly these: no URL, credential or job can hide in another field.
	want := []string{"apps", "at", "concurrency", "every_ms", "host", "id", "in_flight", "kinds", "pid", "ready", "started", "stopping", "version"}
	if !slices.Equal(keys, want) || raw["every_ms"] != float64(5000) {
		t.Errorf("beat %s: keys %q, want %q and every_ms 5000", m.Data, keys, want)
	}

	// The dead-letter stream deleted, and its subjects taken by another stream: the worker cannot
	// provision it again, and says so at once rather than at the next beat.
	if err := e.js.DeleteStream(context.Background(), names.DeadStream()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "SQUATTER", Subjects: []string{names.DeadSubjects()}}); err != nil {
		t.Fatal(err)
	}
	down := b.waitFor(10*time.Second, "ready false", func(h worker.Heartbeat) bool { return !h.Ready })
	if ready := w.Ready(); ready == nil || down.NotReady != ready.Error() ||
		!strings.Contains(down.NotReady, "missing stream "+names.DeadStream()) || down.ID != w.ID() {
		t.Errorf("not ready beat: %q; want the worker's readiness error, %v", down.NotReady, ready)
	}
	if err := e.js.DeleteStream(context.Background(), "SQUATTER"); err != nil {
		t.Fatal(err)
	}
	b.waitFor(10*time.Second, "ready again", func(h worker.Heartbeat) bool { return h.Ready && h.NotReady == "" })

	stop()
	got := b.pending()
	if len(got) == 0 {
		t.Fatalf("no beat while stopping; log:\n%s", e.log)
	}
	last := got[len(got)-1]
	if !last.Stopping || last.InFlight != 0 || last.ID != w.ID() || !last.Gone(last.At) {
		t.Errorf("last beat: stopping %v, in flight %d, id %q; want stopping, idle, %q", last.Stopping, last.InFlight, last.ID, w.ID())
	}
	if !e.log.Has("worker started") || e.log.Events("worker started")[0]["worker_id"] != w.ID() {
		t.Errorf("the log does not name the worker %s:\n%s", w.ID(), e.log)
	}
}

// Beats come every interval, and show the sends in flight; the worker beats while it finishes
// them after it is told to stop, saying it is stopping, and its last beat shows none left.
func TestHeartbeatsShowSendsInFlight(t *testing.T) {
	e := newEnv(t)
	b := e.listenBeats()
	cfg := testConfig()
	cfg.Heartbeat = 100 * time.Millisecond
	sending, release := make(chan struct{}), make(chan struct{})
	w, stop := e.runFor(cfg, worker.Deps{Sender: dispatcher.SenderFunc(func(context.Context, dispatcher.Job) error {
		close(sending) // one job only
		<-release
		return nil
	})})
	first := b.waitFor(10*time.Second, "ready", func(h worker.Heartbeat) bool { return h.Ready })
	if first.Every != cfg.Heartbeat {
		t.Errorf("every %v, want %v", first.Every, cfg.Heartbeat)
	}
	// Three more beats, each within a few intervals of the one before.
	prev := first
	for range 3 {
		h, _ := b.next(10 * time.Second)
		if gap := h.At.Sub(prev.At); gap <= 0 || gap > 3*time.Second {
			t.Errorf("beats %v apart, want about %v", gap, cfg.Heartbeat)
		}
		prev = h
	}

	e.publish(schema.KindCard, card("slow"), nil)
	<-sending
	b.waitFor(10*time.Second, "one send in flight", func(h worker.Heartbeat) bool { return h.InFlight == 1 })

	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	b.waitFor(10*time.Second, "stopping with the send in flight", func(h worker.Heartbeat) bool { return h.Stopping && h.InFlight == 1 })
	close(release)
	<-stopped
	got := b.pending()
	if len(got) == 0 || !got[len(got)-1].Stopping || got[len(got)-1].InFlight != 0 || got[len(got)-1].ID != w.ID() {
		t.Errorf("beats after the send finished: %+v; want the last stopping and idle", got)
	}
}

// With heartbeats off a worker publishes none, from its start to its stop.
func TestHeartbeatsOff(t *testing.T) {
	e := newEnv(t)
	b := e.listenBeats()
	cfg := testConfig()
	cfg.Heartbeat = -1
	_, stop := e.runFor(cfg, worker.Deps{Sender: newScript()})
	e.waitFor(10*time.Second, "worker started", func() bool { return e.log.Has("worker started") })
	stop()
	if got := b.pending(); len(got) != 0 {
		t.Errorf("heartbeats off, got %d beats: %+v", len(got), got)
	}
}

func TestHeartbeatInterval(t *testing.T) {
	for _, every := range []time.Duration{time.Millisecond, 99 * time.Millisecond} {
		cfg := testConfig()
		cfg.Heartbeat = every
		if _, err := worker.New(nil, cfg, worker.Deps{Sender: newScript(), Validator: noValidator{}}); err == nil {
			t.Errorf("heartbeat every %v accepted; want at least 100ms", every)
		}
	}
}

type noValidator struct{}

func (noValidator) Validate(schema.Kind, []byte) error { return nil }

func TestParseHeartbeat(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 0, 5, 123e6, time.UTC)
	in := worker.Heartbeat{ID: "web-1-4711-a3f09c", Host: "web-1", PID: 4711, Version: "v1.4.0",
		Started: at.Add(-time.Hour), At: at, Ready: false, NotReady: "missing stream DINGQ_DEAD",
		Apps: []string{"default", "sales"}, Kinds: []string{"card", "crossdomain", "robot"},
		Concurrency: 64, InFlight: 3, Every: 5 * time.Second}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"id":"web-1-4711-a3f09c","host":"web-1","pid":4711,"version":"v1.4.0",` +
		`"started":"2026-11-22T09:00:05.123Z","at":"2026-11-22T10:00:05.123Z","ready":false,` +
		`"not_ready":"missing stream DINGQ_DEAD","apps":["default","sales"],"kinds":["card","crossdomain","robot"],` +
		`"concurrency":64,"in_flight":3,"stopping":false,"every_ms":5000}`
	if string(data) != want {
		t.Errorf("JSON\n%s\nwant\n%s", data, want)
	}
	out, err := worker.ParseHeartbeat(data)
	if err != nil {
		t.Fatal(err)
	}
	if out.ID != in.ID || !out.At.Equal(in.At) || out.Every != in.Every || out.NotReady != in.NotReady ||
		!slices.Equal(out.Apps, in.Apps) || out.InFlight != 3 || out.Concurrency != 64 {
		t.Errorf("parsed %+v, want %+v", out, in)
	}
	if out.Gone(at.Add(15*time.Second)) || !out.Gone(at.Add(16*time.Second)) {
		t.Error("gone after more than 3 missed beats, not before")
	}
	for _, bad := range []string{``, `{`, `[]`, `{"id":"x"}`, `{"every_ms":5000}`, `{"id":"x","every_ms":0}`, `{"id":"x","every_ms":"5s"}`} {
		if _, err := worker.ParseHeartbeat([]byte(bad)); err == nil {
			t.Errorf("ParseHeartbeat(%q): no error", bad)
		}
	}
}

// A worker beats again once NATS is back after an outage, without waiting for its next interval;
// no beat of the outage is delivered late.
func TestHeartbeatsResumeAfterNATSRestarts(t *testing.T) {
	natsd := newRestartable(t)
	e := envOn(t, natsd.srv)
	b := e.listenBeats()
	cfg := testConfig()
	cfg.Heartbeat = time.Hour // a beat within the test is not the periodic one
	w, _ := e.runFor(cfg, worker.Deps{Sender: newScript()})
	b.waitFor(10*time.Second, "ready", func(h worker.Heartbeat) bool { return h.Ready })

	natsd.stop()
	e.waitFor(10*time.Second, "the connection lost", func() bool { return !e.nc.IsConnected() })
	back := time.Now()
	natsd.start()
	e.waitFor(10*time.Second, "reconnected", func() bool { return e.nc.IsConnected() })
	h := b.waitFor(10*time.Second, "a beat after the restart", func(h worker.Heartbeat) bool { return h.ID == w.ID() })
	if h.At.Before(back.Add(-time.Second)) {
		t.Errorf("first beat after the restart from %v, before NATS was back (%v)", h.At, back)
	}
}
