//go:build containers

package containers

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// result is what a run measured.
type result struct {
	jobs      []string      // the job ids published
	start     time.Time     // the first publish
	published time.Duration // until every publish was acknowledged
	drained   time.Duration // until every job was delivered or dead-lettered
	events    []event

	delivered   map[string]bool   // job ids the sandbox accepted
	deliveredAt []time.Time       // every accepted send, in order
	dead        map[string]string // job id → reason, of every dead letter
	lost        []string          // neither delivered nor dead-lettered
	duplicates  int               // sends of a job already delivered
	requests    int               // send requests the sandbox got, failed ones included
	workers     workerFigures
}

// collect reads the final state: what the sandbox accepted, the dead letters, the workers' logs.
func (s *stack) collect(t *testing.T, r *result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := s.sandbox.stats(ctx)
	if err != nil {
		t.Fatalf("sandbox stats: %v", err)
	}
	ds, err := s.sandbox.cardDeliveries(ctx)
	if err != nil {
		t.Fatalf("sandbox deliveries: %v", err)
	}
	if total := st.Deliveries["card"]; len(ds) != total {
		t.Fatalf("the sandbox lists %d of its %d card deliveries: too many for this test", len(ds), total)
	}
	r.delivered = map[string]bool{}
	for _, d := range ds {
		r.delivered[d.Key] = true
		r.deliveredAt = append(r.deliveredAt, d.At)
	}
	slices.SortFunc(r.deliveredAt, time.Time.Compare)
	if r.dead, err = deadLetters(ctx, s.js); err != nil {
		t.Fatalf("dead letters: %v", err)
	}
	for _, id := range r.jobs {
		if _, dead := r.dead[id]; !r.delivered[id] && !dead {
			r.lost = append(r.lost, id)
		}
	}
	r.duplicates = st.Duplicates
	for _, n := range st.Requests {
		r.requests += n
	}
	r.workers = readWorkerLogs(s.workers)
}

// report logs the figures: a summary, the timeline with each fault's stall (the longest time
// without a delivery until the next fault) and delivery rate, and a row for docs/reliability.md's table.
// Stalls and rates compare the sandbox's delivery times with the test's clock: one clock, as
// long as the Docker engine runs on this machine.
func (r *result) report(t *testing.T, scenario string) {
	t.Helper()
	w := r.workers
	t.Logf("%s: %d jobs: %d delivered, %d dead-lettered%s, %d lost; %d duplicate sends (%d send requests); "+
		"%d jobs re-delivered by JetStream, %d of those redeliveries caught by the sent-record; %d acks not confirmed",
		scenario, len(r.jobs), len(r.delivered), len(r.dead), reasons(r.dead), len(r.lost), r.duplicates, r.requests,
		len(w.redelivered), w.alreadySent, w.unconfirmed)
	t.Logf("%s: published in %v; drained in %v; %s", scenario, r.published.Round(time.Millisecond),
		r.drained.Round(time.Millisecond), strings.Join(w.servers, ", "))
	t.Logf("%s: timeline (seconds since the first publish)\n%s", scenario, r.timeline())
	t.Logf("%s: README row: | %s | %d | %d | %d | %d | %.1f s | %.1f s |", scenario, scenario, len(r.jobs), len(r.lost),
		r.duplicates, len(w.redelivered), r.drained.Seconds(), r.longestStall().Seconds())
}

// timeline lists the events, each fault with its stall and the delivery rate until the next.
func (r *result) timeline() string {
	var b strings.Builder
	if ff, ok := r.firstFault(); ok && len(r.deliveredAt) > 0 {
		fmt.Fprintf(&b, "  %6.1f  first publish; until the first fault %.0f jobs/s, longest pause %v\n", 0.0,
			r.rate(r.start, ff), r.stall(r.deliveredAt[0], ff).gap.Round(time.Millisecond))
	}
	for i, e := range r.events {
		fmt.Fprintf(&b, "  %6.1f  %s (at %d delivered)", e.at.Sub(r.start).Seconds(), e.what, e.delivered)
		if e.fault && r.deliveredAt != nil {
			w := r.window(i)
			st := r.stall(w.from, w.to)
			fmt.Fprintf(&b, ": Docker took %v; then %.0f jobs/s; longest stall %v (from +%.1f to +%.1f)",
				e.took.Round(time.Millisecond), r.rate(w.from, w.to), st.gap.Round(time.Millisecond),
				st.from.Sub(e.at).Seconds(), st.to.Sub(e.at).Seconds())
		}
		b.WriteString("\n")
	}
	if r.drained > 0 {
		fmt.Fprintf(&b, "  %6.1f  every job delivered or dead-lettered\n", r.drained.Seconds())
	}
	return b.String()
}

func (r *result) firstFault() (time.Time, bool) {
	for _, e := range r.events {
		if e.fault {
			return e.at, true
		}
	}
	return time.Time{}, false
}

// span is a stretch of time.
type span struct {
	from, to time.Time
	gap      time.Duration
}

// window is the time from fault event i until the next fault, or the last delivery.
func (r *result) window(i int) span {
	w := span{from: r.events[i].at}
	for _, e := range r.events[i+1:] {
		if e.fault {
			w.to = e.at
			return w
		}
	}
	if n := len(r.deliveredAt); n > 0 {
		w.to = r.deliveredAt[n-1]
	}
	return w
}

// stall is the longest time without a delivery within [from, to].
func (r *result) stall(from, to time.Time) span {
	longest := span{from: from, to: from}
	prev := from
	for _, at := range r.deliveredAt {
		if !at.After(from) {
			continue
		}
		at = minTime(at, to)
		if gap := at.Sub(prev); gap > longest.gap {
			longest = span{from: prev, to: at, gap: gap}
		}
		if !at.Before(to) {
			break
		}
		prev = at
	}
	return longest
}

// longestStall is the longest stall after any fault.
func (r *result) longestStall() time.Duration {
	var longest time.Duration
	for i, e := range r.events {
		if e.fault && len(r.deliveredAt) > 0 {
			w := r.window(i)
			longest = max(longest, r.stall(w.from, w.to).gap)
		}
	}
	return longest
}

// rate is deliveries per second within [from, to).
func (r *result) rate(from, to time.Time) float64 {
	if !to.After(from) {
		return 0
	}
	n := 0
	for _, at := range r.deliveredAt {
		if !at.Before(from) && at.Before(to) {
			n++
		}
	}
	return float64(n) / to.Sub(from).Seconds()
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// assertNoneLost fails the test for every job neither delivered nor dead-lettered.
func (r *result) assertNoneLost(t *testing.T) {
	t.Helper()
	if len(r.lost) > 0 {
		t.Errorf("%d of %d jobs lost (neither delivered nor dead-lettered), e.g. %v",
			len(r.lost), len(r.jobs), r.lost[:min(10, len(r.lost))])
	}
}

// reasons counts dead letters by reason: " (rejected: 2, exhausted: 1)", or nothing.
func reasons(dead map[string]string) string {
	n := map[string]int{}
	for reason := range maps.Values(dead) {
		n[reason]++
	}
	var parts []string
	for _, reason := range slices.Sorted(maps.Keys(n)) {
		parts = append(parts, fmt.Sprintf("%s: %d", reason, n[reason]))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
