package worker

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/dingq/dingq/schema"
)

// HeartbeatEvery is how often a running worker announces itself on
// [schema.Names.WorkerSubject] when [Config.Heartbeat] is not set.
const HeartbeatEvery = 5 * time.Second

// MissedHeartbeats is how many intervals without a beat make a worker gone: see [Heartbeat.Gone].
const MissedHeartbeats = 3

// heartbeatPoll spaces the checks of readiness between beats: a change is announced at once,
// rather than at the next beat.
const heartbeatPoll = time.Second

// maxNotReady caps the length of [Heartbeat.NotReady].
const maxNotReady = 1024

// Heartbeat is what a running worker publishes on core NATS, on [schema.Names.WorkerSubject] of
// its id, as JSON: once as soon as it consumes, every [Config.Heartbeat] (default 5 s), within a
// second of a change of its readiness or of its connection coming back, once when it begins to
// stop and once as Run returns (both with Stopping set). A reader that hears nothing from a
// worker for [MissedHeartbeats] intervals takes it for gone (see [Heartbeat.Gone]).
//
// A heartbeat holds no secret: no URL, credential, job or token; NotReady is the text of
// [Worker.Ready]'s error, which names resources and NATS errors only.
type Heartbeat struct {
	// ID names this worker process, unique per process: its host, its pid and a random suffix,
	// made of ASCII letters, digits, '-' and '_' ([Worker.ID]).
	ID string `json:"id"`
	// Host is the machine's host name (the pod's name on Kubernetes).
	Host string `json:"host"`
	// PID is the worker's process id.
	PID int `json:"pid"`
	// Version is the version of dingq the worker runs, from the binary's build information:
	// "v1.4.0", or "(devel)" with the commit it was built from ("(devel) 0123456789ab",
	// "(devel) 0123456789ab modified"). "" when the binary holds no build information.
	Version string `json:"version"`
	// Started is when the worker began consuming, UTC.
	Started time.Time `json:"started"`
	// At is when this beat was sent, UTC, to the millisecond.
	At time.Time `json:"at"`
	// Ready is whether the worker is ready: [Worker.Ready] returned nil.
	Ready bool `json:"ready"`
	// NotReady says why the worker is not ready, when it is not: [Worker.Ready]'s error text.
	NotReady string `json:"not_ready,omitempty"`
	// Apps names the apps whose jobs the worker sends, the default app as "default" and first.
	Apps []string `json:"apps"`
	// Kinds names the kinds of job the worker consumes.
	Kinds []string `json:"kinds"`
	// Concurrency is the number of sends the worker runs at once at most ([Config.Concurrency]).
	Concurrency int `json:"concurrency"`
	// InFlight is the number of jobs the worker is handling now: sends in progress, mostly.
	InFlight int `json:"in_flight"`
	// Stopping is set once the worker has begun to stop: it takes no new job, finishes those in
	// flight, and its last beat has Stopping set too.
	Stopping bool `json:"stopping"`
	// Every is the interval between beats, in JSON "every_ms" in milliseconds.
	Every time.Duration `json:"-"`
}

// MarshalJSON encodes h with Every as "every_ms", in milliseconds.
func (h Heartbeat) MarshalJSON() ([]byte, error) {
	type plain Heartbeat // without the methods
	return json.Marshal(struct {
		plain
		EveryMS int64 `json:"every_ms"`
	}{plain(h), h.Every.Milliseconds()})
}

// UnmarshalJSON decodes what [Heartbeat.MarshalJSON] encodes.
func (h *Heartbeat) UnmarshalJSON(data []byte) error {
	type plain Heartbeat
	v := struct {
		*plain
		EveryMS int64 `json:"every_ms"`
	}{plain: (*plain)(h)}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	h.Every = time.Duration(v.EveryMS) * time.Millisecond
	return nil
}

// ParseHeartbeat decodes a heartbeat as a worker publishes it. It returns an error for anything
// else: not JSON, or without an id or a positive interval.
func ParseHeartbeat(data []byte) (Heartbeat, error) {
	var h Heartbeat
	if err := json.Unmarshal(data, &h); err != nil {
		return Heartbeat{}, fmt.Errorf("heartbeat: %w", err)
	}
	if h.ID == "" || h.Every <= 0 {
		return Heartbeat{}, errors.New("heartbeat: want an id and a positive every_ms")
	}
	return h, nil
}

// Gone reports whether the worker that sent h is gone as of now: its last beat said it was
// stopping, or it is older than [MissedHeartbeats] intervals. The worker's clock stamps At: a
// reader's clock far from the workers' (keep them NTP-synchronised) misjudges it.
func (h Heartbeat) Gone(now time.Time) bool {
	return h.Stopping || now.Sub(h.At) > MissedHeartbeats*h.Every
}

// ID names this worker process in its heartbeats and logs: its host name, its pid and a random
// suffix ("web-1-4711-a3f09c"), made of ASCII letters, digits, '-' and '_' so that it is one
// subject token as it is.
func (w *Worker) ID() string { return w.id }

// newWorkerID returns a process's id: host name, pid, and six random hex digits, so that two
// processes with one pid (containers) still differ.
func newWorkerID() string {
	host := hostname()
	if host == "" {
		host = "unknown"
	}
	var b [3]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return schema.SubjectToken(host) + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}

// hostname is the machine's host name, or "" when the system does not say.
func hostname() string {
	host, _ := os.Hostname()
	return host
}

