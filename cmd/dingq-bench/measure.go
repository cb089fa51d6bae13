package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dingq/dingq/dispatcher/sandbox"
)

// runSpec is one measured run: one side of one scenario, on fresh streams and a fresh sandbox.
type runSpec struct {
	scenario string
	workerSpec
	workers  int
	latency  time.Duration // the sandbox's per-request latency
	busyRate float64       // the sandbox's fraction of busy answers
	apiRate  int           // the sandbox's per-app QPS limit (sandbox.Config.APIRate); 0 for none
	load     workload
	// paced publishes the jobs at this many per second while the workers run; 0 queues them
	// all before the workers start.
	paced   float64
	profile string // save a CPU profile of the first worker here; "" for none
	run     int    // which repetition of the scenario, from 0
}

func (s runSpec) label() string {
	return fmt.Sprintf("%s/%s×%d #%d", s.scenario, s.side, s.workers, s.run+1)
}

// counts is the final state of a run's jobs.
type counts struct {
	sent       int // jobs the sandbox accepted at least once
	dead       int // dead letters stored (dingq)
	settled    int // jobs in a final state as the sandbox saw them
	duplicates int // accepted sends beyond the first of a job
	strays     int // send requests that carried no job of the run
	throttled  int // send requests the sandbox refused as over a rate limit
	sandboxOK  bool
}

// measurement is what one run measured.
type measurement struct {
	spec     runSpec
	window   time.Duration   // the first worker's start (queued) or first request (paced) → the request that settled the last job
	pauses   []time.Duration // stretches longer than pauseAfter in which no new job reached the sandbox
	rate     float64         // jobs per second over window, pauses left out
	start    time.Duration   // queued: the first worker's start → the first request at the sandbox
	e2s      []time.Duration // p50, p99 of enqueue (or the first worker's start) to sent, over sent jobs
	added    []time.Duration // p50, p99 of publish to first arrival at the sandbox; paced runs only
	maxRSS   int64           // KiB, the largest of the run's worker processes
	cpu      time.Duration   // all worker processes, from their start (paced: once ready) to exit
	natsCPU  time.Duration   // the NATS server, over the same time
	mallocs  uint64          // all worker processes, from their start (paced: once ready) to the end of the run
	counts   counts
	duration time.Duration // the whole run, set-up included
}

// measure runs spec and measures it.
func (l *lab) measure(ctx context.Context, spec runSpec) (*measurement, error) {
	began := time.Now()
	ctx, cancel := context.WithCancel(ctx) // ends a paced publisher if the run fails
	defer cancel()
	sb, pubAt, err := l.prepare(ctx, spec)
	if err != nil {
		return nil, err
	}
	defer sb.close()
	natsBase, err := l.nats.cpuSoFar()
	if err != nil {
		return nil, err
	}
	spawned := now()
	ws, err := l.startWorkers(ctx, spec, sb.url)
	defer func() {
		for _, w := range ws {
			_ = w.stop(time.Second) // only left running on an error path
		}
	}()
	if err != nil {
		return nil, err
	}
	base := make([]baseline, len(ws)+1) // queued: from the start of each process
	base[len(ws)].cpu = natsBase
	if spec.paced > 0 {
		if base, err = l.baselines(ws); err != nil {
			return nil, err
		}
	}
	if err := l.drive(ctx, spec, ws, sb.tr, pubAt); err != nil {
		return nil, err
	}
	m := &measurement{spec: spec}
	err = m.collect(ctx, l, ws, base, sb)
	ws = nil // stopped
	if err != nil {
		return nil, err
	}
	m.times(sb.tr, pubAt, spawned)
	m.duration = time.Since(began)
	return m, nil
}

