package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/dingq/dingq/schema"
)

// Scenario names, in the order they run: halfload needs latency's figure, and backlog, the
// longest, comes last.
const (
	scOverhead  = "overhead"
	scNoStatus  = "nostatus"
	scLogWarn   = "logwarn"
	scConfirmed = "confirmed"
	scLimitsUp  = "limitsup"
	scLatency   = "latency"
	scHalfLoad  = "halfload"
	scMixed     = "mixed"
	scScaleOut  = "scaleout"
	scBacklog   = "backlog"
	scLimited   = "limited"
	scStorm     = "storm"
)

var (
	allScenarios     = []string{scOverhead, scNoStatus, scLogWarn, scConfirmed, scLimitsUp, scLatency, scHalfLoad, scMixed, scScaleOut, scLimited, scStorm, scBacklog}
	defaultScenarios = allScenarios
)

// sandboxLatency is the latency-bound scenarios' sandbox latency.
const sandboxLatency = 50 * time.Millisecond

// scenario is one row group of the table: a title and the runs that fill it.
type scenario struct {
	name  string
	title string
	// repeat runs the scenario -runs times and reports the least, median and most: the ratios
	// the targets are about. Every other scenario runs once.
	repeat bool
	// runs returns the scenario's runs; the report holds the scenarios measured before it.
	runs func(o options, r *report) ([]runSpec, error)
}

var scenarios = []scenario{
	{scOverhead, "overhead: sandbox answers at once, concurrency 64, cards queued, dingq with its defaults (delivery status on, a log line per job)", true, func(o options, _ *report) ([]runSpec, error) {
		base := runSpec{load: cards(o, 100_000), workers: 1, workerSpec: workerSpec{concurrency: 64}}
		runs := bothSides(base)
		if o.profile != "" {
			runs[0].profile = filepath.Join(o.profile, "overhead-dingq.pprof")
			runs[1].profile = filepath.Join(o.profile, "overhead-ceiling.pprof")
		}
		return runs, nil
	}},
	{scNoStatus, "overhead, dingq with delivery status off (DINGQ_STATUS=off: no event and no bucket write per job)", true, func(o options, _ *report) ([]runSpec, error) {
		return []runSpec{{load: cards(o, 100_000), workers: 1,
			workerSpec: workerSpec{side: sideDingq, concurrency: 64, status: "off"}}}, nil
	}},
	{scLogWarn, "overhead, dingq logging at warn (no line per job)", true, func(o options, _ *report) ([]runSpec, error) {
		return []runSpec{{load: cards(o, 100_000), workers: 1,
			workerSpec: workerSpec{side: sideDingq, concurrency: 64, logLevel: "warn"}}}, nil
	}},
	{scConfirmed, "overhead, the ceiling confirming each ack (DoubleAck) as dingq does", true, func(o options, _ *report) ([]runSpec, error) {
		return []runSpec{{load: cards(o, 100_000), workers: 1,
			workerSpec: workerSpec{side: sideCeiling, concurrency: 64, confirm: true}}}, nil
	}},
	{scLimitsUp, "overhead, dingq with an app rate limit far above the load (1,000,000/1s): the cost of the shared limiter", false, func(o options, _ *report) ([]runSpec, error) {
		return []runSpec{{load: cards(o, 100_000), workers: 1,
			workerSpec: workerSpec{side: sideDingq, concurrency: 64, rateAPI: "1000000/1s"}}}, nil
	}},
	{scLatency, "latency-bound: sandbox answers after 50 ms, concurrency 256, cards queued", true, func(o options, _ *report) ([]runSpec, error) {
		return bothSides(runSpec{load: cards(o, 20_000), workers: 1, latency: sandboxLatency,
			workerSpec: workerSpec{concurrency: 256}}), nil
	}},
	{scHalfLoad, "half load: cards published steadily at half of dingq's latency-bound jobs/s, sandbox 50 ms, concurrency 256", false, func(o options, r *report) ([]runSpec, error) {
		lat := r.find(scLatency, sideDingq, 1)
		if lat == nil || lat.rate <= 0 {
			return nil, errors.New("half load needs the latency scenario's dingq figure")
		}
		rate := lat.rate / 2
		secs := max(10*o.scale, 3)
		load := workload{n: int(rate * secs), kinds: []schema.Kind{schema.KindCard}}
		return bothSides(runSpec{load: load, workers: 1, latency: sandboxLatency, paced: rate,
			workerSpec: workerSpec{concurrency: 256}}), nil
	}},
	{scMixed, "mixed: card, crossdomain, robot in turn; 5 % busy, 1 % rejected; concurrency 64", false, func(o options, _ *report) ([]runSpec, error) {
		load := workload{n: scaled(o, 30_000), kinds: schema.Kinds(), rejectEvery: 100}
		return bothSides(runSpec{load: load, workers: 1, busyRate: 0.05, workerSpec: workerSpec{concurrency: 64}}), nil
	}},
	{scScaleOut, "scale-out: 1 and 2 worker processes on one consumer, sandbox 50 ms, concurrency 256 each", false, func(o options, _ *report) ([]runSpec, error) {
		var runs []runSpec
		for _, workers := range []int{1, 2} {
			runs = append(runs, bothSides(runSpec{load: cards(o, 40_000), workers: workers, latency: sandboxLatency,
				workerSpec: workerSpec{concurrency: 256}})...)
		}
		return runs, nil
	}},
	{scLimited, "limited: cards queued, app limit 20/s, 2 worker processes; the sandbox refuses a 21st send in any second", false, func(o options, _ *report) ([]runSpec, error) {
		return []runSpec{{load: workload{n: max(scaled(o, 1_000), 400), kinds: []schema.Kind{schema.KindCard}}, workers: 2, apiRate: 20,
			workerSpec: workerSpec{side: sideDingq, concurrency: 64, rateAPI: "20/1s"}}}, nil
	}},
	{scBacklog, "backlog: 1,000,000 cards queued, drained at concurrency 64", false, func(o options, _ *report) ([]runSpec, error) {
		return bothSides(runSpec{load: cards(o, 1_000_000), workers: 1, workerSpec: workerSpec{concurrency: 64}}), nil
	}},
}

