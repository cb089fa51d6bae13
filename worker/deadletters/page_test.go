package deadletters_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker/deadletters"
)

// stored is a dead letter a test put, as it put it.
type stored struct {
	seq uint64
	letter
}

// putMany stores n dead letters, the i-th (from 0) as mk(i) describes it, and returns them.
func (e *env) putMany(n int, mk func(i int) letter) []stored {
	e.t.Helper()
	out := make([]stored, n)
	for i := range n {
		l := mk(i)
		out[i] = stored{e.put(l), l}
	}
	return out
}

// mixed is the i-th of a mix of dead letters: kinds, reasons and codes in turn, one job id each
// but for the twice-dead job "again".
func mixed(i int) letter {
	kinds := schema.Kinds()
	reasons := []string{schema.ReasonRejected, schema.ReasonExhausted, schema.ReasonInvalid, schema.ReasonRejected}
	l := letter{kind: kinds[i%len(kinds)], job: fmt.Sprintf("job-%d", i), reason: reasons[i%len(reasons)], code: fmt.Sprintf("code-%d", i%5)}
	if i == 39 || i == 230 { // seq 40 and 231
		l.job = "again"
	}
	return l
}

// deleteSeqs deletes the dead letters at seqs.
func (e *env) deleteSeqs(seqs ...uint64) {
	e.t.Helper()
	for _, seq := range seqs {
		if err := e.store.Delete(context.Background(), seq); err != nil {
			e.t.Fatal(err)
		}
	}
}

// page reads one page.
func (e *env) page(q deadletters.PageQuery) deadletters.Page {
	e.t.Helper()
	p, err := e.store.Page(context.Background(), q)
	if err != nil {
		e.t.Fatal(err)
	}
	if p.Letters == nil {
		e.t.Errorf("page %+v: Letters is nil", q)
	}
	return p
}

// walk reads q's pages from q.Before on, each checked, and returns the sequences they hold, in
// order.
func (e *env) walk(q deadletters.PageQuery) []uint64 {
	e.t.Helper()
	size := q.Size
	if size <= 0 {
		size = deadletters.DefaultPageSize
	}
	var got []uint64
	for pages := 0; ; pages++ {
		if pages > 1000 {
			e.t.Fatalf("walk %+v: more than 1000 pages", q)
		}
		p := e.page(q)
		for _, l := range p.Letters {
			got = append(got, l.Seq)
			if l.Header != nil || l.Data != nil {
				e.t.Errorf("page holds the headers or body of seq %d; want summaries", l.Seq)
			}
			if !q.Filter.Match(l) {
				e.t.Errorf("page holds seq %d, which its filter does not match: %+v", l.Seq, l)
			}
		}
		switch {
		case len(p.Letters) > size:
			e.t.Fatalf("page of %d letters, want at most %d", len(p.Letters), size)
		case p.Partial && len(p.Letters) == size:
			e.t.Errorf("a full page is partial: %+v", p)
		case !p.Partial && p.Next != 0 && len(p.Letters) != size:
			e.t.Errorf("a page of %d letters, neither full nor partial, has a next page (%d)", len(p.Letters), p.Next)
		case !p.Partial && p.Next != 0 && p.Next != p.Letters[len(p.Letters)-1].Seq:
			e.t.Errorf("next %d; want the last letter's seq %d", p.Next, p.Letters[len(p.Letters)-1].Seq)
		case q.Before != 0 && p.Next >= q.Before:
			e.t.Fatalf("next %d does not go back from %d", p.Next, q.Before)
		}
		if p.Next == 0 {
			return got
		}
		q.Before = p.Next
	}
}

// want returns the sequences of the letters keep keeps, but those in gone, newest first.
func want(all []stored, gone []uint64, keep func(stored) bool) []uint64 {
	var out []uint64
	for _, s := range slices.Backward(all) {
		if !slices.Contains(gone, s.seq) && keep(s) {
			out = append(out, s.seq)
		}
	}
	return out
}

