package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// report is every measurement of a benchmark run, in the order taken, and how to print them.
type report struct {
	opts    options
	machine string
	titles  map[string]string // scenario → title
	order   []string          // scenarios, in the order measured
	ms      []*measurement
	storm   *stormResult // nil unless the storm scenario ran
	took    time.Duration
}

func newReport(o options) *report {
	return &report{opts: o, machine: machine(), titles: map[string]string{}}
}

func (r *report) add(sc scenario, m *measurement) {
	if _, ok := r.titles[sc.name]; !ok {
		r.titles[sc.name] = sc.title
		r.order = append(r.order, sc.name)
	}
	r.ms = append(r.ms, m)
}

// find returns the measurement of scenario by side with workers processes, or nil.
func (r *report) find(scenario, side string, workers int) *measurement {
	for _, m := range r.ms {
		if m.spec.scenario == scenario && m.spec.side == side && m.spec.workers == workers {
			return m
		}
	}
	return nil
}

// ceilingOf returns the ceiling run m is compared with: the same scenario and process count
// (the info-logging run is compared with the overhead ceiling).
func (r *report) ceilingOf(m *measurement) *measurement {
	sc := m.spec.scenario
	if sc == scLogInfo || sc == scLimitsUp || sc == scNoStatus {
		sc = scOverhead
	}
	return r.find(sc, sideCeiling, m.spec.workers)
}

func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## dingq against a bare-loop ceiling\n\n%s · scale %g", r.machine, r.opts.scale)
	if r.took > 0 {
		fmt.Fprintf(&b, " · the run took %s", r.took.Round(time.Second))
	}
	b.WriteString("\n\n")
	b.WriteString("| scenario | side | procs × conc. | jobs | jobs/s | vs ceiling | enqueue→sent p50 | p99 | added p50 / p99 | peak RSS MiB | CPU s / 1k jobs | NATS CPU s / 1k jobs | allocs / job | final state |\n")
	b.WriteString("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
	for _, sc := range r.order {
		first := true
		for _, m := range r.ms {
			if m.spec.scenario != sc {
				continue
			}
			name := ""
			if first {
				name = sc
				first = false
			}
			b.WriteString(r.row(name, m))
		}
	}
	b.WriteString("\n")
	for _, sc := range r.order {
		fmt.Fprintf(&b, "- **%s**: %s\n", sc, r.titles[sc])
	}
	if r.storm != nil {
		b.WriteString(r.storm.markdown())
	}
	b.WriteString("\n### Targets\n\n")
	for _, t := range r.targets() {
		fmt.Fprintf(&b, "- %s\n", t)
	}
	b.WriteString("\n### How it is measured\n\n")
	for _, n := range notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	return b.String()
}

func (r *report) row(name string, m *measurement) string {
	ratio := "—"
	if c := r.ceilingOf(m); c != nil && c != m && c.rate > 0 {
		ratio = fmt.Sprintf("%.2f", m.rate/c.rate)
	}
	added := "—"
	if m.added != nil {
		added = fmt.Sprintf("%s / %s", ms(m.added[0]), ms(m.added[1]))
	}
	cells := []string{
		name,
		m.spec.side,
		fmt.Sprintf("%d × %d", m.spec.workers, m.spec.concurrency),
		humanize.Comma(int64(m.spec.load.n)),
		humanize.Comma(int64(int(m.rate + 0.5))),
		ratio,
		ms(m.e2s[0]),
		ms(m.e2s[1]),
		added,
		fmt.Sprintf("%.1f", float64(m.maxRSS)/1024),
		fmt.Sprintf("%.3f", m.cpu.Seconds()/float64(m.spec.load.n)*1000),
		fmt.Sprintf("%.3f", m.natsCPU.Seconds()/float64(m.spec.load.n)*1000),
		fmt.Sprintf("%.0f", float64(m.mallocs)/float64(m.spec.load.n)),
		m.finalState(),
	}
	return "| " + strings.Join(cells, " | ") + " |\n"
}