// buildVersion is [Heartbeat.Version]: dingq's module version, from the main module when dingq
// is the program, else from its dependency on dingq.
var buildVersion = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	const module = "github.com/dingq/dingq"
	if bi.Main.Path != module {
		for _, d := range bi.Deps {
			if d.Path == module {
				return d.Version
			}
		}
		return bi.Main.Version
	}
	version := bi.Main.Version
	if version != "" && version != "(devel)" {
		return version
	}
	rev, modified := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value[:min(len(s.Value), 12)]
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	version = "(devel)"
	if rev != "" {
		version += " " + rev
		if modified {
			version += " modified"
		}
	}
	return version
})

// heartbeats publishes a running worker's beats. [Worker.startHeartbeats] begins them,
// markStopping marks the worker stopping and beats at once, stop ends them with a last beat.
// Publishing is best effort: while NATS is away no beat is published (the first poll after the
// connection is back publishes one), and an error is logged at most once a minute.
type heartbeats struct {
	w       *Worker
	nc      *nats.Conn
	subject string
	every   time.Duration
	base    Heartbeat // what every beat repeats

	stopping   atomic.Bool
	stoppingCh chan struct{} // closed by stopping
	quit       chan struct{} // closed by stop
	done       chan struct{} // closed when the loop has returned
	failedAt   time.Time     // when a failure was last logged; the loop's and stop's alone
}

// heartbeatFailLog spaces the log lines about heartbeats that could not be published.
const heartbeatFailLog = time.Minute

// startHeartbeats publishes the first beat and starts the loop; nil when heartbeats are off.
func (w *Worker) startHeartbeats() *heartbeats {
	if w.cfg.Heartbeat < 0 {
		return nil
	}
	apps := make([]string, 0, len(w.cfg.apps()))
	for _, app := range w.cfg.apps() {
		if app == "" {
			app = schema.DefaultApp
		}
		apps = append(apps, app)
	}
	h := &heartbeats{w: w, nc: w.js.Conn(), subject: w.cfg.Names.WorkerSubject(w.id), every: w.cfg.Heartbeat,
		base: Heartbeat{ID: w.id, Host: hostname(), PID: os.Getpid(), Version: buildVersion(), Started: beatTime(),
			Apps: apps, Kinds: schema.KindNames(), Concurrency: w.cfg.Concurrency, Every: w.cfg.Heartbeat},
		stoppingCh: make(chan struct{}), quit: make(chan struct{}), done: make(chan struct{})}
	last, sent := h.beat()
	go h.loop(last, sent)
	return h
}

// loop beats every interval, and at once when readiness changes, when the connection is back
// after an outage or a beat went unpublished, or when the worker begins to stop. last is the
// latest beat, sent whether it was published.
func (h *heartbeats) loop(last Heartbeat, sent bool) {
	defer close(h.done)
	beat := time.NewTicker(h.every)
	defer beat.Stop()
	poll := time.NewTicker(min(h.every, heartbeatPoll))
	defer poll.Stop()
	stopping := h.stoppingCh
	reconnects := h.nc.Stats().Reconnects
	for {
		select {
		case <-h.quit:
			return
		case <-beat.C:
		case <-stopping:
			stopping = nil
			beat.Reset(h.every)
		case <-poll.C:
			ready, why := h.readiness()
			changed := ready != last.Ready || why != last.NotReady
			if n := h.nc.Stats().Reconnects; n != reconnects || !sent {
				changed = changed || h.nc.IsConnected()
			}
			if !changed {
				continue
			}
			beat.Reset(h.every)
		}
		reconnects = h.nc.Stats().Reconnects
		last, sent = h.beat()
	}
}

// readiness is what a beat says of the worker's readiness now.
func (h *heartbeats) readiness() (bool, string) {
	err := h.w.Ready()
	if err == nil {
		return true, ""
	}
	why := err.Error()
	if len(why) > maxNotReady {
		why = why[:maxNotReady]
		for !utf8.ValidString(why) {
			why = why[:len(why)-1]
		}
	}
	return false, why
}

// beat publishes one beat, unless NATS is away, and returns it and whether it was published.
func (h *heartbeats) beat() (Heartbeat, bool) {
	b := h.base
	b.At = beatTime()
	b.Ready, b.NotReady = h.readiness()
	b.InFlight = int(h.w.inFlight.Load())
	b.Stopping = h.stopping.Load()
	if !h.nc.IsConnected() {
		return b, false // the reconnect buffer would deliver it late, with a stale state
	}
	data, err := json.Marshal(b)
	if err == nil {
		err = h.nc.Publish(h.subject, data)
	}
	if err != nil && time.Since(h.failedAt) >= heartbeatFailLog {
		h.failedAt = time.Now()
		h.w.log.Warn().Err(err).Str("subject", h.subject).
			Msg("could not publish a heartbeat; the worker keeps running (logged once a minute at most)")
	}
	return b, err == nil
}

// markStopping marks the worker stopping and beats at once.
func (h *heartbeats) markStopping() {
	if h == nil || h.stopping.Swap(true) {
		return
	}
	close(h.stoppingCh)
}

// stop ends the loop and publishes the last beat, Stopping set, waiting up to a second for NATS
// to have it.
func (h *heartbeats) stop() {
	if h == nil {
		return
	}
	h.stopping.Store(true)
	close(h.quit)
	<-h.done
	h.beat()
	if h.nc.IsConnected() {
		_ = h.nc.FlushTimeout(time.Second)
	}
}

// beatTime is the time of a beat: UTC, to the millisecond.
func beatTime() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