func every(stored) bool { return true }

// The pages of a walk hold every dead letter once, newest first, whatever was deleted between
// them, and a page reads only the sequences it needs.
func TestPageWalksEveryDeadLetterOnceNewestFirst(t *testing.T) {
	e := newEnv(t)
	all := e.putMany(300, mixed)
	var gone []uint64
	for seq := uint64(7); seq <= 300; seq += 7 {
		gone = append(gone, seq)
	}
	for seq := uint64(120); seq <= 160; seq++ {
		if !slices.Contains(gone, seq) {
			gone = append(gone, seq)
		}
	}
	gone = append(gone, 300, 1) // the newest and the oldest too
	e.deleteSeqs(gone...)

	for _, size := range []int{1, 25, 0, 500} {
		got := e.walk(deadletters.PageQuery{Size: size})
		if w := want(all, gone, every); !slices.Equal(got, w) {
			t.Errorf("size %d: walked %d letters %v\nwant %d: %v", size, len(got), got, len(w), w)
		}
	}

	p := e.page(deadletters.PageQuery{Size: 10})
	if got := seqs(p.Letters); !slices.Equal(got, []uint64{299, 298, 297, 296, 295, 293, 292, 291, 290, 289}) || p.Next != 289 {
		t.Errorf("newest page %v, next %d", got, p.Next)
	}
	if p.Scanned != 12 { // 300..289, two of them deleted
		t.Errorf("newest page read %d sequences, want 12", p.Scanned)
	}
	l := p.Letters[0]
	if w := all[298]; l.JobID != w.job || l.Kind != w.kind || l.Reason != w.reason || l.Code != w.code || l.StoredAt.IsZero() {
		t.Errorf("letter %+v; want %+v", l, w)
	}
	// A page from a cursor deep in the stream reads from there, not from the newest.
	p = e.page(deadletters.PageQuery{Size: 5, Before: 170})
	if got := seqs(p.Letters); !slices.Equal(got, []uint64{169, 167, 166, 165, 164}) || p.Next != 164 || p.Scanned != 6 {
		t.Errorf("page before 170: %v, next %d, read %d; want [169 167 166 165 164], 164, 6", got, p.Next, p.Scanned)
	}
	// Past the deleted run, the oldest.
	p = e.page(deadletters.PageQuery{Size: 5, Before: 161})
	if got := seqs(p.Letters); !slices.Equal(got, []uint64{118, 117, 116, 115, 114}) || p.Scanned != 47 {
		t.Errorf("page before 161: %v, read %d; want [118 117 116 115 114], 47", got, p.Scanned)
	}
	p = e.page(deadletters.PageQuery{Size: 5, Before: 4})
	if got := seqs(p.Letters); !slices.Equal(got, []uint64{3, 2}) || p.Next != 0 || p.Partial {
		t.Errorf("oldest page: %v, next %d, partial %v", got, p.Next, p.Partial)
	}
	if n := e.consumers(names.DeadStream()); n != 0 {
		t.Errorf("%d consumers on the dead-letter stream after paging", n)
	}
}