// finalState says where the jobs ended: for dingq whether every job was sent or dead-lettered,
// for the ceiling how many it acked without the sandbox accepting them.
func (m *measurement) finalState() string {
	c, n := m.counts, m.spec.load.n
	var s string
	if m.spec.side == sideDingq {
		verdict := "ok"
		if c.sent+c.dead != n {
			verdict = "MISMATCH"
		}
		s = fmt.Sprintf("%s sent + %s dead = %s: %s", humanize.Comma(int64(c.sent)), humanize.Comma(int64(c.dead)), humanize.Comma(int64(c.sent+c.dead)), verdict)
	} else {
		s = fmt.Sprintf("%s sent, %s acked unsent", humanize.Comma(int64(c.sent)), humanize.Comma(int64(c.settled-c.sent)))
	}
	if c.duplicates > 0 {
		s += fmt.Sprintf(", %s sent twice", humanize.Comma(int64(c.duplicates)))
	}
	if c.throttled > 0 {
		s += fmt.Sprintf(", %s throttled", humanize.Comma(int64(c.throttled)))
	}
	if c.strays > 0 {
		s += fmt.Sprintf(", %s unknown requests", humanize.Comma(int64(c.strays)))
	}
	if !c.sandboxOK {
		s += ", sandbox count differs"
	}
	return s
}

// targets returns one PASS/MISS line per target of the issue whose scenario ran.
func (r *report) targets() []string {
	var out []string
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "MISS"
	}
	ratioTarget := func(sc string, want float64) {
		d, c := r.find(sc, sideDingq, 1), r.find(sc, sideCeiling, 1)
		if d == nil || c == nil || c.rate == 0 {
			return
		}
		got := d.rate / c.rate
		out = append(out, fmt.Sprintf("%s **%s**: dingq %.2f × the ceiling's jobs/s (%s vs %s; target >= %.1f)",
			verdict(got >= want), sc, got, humanize.Comma(int64(int(d.rate))), humanize.Comma(int64(int(c.rate))), want))
	}
	ratioTarget(scOverhead, 0.8)
	if d, c := r.find(scLimitsUp, sideDingq, 1), r.find(scOverhead, sideCeiling, 1); d != nil && c != nil && c.rate > 0 {
		got := d.rate / c.rate
		out = append(out, fmt.Sprintf("%s **limitsup**: with a limit far above the load, dingq %.2f × the ceiling's jobs/s (target >= 0.8)",
			verdict(got >= 0.8), got))
	}
	if d := r.find(scLimited, sideDingq, 2); d != nil {
		out = append(out, fmt.Sprintf("%s **limited**: two workers under an app limit of 20/s send %.2f a second, %.1f %% of the limit (target >= 97 %%), with %d throttling answers (target 0)",
			verdict(d.rate >= 19.4 && d.counts.throttled == 0), d.rate, d.rate/20*100, d.counts.throttled))
	}
	ratioTarget(scLatency, 0.9)
	if d := r.find(scHalfLoad, sideDingq, 1); d != nil {
		line := fmt.Sprintf("%s **halfload**: dingq adds %s at p99 to the sandbox's own 50 ms (target <= 5 ms)",
			verdict(d.added[1] <= 5*time.Millisecond), ms(d.added[1]))
		if c := r.find(scHalfLoad, sideCeiling, 1); c != nil {
			line += fmt.Sprintf("; the ceiling adds %s", ms(c.added[1]))
		}
		out = append(out, line)
	}
	if s := r.storm; s != nil {
		rss := float64(s.peakRSS) / 1024
		out = append(out, fmt.Sprintf("%s **storm**: cards sent within %s at p99 of their publish while %s alerts wait for one robot (target < 1 s); robot posted %d times with %d 410100 answers (target 0); worker peak RSS %.1f MiB with %s deferred (target < 64 MiB)",
			verdict(s.cardP[1] < time.Second && s.robotThrottled == 0 && rss < 64), ms(s.cardP[1]), humanize.Comma(int64(s.alerts)), s.robotSent, s.robotThrottled, rss, humanize.Comma(int64(s.total))))
	}
	if d := r.find(scBacklog, sideDingq, 1); d != nil {
		rss := float64(d.maxRSS) / 1024
		out = append(out, fmt.Sprintf("%s **backlog**: dingq's peak RSS %.1f MiB draining %s queued jobs (target <= 64 MiB)",
			verdict(rss <= 64), rss, humanize.Comma(int64(d.spec.load.n))))
	}
	d1, d2 := r.find(scScaleOut, sideDingq, 1), r.find(scScaleOut, sideDingq, 2)
	if d1 != nil && d2 != nil && d1.rate > 0 {
		got := d2.rate / d1.rate
		line := fmt.Sprintf("%s **scaleout**: two dingq workers do %.2f × one worker's jobs/s (target >= 1.8)", verdict(got >= 1.8), got)
		if c1, c2 := r.find(scScaleOut, sideCeiling, 1), r.find(scScaleOut, sideCeiling, 2); c1 != nil && c2 != nil && c1.rate > 0 {
			line += fmt.Sprintf("; two ceilings do %.2f × one", c2.rate/c1.rate)
		}
		out = append(out, line)
	}
	if d := r.find(scMixed, sideDingq, 1); d != nil {
		c := d.counts
		out = append(out, fmt.Sprintf("%s **mixed**: delivered %s + dead-lettered %s = %s of %s published (expected %s rejected)",
			verdict(c.sent+c.dead == d.spec.load.n), humanize.Comma(int64(c.sent)), humanize.Comma(int64(c.dead)), humanize.Comma(int64(c.sent+c.dead)),
			humanize.Comma(int64(d.spec.load.n)), humanize.Comma(int64(d.spec.load.rejects()))))
	}
	return out
}

