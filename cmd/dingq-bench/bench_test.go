package main

import (
	"strings"
	"testing"
	"time"

	"github.com/dingq/dingq/schema"
)

func TestPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := percentiles(ds, 0.5, 0.99, 1)
	want := []time.Duration{50 * time.Millisecond, 99 * time.Millisecond, 100 * time.Millisecond}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("percentile %d = %v, want %v", i, got[i], want[i])
		}
	}
	if got := percentiles(nil, 0.5); got[0] != 0 {
		t.Errorf("no samples: %v, want 0", got[0])
	}
	if got := percentiles([]time.Duration{7}, 0.01, 0.99); got[0] != 7 || got[1] != 7 {
		t.Errorf("one sample: %v", got)
	}
}

func TestEveryJobCarriesItsNumber(t *testing.T) {
	w := workload{n: 300, kinds: schema.Kinds(), rejectEvery: 100}
	for _, n := range []int{0, 1, 2, 50, 150, 299} {
		if got := jobNumber(w.body(n)); got != n {
			t.Errorf("job %d (%s) reads back as %d: %s", n, w.kind(n), got, w.body(n))
		}
	}
	if w.rejects() != 3 || !strings.Contains(string(w.body(50)), rejectMark) || strings.Contains(string(w.body(51)), rejectMark) {
		t.Errorf("rejects = %d; job 50: %s", w.rejects(), w.body(50))
	}
	if got := jobNumber([]byte(`{"appKey":"k"}`)); got != -1 {
		t.Errorf("a body without a job: %d", got)
	}
}

func TestEveryJobIsValid(t *testing.T) {
	v, err := schema.NewValidator(schema.ValidatorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	w := workload{n: 3, kinds: schema.Kinds(), rejectEvery: 2}
	for n := range w.n {
		if err := v.Validate(w.kind(n), w.body(n)); err != nil {
			t.Errorf("job %d (%s): %v", n, w.kind(n), err)
		}
	}
}

func TestTableRowsAndTargets(t *testing.T) {
	r := &report{opts: options{scale: 1}, machine: "test machine", titles: map[string]string{}}
	sc := scenario{name: scOverhead, title: "overhead"}
	mk := func(side string, rate float64) *measurement {
		return &measurement{
			spec:   runSpec{scenario: scOverhead, workers: 1, workerSpec: workerSpec{side: side, concurrency: 64}, load: workload{n: 1000}},
			rate:   rate,
			e2s:    []time.Duration{time.Millisecond, 2 * time.Millisecond},
			maxRSS: 20 * 1024,
			counts: counts{sent: 1000, settled: 1000, sandboxOK: true},
		}
	}
	r.add(sc, mk(sideDingq, 900))
	r.add(sc, mk(sideCeiling, 1000))
	md := r.markdown()
	for _, want := range []string{
		"| overhead | dingq | 1 × 64 | 1,000 | 900 | 0.90 |",
		"1,000 sent + 0 dead = 1,000: ok",
		"PASS **overhead**: dingq 0.90 × the ceiling's jobs/s",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
}

func TestRepeatedRunsShowMedianAndSpread(t *testing.T) {
	r := &report{opts: options{scale: 1, runs: 3}, machine: "test machine", titles: map[string]string{}}
	sc := scenario{name: scOverhead, title: "overhead", repeat: true}
	mk := func(side string, run int, rate float64, start time.Duration, pauses ...time.Duration) *measurement {
		return &measurement{
			spec:   runSpec{scenario: scOverhead, run: run, workers: 1, workerSpec: workerSpec{side: side, concurrency: 64}, load: workload{n: 1000}},
			rate:   rate,
			start:  start,
			pauses: pauses,
			e2s:    []time.Duration{time.Millisecond, 2 * time.Millisecond},
			counts: counts{sent: 1000, settled: 1000, sandboxOK: true},
		}
	}
	for run, rates := range [][2]float64{{800, 1000}, {900, 1000}, {700, 1000}} {
		r.add(sc, mk(sideDingq, run, rates[0], time.Duration(100+run*100)*time.Millisecond))
		r.add(sc, mk(sideCeiling, run, rates[1], 20*time.Millisecond, time.Second))
	}
	md := r.markdown()
	for _, want := range []string{
		"| overhead | dingq | 1 × 64 | 1,000 | 800 (700–900) | 0.80 (0.70–0.90) | 200 ms | 0 |",
		"| ceiling | 1 × 64 | 1,000 | 1,000 (1,000–1,000) | — | 20.0 ms | 3: 3.0 s |",
		"PASS **overhead**: dingq 0.80 (0.70–0.90) × the ceiling's jobs/s (median, least and most of 3 runs",
		"MISS **start**: dingq's first send 300 ms after its process starts, the slowest of 3 runs",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
}

func TestPausesAreTheLongGaps(t *testing.T) {
	ms := int64(time.Millisecond)
	got := pauses([]int64{500 * ms, 0, 10 * ms, 20 * ms, 300 * ms, 320 * ms}, 100*time.Millisecond)
	want := []time.Duration{280 * time.Millisecond, 180 * time.Millisecond}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("pauses = %v, want %v", got, want)
	}
}