// prepare provisions fresh streams and a fresh sandbox and, unless the run is paced, queues its
// jobs. It returns the sandbox and the slice of publish instants.
func (l *lab) prepare(ctx context.Context, spec runSpec) (*sandboxServer, []int64, error) {
	if err := l.resetStreams(ctx); err != nil {
		return nil, nil, err
	}
	settles := func(n int, sent bool) bool { return sent || spec.side == sideCeiling || spec.load.rejected(n) }
	sb, err := startSandbox(sandbox.Config{Latency: spec.latency, BusyRate: spec.busyRate, APIRate: spec.apiRate, Seed: 1}, spec.load, settles)
	if err != nil {
		return nil, nil, err
	}
	pubAt := make([]int64, spec.load.n)
	if spec.paced == 0 {
		if err := l.publishQueued(ctx, spec.load, pubAt, spec.label()); err != nil {
			return nil, nil, errors.Join(err, sb.close())
		}
	}
	return sb, pubAt, nil
}

// drive publishes the paced jobs, if the run is paced, and waits until every job is settled and
// the job stream drained.
func (l *lab) drive(ctx context.Context, spec runSpec, ws []*workerProc, tr *tracker, pubAt []int64) error {
	published := make(chan error, 1)
	if spec.paced > 0 {
		go func() { published <- l.publishPaced(ctx, spec.load, pubAt, spec.paced) }()
	} else {
		published <- nil
	}
	profiled := make(chan error, 1)
	if spec.profile != "" {
		go func() { profiled <- ws[0].saveProfile(spec.profile, 10) }()
	} else {
		profiled <- nil
	}
	if err := l.waitSettled(ctx, tr, ws, spec); err != nil {
		return err
	}
	if err := errors.Join(<-published, <-profiled); err != nil {
		return err
	}
	return l.waitDrained(ctx, time.Minute)
}

// startWorkers starts the run's worker processes, one after the other, each once the one before
// serves its endpoints. A paced run's workers are also waited for until each has a pull request
// waiting, so that its first jobs do not wait for a worker's start.
func (l *lab) startWorkers(ctx context.Context, spec runSpec, sandboxURL string) ([]*workerProc, error) {
	var ws []*workerProc
	for i := range spec.workers {
		w, err := l.startWorker(ctx, spec.workerSpec, sandboxURL, i)
		if err != nil {
			return ws, err
		}
		ws = append(ws, w)
	}
	if spec.paced == 0 {
		return ws, nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ci, err := l.consumerInfo(ctx)
		if err == nil && ci.NumWaiting >= spec.workers {
			return ws, nil
		}
		if time.Now().After(deadline) {
			l.log.printf("%s: warning: the consumer shows fewer waiting pulls than the %d workers (%v); going on", spec.label(), spec.workers, err)
			return ws, nil
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return ws, err
		}
	}
}

// baseline is a worker's CPU time and allocation count when a paced run's publishing starts.
type baseline struct {
	cpu     time.Duration
	mallocs uint64
}

// baselines reads each worker's baseline, then the NATS server's (the last element).
func (l *lab) baselines(ws []*workerProc) ([]baseline, error) {
	out := make([]baseline, len(ws)+1)
	for i, w := range ws {
		var err error
		if out[i].mallocs, err = w.mallocs(); err != nil {
			return nil, err
		}
		if out[i].cpu, err = w.cpuSoFar(); err != nil {
			return nil, err
		}
	}
	var err error
	out[len(ws)].cpu, err = l.nats.cpuSoFar()
	return out, err
}

// waitSettled waits until the sandbox has seen every job of the run settled. It fails when
// no job settles for a minute, or a worker exits.
func (l *lab) waitSettled(ctx context.Context, tr *tracker, ws []*workerProc, spec runSpec) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last, lastChange, lastReport := int64(-1), time.Now(), time.Now()
	for {
		select {
		case <-tr.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		n := tr.settled.Load()
		if n != last {
			last, lastChange = n, time.Now()
		}
		if time.Since(lastChange) > time.Minute {
			return fmt.Errorf("%s: stalled at %d of %d jobs settled for a minute\n%s", spec.label(), n, spec.load.n, ws[0].logTail(20))
		}
		for _, w := range ws {
			if w.exited() {
				return fmt.Errorf("%s: %s exited mid-run\n%s", spec.label(), w.name, w.logTail(20))
			}
		}
		if time.Since(lastReport) >= 5*time.Second {
			lastReport = time.Now()
			l.log.printf("%s: %d of %d jobs settled", spec.label(), n, spec.load.n)
		}
	}
}