var notes = []string{
	"Each run starts on fresh streams (deleted and provisioned again), a fresh sandbox and fresh worker processes; dingq runs first, then the ceiling, one after the other on the same NATS server (its own process, JetStream on a file store).",
	"**jobs/s**: jobs ÷ the time from the first request reaching the sandbox to the arrival of the request that settled the last job (sent, or for dingq rejected and dead-lettered; the ceiling acks whatever it gets). Worker start-up is outside the window: queued scenarios publish while the consumer is paused, start the workers, wait until each has a pull request waiting, then end the pause.",
	"**enqueue→sent**: from publish (or, for queued scenarios, from the moment the queue was released to the workers) to the sandbox's successful answer. In queued scenarios it is mostly the job's place in the queue; compare it between sides only. **added**: publish → the first request's arrival at the sandbox, before its latency: what the worker path adds (half load only).",
	"**peak RSS**: the worker process's VmHWM (/proc/<pid>/status) at the end of the run, the largest of the run's processes (rusage's Maxrss would include the harness's own size, which Linux carries into a child started the way Go starts one). **CPU**: user + system time from the kernel's accounting, from the release of the jobs (read from /proc/<pid>/stat) to the process's exit on SIGTERM (rusage), so start-up is left out and the graceful stop is in; summed over processes. **NATS CPU**: the NATS server process's CPU time over the same window (from /proc/<pid>/stat, 10 ms resolution): what each side's traffic costs the server. The sandbox runs in the harness process, uncounted; all of them share the same cores.",
	"**allocs/job**: Go's memstats Mallocs read from each worker's /debug/vars at the release and at the end, summed, ÷ jobs.",
	"dingq runs with DINGQ_LOG_LEVEL=warn (no line per job) and DINGQ_BACKOFF_INITIAL=50ms; the **loginfo** row shows what info logging (one JSON line per job, to a file) costs.",
	"The ceiling (`dingq-bench ceiling`) pulls from the same durable consumer with PullMaxMessages = concurrency and the same number of goroutines, POSTs each job to its kind's sandbox endpoint with a token fetched once, discards the answer and acks: no validation, retries, sent-record, dead letters or logs. In **mixed** it acks the busy and rejected answers too (\"acked unsent\").",
}

// ms formats d in milliseconds.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.2f ms", v)
}
