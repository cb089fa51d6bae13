package main

import (
	"fmt"
	"slices"
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

// find returns the first run's measurement of scenario by side with workers processes, or nil.
func (r *report) find(scenario, side string, workers int) *measurement {
	return r.findRun(scenario, side, workers, 0)
}

// findRun returns the measurement of scenario by side with workers processes in repetition run,
// or nil.
func (r *report) findRun(scenario, side string, workers, run int) *measurement {
	for _, m := range r.ms {
		if m.spec.scenario == scenario && m.spec.side == side && m.spec.workers == workers && m.spec.run == run {
			return m
		}
	}
	return nil
}

// ceilingOf returns the ceiling run m is compared with: the same scenario, process count and
// repetition; the overhead scenario's for its variants. Nil for the overhead ceiling itself.
func (r *report) ceilingOf(m *measurement) *measurement {
	sc := m.spec.scenario
	switch sc {
	case scNoStatus, scLogWarn, scConfirmed, scLimitsUp:
		sc = scOverhead
	}
	c := r.findRun(sc, sideCeiling, m.spec.workers, m.spec.run)
	if c == m {
		return nil
	}
	return c
}

// ratios returns each run's jobs/s against its ceiling's, for the runs that have one.
func (r *report) ratios(ms []*measurement) []float64 {
	var out []float64
	for _, m := range ms {
		if c := r.ceilingOf(m); c != nil && c.rate > 0 {
			out = append(out, m.rate/c.rate)
		}
	}
	return out
}

// group returns the runs of scenario by side with workers processes, in the order run.
func (r *report) group(scenario, side string, workers int) []*measurement {
	var out []*measurement
	for _, m := range r.ms {
		if m.spec.scenario == scenario && m.spec.side == side && m.spec.workers == workers {
			out = append(out, m)
		}
	}
	return out
}

func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## dingq against a bare-loop ceiling\n\n%s · scale %g · %d runs of the repeated scenarios", r.machine, r.opts.scale, r.opts.runs)
	if r.took > 0 {
		fmt.Fprintf(&b, " · the run took %s", r.took.Round(time.Second))
	}
	b.WriteString("\n\n")
	b.WriteString("| scenario | side | procs × conc. | jobs | jobs/s | vs ceiling | start → first send | pauses | enqueue→sent p50 | p99 | added p50 / p99 | peak RSS MiB | CPU s / 1k jobs | NATS CPU s / 1k jobs | allocs / job | final state |\n")
	b.WriteString("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
	for _, sc := range r.order {
		first := true
		seen := map[string]bool{}
		for _, m := range r.ms {
			key := fmt.Sprintf("%s/%d", m.spec.side, m.spec.workers)
			if m.spec.scenario != sc || seen[key] {
				continue
			}
			seen[key] = true
			name := ""
			if first {
				name = sc
				first = false
			}
			b.WriteString(r.row(name, r.group(sc, m.spec.side, m.spec.workers)))
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

// row is one side of a scenario: a figure of one run, or of several the median, with the least
// and the most for the rate and the ratio.
func (r *report) row(name string, runs []*measurement) string {
	m := runs[0]
	rates := make([]float64, len(runs))
	var cpu, natsCPU, allocs, starts, p50, p99 []float64
	var added50, added99 []float64
	var rss int64
	var npause int
	var paused time.Duration
	for i, x := range runs {
		n := float64(x.spec.load.n)
		rates[i] = x.rate
		cpu = append(cpu, x.cpu.Seconds()/n*1000)
		natsCPU = append(natsCPU, x.natsCPU.Seconds()/n*1000)
		allocs = append(allocs, float64(x.mallocs)/n)
		starts = append(starts, float64(x.start))
		p50 = append(p50, float64(x.e2s[0]))
		p99 = append(p99, float64(x.e2s[1]))
		if x.added != nil {
			added50 = append(added50, float64(x.added[0]))
			added99 = append(added99, float64(x.added[1]))
		}
		rss = max(rss, x.maxRSS)
		npause += len(x.pauses)
		for _, p := range x.pauses {
			paused += p
		}
	}
	ratio := "—"
	if rs := r.ratios(runs); len(rs) > 0 {
		ratio = spread(rs, func(v float64) string { return fmt.Sprintf("%.2f", v) })
	}
	start := "—"
	if m.spec.paced == 0 {
		start = ms(time.Duration(median(starts)))
	}
	added := "—"
	if len(added50) > 0 {
		added = fmt.Sprintf("%s / %s", msf(median(added50)), msf(median(added99)))
	}
	pause := "0"
	if npause > 0 {
		pause = fmt.Sprintf("%d: %.1f s", npause, paused.Seconds())
	}
	cells := []string{
		name,
		m.spec.side,
		fmt.Sprintf("%d × %d", m.spec.workers, m.spec.concurrency),
		humanize.Comma(int64(m.spec.load.n)),
		spread(rates, func(v float64) string { return humanize.Comma(int64(v + 0.5)) }),
		ratio,
		start,
		pause,
		msf(median(p50)),
		msf(median(p99)),
		added,
		fmt.Sprintf("%.1f", float64(rss)/1024),
		fmt.Sprintf("%.3f", median(cpu)),
		fmt.Sprintf("%.3f", median(natsCPU)),
		fmt.Sprintf("%.0f", median(allocs)),
		worstState(runs),
	}
	return "| " + strings.Join(cells, " | ") + " |\n"
}

// spread formats vs as its median, with the least and the most when there are several.
func spread(vs []float64, f func(float64) string) string {
	if len(vs) == 1 {
		return f(vs[0])
	}
	return fmt.Sprintf("%s (%s–%s)", f(median(vs)), f(slices.Min(vs)), f(slices.Max(vs)))
}

// median returns the median of vs (the mean of the middle two for an even count); 0 for none.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(vs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// worstState is the final state of the runs: the first that is not ok, else the last's.
func worstState(ms []*measurement) string {
	for _, m := range ms {
		if s := m.finalState(); strings.Contains(s, "MISMATCH") || strings.Contains(s, "differs") || strings.Contains(s, "twice") {
			return s
		}
	}
	return ms[len(ms)-1].finalState()
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
		ds := r.group(sc, sideDingq, 1)
		rs := r.ratios(ds)
		if len(rs) == 0 {
			return
		}
		got := median(rs)
		out = append(out, fmt.Sprintf("%s **%s**: dingq %s × the ceiling's jobs/s (median, least and most of %d runs; target >= %.1f)",
			verdict(got >= want), sc, spread(rs, func(v float64) string { return fmt.Sprintf("%.2f", v) }), len(rs), want))
	}
	ratioTarget(scOverhead, 0.8)
	if ds := r.group(scOverhead, sideDingq, 1); len(ds) > 0 {
		var slowest time.Duration
		var allocs []float64
		for _, d := range ds {
			slowest = max(slowest, d.start)
			allocs = append(allocs, float64(d.mallocs)/float64(d.spec.load.n))
		}
		out = append(out, fmt.Sprintf("%s **start**: dingq's first send %s after its process starts, the slowest of %d runs (target < 300 ms)",
			verdict(slowest < 300*time.Millisecond), ms(slowest), len(ds)))
		out = append(out, fmt.Sprintf("%s **allocations**: dingq %.0f per job, start-up included (target < 60; the ceiling makes %.0f, most of them net/http's)",
			verdict(median(allocs) < 60), median(allocs), r.medianAllocs(scOverhead, sideCeiling)))
	}
	if d := r.find(scLimitsUp, sideDingq, 1); d != nil {
		if c := r.ceilingOf(d); c != nil && c.rate > 0 {
			got := d.rate / c.rate
			out = append(out, fmt.Sprintf("%s **limitsup**: with a limit far above the load, dingq %.2f × the ceiling's jobs/s (target >= 0.8)",
				verdict(got >= 0.8), got))
		}
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

// medianAllocs is the median allocations per job of scenario's side over its runs.
func (r *report) medianAllocs(scenario, side string) float64 {
	var vs []float64
	for _, m := range r.group(scenario, side, 1) {
		vs = append(vs, float64(m.mallocs)/float64(m.spec.load.n))
	}
	return median(vs)
}

var notes = []string{
	"Each run starts on fresh streams (deleted and provisioned again), a fresh sandbox and fresh worker processes; in each repetition dingq and the ceiling run one after the other, dingq first in odd repetitions and the ceiling first in even ones, then the variants, all on the same NATS server (its own process, JetStream on a file store). The repeated scenarios run -runs times; their rows give the median run's figures, and for jobs/s and the ratio the median with the least and the most. A ratio pairs the runs of one repetition.",
	"**jobs/s**: jobs ÷ the time from the start of the first worker process (queued scenarios: the jobs wait in the stream before it starts, so start-up is in) or from the first request at the sandbox (paced scenarios) to the arrival of the request that settled the last job (sent, or for dingq rejected and dead-lettered; the ceiling acks whatever it gets), less the **pauses**: stretches over 100 ms in which no new job reached the sandbox. nats.go's consume (v1.55 and v1.56) now and then skips a pull and holds none for a moment, on both sides; its pull heartbeat ends that after 1 s. The column counts them and their total over the runs. **start → first send**: the first worker's start to the first request at the sandbox.",
	"**enqueue→sent**: from publish (or, for queued scenarios, from the start of the first worker) to the sandbox's successful answer. In queued scenarios it is mostly the job's place in the queue; compare it between sides only. **added**: publish → the first request's arrival at the sandbox, before its latency: what the worker path adds (half load only).",
	"**peak RSS**: the worker process's VmHWM (/proc/<pid>/status) at the end of the run, the largest of the run's processes and runs. **CPU**: user + system time from the kernel's accounting, from the process's start (paced scenarios: from when it is ready) to its exit on SIGTERM (rusage), summed over processes. **NATS CPU**: the NATS server process's CPU time over the same time (from /proc/<pid>/stat, 10 ms resolution): what each side's traffic costs the server. The sandbox runs in the harness process, uncounted; all of them share the same cores.",
	"**allocs/job**: Go's memstats Mallocs read from each worker's /debug/vars at the end (paced scenarios: less the count when it was ready), summed, ÷ jobs.",
	"dingq runs with its defaults (delivery status on, a JSON log line per job at info, to a file) and DINGQ_BACKOFF_INITIAL=50ms; the **nostatus** and **logwarn** rows turn one of those off, to show what it costs.",
	"The ceiling (`dingq-bench ceiling`) pulls from the same durable consumers with nats.go's consume, in pulls of twice the concurrency into a buffered hand-off, with the same number of goroutines; it POSTs each job to its kind's sandbox endpoint with a token fetched once, through the HTTP transport with one prebuilt URL and header map per kind, discards the answer and acks: no validation, retries, sent-record, dead letters or logs. The **confirmed** row is the ceiling confirming each ack (DoubleAck) as dingq does. In **mixed** it acks the busy and rejected answers too (\"acked unsent\").",
}

// msf formats nanoseconds held in a float as ms does.
func msf(ns float64) string { return ms(time.Duration(ns)) }

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