// bothSides returns base run by dingq, then by the ceiling.
func bothSides(base runSpec) []runSpec {
	d, c := base, base
	d.side, c.side = sideDingq, sideCeiling
	return []runSpec{d, c}
}

func cards(o options, n int) workload {
	return workload{n: scaled(o, n), kinds: []schema.Kind{schema.KindCard}}
}

func scaled(o options, n int) int { return max(int(float64(n)*o.scale), 100) }

// runBench sets up the lab, runs the chosen scenarios in order and returns their report.
func runBench(ctx context.Context, o options, log *progress) (*report, error) {
	chosen := slices.Clone(o.scenarios)
	if slices.Contains(chosen, scHalfLoad) && !slices.Contains(chosen, scLatency) {
		log.printf("half load needs the latency scenario's figure: running latency too")
		chosen = append(chosen, scLatency)
	}
	r := newReport(o)
	l, err := newLab(ctx, log)
	if err != nil {
		return nil, err
	}
	defer l.close()
	// Repetitions outermost, so that the runs a ratio pairs are taken minutes apart at most.
	for run := range o.runs {
		for _, sc := range scenarios {
			if !slices.Contains(chosen, sc.name) || (run > 0 && !sc.repeat) {
				continue
			}
			runs, err := sc.runs(o, r)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", sc.name, err)
			}
			if run%2 == 1 {
				// The sides take turns going first: whatever the run before left the machine
				// and the server doing weighs on each side in turn.
				slices.Reverse(runs)
			}
			for _, spec := range runs {
				spec.scenario, spec.run = sc.name, run
				if run > 0 {
					spec.profile = ""
				}
				log.printf("%s: %d jobs, %d×%d, sandbox latency %v", spec.label(), spec.load.n, spec.workers, spec.concurrency, spec.latency)
				m, err := l.measure(ctx, spec)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", spec.label(), err)
				}
				log.printf("%s: %.0f jobs/s, first send %s, peak RSS %.1f MiB, took %.1f s", spec.label(), m.rate, ms(m.start), float64(m.maxRSS)/1024, m.duration.Seconds())
				r.add(sc, m)
			}
		}
	}
	if slices.Contains(chosen, scStorm) {
		// Not a comparison with the ceiling: the storm has its own section of the report.
		if r.storm, err = l.storm(ctx, o); err != nil {
			return nil, fmt.Errorf("%s: %w", scStorm, err)
		}
	}
	return r, nil
}