// collect reads the NATS server's CPU time and each worker's allocation count and peak memory,
// stops the workers with SIGTERM, takes their CPU time from the kernel's accounting, and counts
// where the jobs ended.
func (m *measurement) collect(ctx context.Context, l *lab, ws []*workerProc, base []baseline, sb *sandboxServer) error {
	natsCPU, err := l.nats.cpuSoFar()
	errs := []error{err}
	m.natsCPU = natsCPU - base[len(ws)].cpu
	for i, w := range ws {
		mallocs, err := w.mallocs()
		rss, err2 := w.peakRSS()
		errs = append(errs, err, err2)
		m.mallocs += mallocs - base[i].mallocs
		m.maxRSS = max(m.maxRSS, rss)
	}
	for i, w := range ws {
		if err := w.stop(40 * time.Second); err != nil {
			errs = append(errs, err)
			continue
		}
		m.cpu += w.cpuUsed() - base[i].cpu
	}
	errs = append(errs, m.count(ctx, l, sb))
	return errors.Join(errs...)
}

// count takes the final state of the jobs from the tracker, the sandbox and the streams.
func (m *measurement) count(ctx context.Context, l *lab, sb *sandboxServer) error {
	tr := sb.tr
	c := &m.counts
	for i := range tr.sent {
		if tr.sent[i].Load() != 0 {
			c.sent++
		}
	}
	c.settled = int(tr.settled.Load())
	c.strays = int(tr.strays.Load())
	st := sb.sb.Stats()
	c.duplicates = st.Duplicates
	for _, byOutcome := range st.Outcomes {
		c.throttled += byOutcome[sandbox.OutcomeThrottled]
	}
	delivered := 0
	for _, d := range st.Deliveries {
		delivered += d
	}
	c.sandboxOK = delivered-st.Duplicates == c.sent
	dead, err := l.streamMsgs(ctx, l.names.DeadStream())
	c.dead = int(dead)
	return err
}

// pauseAfter is the shortest stretch without a new job at the sandbox that counts as a pause.
const pauseAfter = 100 * time.Millisecond

// times derives the rate and the latencies from the recorded instants. A queued run is timed from
// spawned, the start of its first worker, a paced one from its first request. Pauses are left
// out of the rate: nats.go's consume stalls now and then on both sides (see pauseAfter and
// docs/benchmarks.md), and a stall says nothing about the code measured.
func (m *measurement) times(tr *tracker, pubAt []int64, spawned int64) {
	first, last := int64(0), int64(0)
	var e2s, added []time.Duration
	arrivals := make([]int64, 0, len(tr.arrive))
	for n := range tr.arrive {
		a, s, done := tr.arrive[n].Load(), tr.sent[n].Load(), tr.settledAt[n].Load()
		if a != 0 {
			arrivals = append(arrivals, a)
			if first == 0 || a < first {
				first = a
			}
		}
		last = max(last, done)
		if s != 0 {
			e2s = append(e2s, time.Duration(s-max(pubAt[n], spawned)))
		}
		if m.spec.paced > 0 && a != 0 {
			added = append(added, time.Duration(a-pubAt[n]))
		}
	}
	from := first
	if m.spec.paced == 0 {
		from = spawned
		m.start = time.Duration(first - spawned)
	}
	m.window = time.Duration(last - from)
	m.pauses = pauses(arrivals, pauseAfter)
	flowing := m.window
	for _, p := range m.pauses {
		flowing -= p
	}
	if flowing > 0 {
		m.rate = float64(len(tr.arrive)) / flowing.Seconds()
	}
	m.e2s = percentiles(e2s, 0.50, 0.99)
	if m.spec.paced > 0 {
		m.added = percentiles(added, 0.50, 0.99)
	}
}

// pauses returns the gaps longer than longer between consecutive instants of ats, which it sorts.
func pauses(ats []int64, longer time.Duration) []time.Duration {
	slices.Sort(ats)
	var out []time.Duration
	for i := 1; i < len(ats); i++ {
		if gap := time.Duration(ats[i] - ats[i-1]); gap > longer {
			out = append(out, gap)
		}
	}
	return out
}