func TestPageFilters(t *testing.T) {
	e := newEnv(t)
	all := e.putMany(300, mixed)
	gone := []uint64{3, 41, 100, 101, 102, 103, 250}
	e.deleteSeqs(gone...)
	cases := []struct {
		name string
		f    deadletters.Filter
		keep func(stored) bool
	}{
		{"kind", deadletters.Filter{Kind: schema.KindRobot}, func(s stored) bool { return s.kind == schema.KindRobot }},
		{"reason", deadletters.Filter{Reason: schema.ReasonInvalid}, func(s stored) bool { return s.reason == schema.ReasonInvalid }},
		{"code", deadletters.Filter{Code: "code-3"}, func(s stored) bool { return s.code == "code-3" }},
		{"kind, reason and code", deadletters.Filter{Kind: schema.KindCard, Reason: schema.ReasonRejected, Code: "code-0"},
			func(s stored) bool {
				return s.kind == schema.KindCard && s.reason == schema.ReasonRejected && s.code == "code-0"
			}},
		{"job id", deadletters.Filter{JobID: "job-77"}, func(s stored) bool { return s.job == "job-77" }},
		{"job id of two", deadletters.Filter{JobID: "again"}, func(s stored) bool { return s.job == "again" }},
		{"no such job id", deadletters.Filter{JobID: "job-1000"}, func(stored) bool { return false }},
		{"limit ignored", deadletters.Filter{Kind: schema.KindCrossDomain, Limit: 3}, func(s stored) bool { return s.kind == schema.KindCrossDomain }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			w := want(all, gone, c.keep)
			for _, size := range []int{7, 0} {
				if got := e.walk(deadletters.PageQuery{Filter: c.f, Size: size}); !slices.Equal(got, w) {
					t.Errorf("size %d: %v\nwant %v", size, got, w)
				}
			}
		})
	}
	e.t = t
	if got := seqs(e.page(deadletters.PageQuery{Filter: deadletters.Filter{JobID: "again"}}).Letters); !slices.Equal(got, []uint64{231, 40}) {
		t.Errorf("job id again: %v, want [231 40]", got)
	}
}

// A time condition starts and stops the page by a search on the stored times: it reads no
// sequence outside them.
func TestPageTimeConditionsReadOnlyTheirTime(t *testing.T) {
	e := newEnv(t)
	// The letters have no Dingq-Failed-At (their time is when they were stored), and no clock
	// skew is allowed for: each is then in or out of a condition by its own stored time.
	deadletters.SetClockSkew(t, 0)
	all := e.putMany(120, func(i int) letter {
		return letter{kind: schema.Kinds()[i%3], job: fmt.Sprint("job-", i), reason: schema.ReasonRejected, noFailedAt: true}
	})
	at := func(seq uint64) time.Time {
		l, err := e.store.Get(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		return l.StoredAt
	}
	t40, t80 := at(40), at(80)
	gone := []uint64{40, 60, 80}
	e.deleteSeqs(gone...)
	between := func(from, to uint64) func(stored) bool {
		return func(s stored) bool { return s.seq >= from && s.seq < to }
	}

	p := e.page(deadletters.PageQuery{Filter: deadletters.Filter{Until: t80}, Size: 10})
	if got := seqs(p.Letters); !slices.Equal(got, []uint64{79, 78, 77, 76, 75, 74, 73, 72, 71, 70}) || p.Next != 70 || p.Scanned != 10 {
		t.Errorf("until: %v, next %d, read %d; want 79..70, 70, 10 (the search, not a read, finds 79)", got, p.Next, p.Scanned)
	}
	p = e.page(deadletters.PageQuery{Filter: deadletters.Filter{Since: t40, Until: t80}, Size: 500})
	if got, w := seqs(p.Letters), want(all, gone, between(40, 80)); !slices.Equal(got, w) || p.Next != 0 || p.Scanned != 40 {
		t.Errorf("since and until: %v, next %d, read %d; want %v, 0, 40", got, p.Next, p.Scanned, w)
	}
	p = e.page(deadletters.PageQuery{Filter: deadletters.Filter{Since: t40}, Size: 500})
	if got, w := seqs(p.Letters), want(all, gone, between(40, 121)); !slices.Equal(got, w) || p.Next != 0 || p.Scanned != 81 {
		t.Errorf("since: %v, next %d, read %d; want %v, 0, 81", got, p.Next, p.Scanned, w)
	}
	p = e.page(deadletters.PageQuery{Filter: deadletters.Filter{Since: t40, Kind: schema.KindCrossDomain}, Size: 3, Before: 100})
	if got := seqs(p.Letters); !slices.Equal(got, []uint64{98, 95, 92}) || p.Next != 92 {
		t.Errorf("since, kind and before: %v, next %d", got, p.Next)
	}
	p = e.page(deadletters.PageQuery{Filter: deadletters.Filter{Since: at(120).Add(time.Nanosecond)}})
	if len(p.Letters) != 0 || p.Next != 0 || p.Scanned != 0 {
		t.Errorf("since after the newest: %+v", p)
	}
	p = e.page(deadletters.PageQuery{Filter: deadletters.Filter{Until: at(1)}})
	if len(p.Letters) != 0 || p.Next != 0 || p.Scanned != 0 {
		t.Errorf("until the oldest: %+v", p)
	}
	for _, w := range [][2]uint64{{1, 121}, {41, 80}, {10, 11}} {
		f := deadletters.Filter{Since: at(w[0]), Until: at(w[1] - 1).Add(time.Nanosecond)}
		if w[1] == 121 {
			f.Until = time.Time{}
		}
		if got, w := e.walk(deadletters.PageQuery{Filter: f, Size: 9}), want(all, gone, between(w[0], w[1])); !slices.Equal(got, w) {
			t.Errorf("walk %v: %v\nwant %v", f, got, w)
		}
	}
}

// With the clock skew allowed for, a time condition well away from the letters' times still
// finds them all, or none, at once.
func TestPageTimeConditionsAllowForClockSkew(t *testing.T) {
	e := newEnv(t)
	all := e.putMany(30, mixed)
	hour := time.Now().Add(-time.Hour)
	cases := []struct {
		name         string
		f            deadletters.Filter
		letters, max int
	}{
		{"since an hour ago", deadletters.Filter{Since: hour}, 30, 30},
		{"until an hour ago", deadletters.Filter{Until: hour}, 0, 0},
		{"since in an hour", deadletters.Filter{Since: time.Now().Add(time.Hour)}, 0, 0},
		{"until in an hour", deadletters.Filter{Until: time.Now().Add(time.Hour)}, 30, 30},
	}
	for _, c := range cases {
		p := e.page(deadletters.PageQuery{Filter: c.f})
		if len(p.Letters) != c.letters || p.Scanned > c.max || p.Next != 0 {
			t.Errorf("%s: %d letters, read %d, next %d; want %d letters, at most %d read", c.name, len(p.Letters), p.Scanned, p.Next, c.letters, c.max)
		}
	}
	// Pages of a kind end where their cursor says, whatever the search finds past it.
	f := deadletters.Filter{Kind: schema.KindRobot, Until: time.Now().Add(time.Hour)}
	if got, w := e.walk(deadletters.PageQuery{Filter: f, Size: 4}), want(all, nil, func(s stored) bool { return s.kind == schema.KindRobot }); !slices.Equal(got, w) {
		t.Errorf("robots until in an hour: %v\nwant %v", got, w)
	}
}

// A page stops at MaxScan sequences read, partial, and the next page goes on from there: no
// dead letter is missed or seen twice.
func TestPageStopsAtMaxScanAndGoesOn(t *testing.T) {
	e := newEnv(t)
	robot := func(i int) bool { return i < 10 || i >= 149 && i < 152 }
	e.putMany(300, func(i int) letter {
		if robot(i) {
			return letter{kind: schema.KindRobot, job: fmt.Sprint("robot-", i), reason: schema.ReasonExhausted}
		}
		return letter{kind: schema.KindCard, job: fmt.Sprint("card-", i), reason: schema.ReasonRejected}
	})
	e.deleteSeqs(250) // a deleted sequence counts as read
	q := deadletters.PageQuery{Filter: deadletters.Filter{Kind: schema.KindRobot}, Size: 5, MaxScan: 100}
	steps := []struct {
		seqs    []uint64
		next    uint64
		scanned int
		partial bool
	}{
		{nil, 201, 100, true},
		{[]uint64{152, 151, 150}, 101, 100, true},
		{[]uint64{10, 9, 8, 7, 6}, 6, 95, false},
		{[]uint64{5, 4, 3, 2, 1}, 0, 5, false},
	}
	for i, s := range steps {
		p := e.page(q)
		if got := seqs(p.Letters); !slices.Equal(got, s.seqs) || p.Next != s.next || p.Scanned != s.scanned || p.Partial != s.partial {
			t.Fatalf("page %d (before %d): %v, next %d, read %d, partial %v; want %v, %d, %d, %v",
				i+1, q.Before, got, p.Next, p.Scanned, p.Partial, s.seqs, s.next, s.scanned, s.partial)
		}
		q.Before = p.Next
	}
	// The default bound reads them all in one page.
	if p := e.page(deadletters.PageQuery{Filter: deadletters.Filter{Kind: schema.KindRobot}, Size: 20}); len(p.Letters) != 13 || p.Partial || p.Next != 0 {
		t.Errorf("default MaxScan: %d letters, partial %v, next %d", len(p.Letters), p.Partial, p.Next)
	}
}

// Size defaults to DefaultPageSize and is bounded by MaxPageSize.
func TestPageSizeBounds(t *testing.T) {
	e := newEnv(t)
	e.putMany(600, func(i int) letter {
		return letter{kind: schema.KindCard, job: fmt.Sprint("job-", i), reason: schema.ReasonRejected}
	})
	cases := []struct {
		size, letters int
		next          uint64
	}{
		{0, deadletters.DefaultPageSize, 551},
		{-3, deadletters.DefaultPageSize, 551},
		{1, 1, 600},
		{499, 499, 102},
		{deadletters.MaxPageSize, deadletters.MaxPageSize, 101},
		{1000, deadletters.MaxPageSize, 101},
	}
	for _, c := range cases {
		p := e.page(deadletters.PageQuery{Size: c.size})
		if len(p.Letters) != c.letters || p.Next != c.next || p.Scanned != c.letters || p.Letters[0].Seq != 600 {
			t.Errorf("size %d: %d letters from %d, next %d, read %d; want %d, next %d", c.size, len(p.Letters), p.Letters[0].Seq, p.Next, p.Scanned, c.letters, c.next)
		}
	}
	// MaxScan below Size stops first.
	p := e.page(deadletters.PageQuery{Size: 100, MaxScan: 30})
	if len(p.Letters) != 30 || !p.Partial || p.Next != 571 || p.Scanned != 30 {
		t.Errorf("size 100, max scan 30: %d letters, partial %v, next %d, read %d", len(p.Letters), p.Partial, p.Next, p.Scanned)
	}
}

func TestPageOfAnEmptyStream(t *testing.T) {
	e := newEnv(t)
	for _, q := range []deadletters.PageQuery{{}, {Before: 10}, {Filter: deadletters.Filter{Kind: schema.KindCard, Since: time.Now().Add(-time.Hour)}}} {
		if p := e.page(q); len(p.Letters) != 0 || p.Next != 0 || p.Partial || p.Scanned != 0 {
			t.Errorf("empty stream, %+v: %+v", q, p)
		}
	}
	// A stream whose dead letters were all deleted is empty too, and a cursor past its end reads
	// from its newest.
	e.putMany(3, mixed)
	e.deleteSeqs(1, 2, 3)
	if p := e.page(deadletters.PageQuery{}); len(p.Letters) != 0 || p.Next != 0 || p.Partial || p.Scanned != 0 {
		t.Errorf("all deleted: %+v", p)
	}
	e.put(mixed(9))
	if p := e.page(deadletters.PageQuery{Before: 1000}); !slices.Equal(seqs(p.Letters), []uint64{4}) || p.Next != 0 {
		t.Errorf("before 1000: %+v", p)
	}
	if p := e.page(deadletters.PageQuery{Before: 4}); len(p.Letters) != 0 || p.Next != 0 || p.Scanned != 0 {
		t.Errorf("before the first: %+v", p)
	}
}
