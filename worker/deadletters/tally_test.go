package deadletters_test

import (
	"cmp"
	"context"
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker/deadletters"
)

// tally counts the dead letters.
func (e *env) tally() deadletters.Tally {
	e.t.Helper()
	tl, err := e.store.Tally(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return tl
}

// The tally counts the dead letters left after deletions by kind, by reason, and by kind,
// reason and code, the most first; the oldest and newest are those left. It reads headers only
// and leaves no consumer.
func TestTallyCountsTheDeadLettersLeft(t *testing.T) {
	e := newEnv(t)
	nc := e.js.Conn()
	creates, err := nc.SubscribeSync("$JS.API.CONSUMER.CREATE." + names.DeadStream() + ".>")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = creates.Unsubscribe() }()

	all := e.putMany(200, mixed)
	gone := []uint64{1, 2, 50, 51, 52, 53, 99, 133, 200}
	e.deleteSeqs(gone...)

	byKind, byReason := map[schema.Kind]int{}, map[string]int{}
	codes := map[deadletters.CodeCount]int{}
	for _, s := range all {
		if slices.Contains(gone, s.seq) {
			continue
		}
		byKind[s.kind]++
		byReason[s.reason]++
		codes[deadletters.CodeCount{Kind: s.kind, Reason: s.reason, Code: s.code}]++
	}
	var wantCodes []deadletters.CodeCount
	for c, n := range codes {
		c.Count = n
		wantCodes = append(wantCodes, c)
	}
	slices.SortFunc(wantCodes, func(a, b deadletters.CodeCount) int {
		return cmp.Or(b.Count-a.Count, cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Reason, b.Reason), cmp.Compare(a.Code, b.Code))
	})
	if wantCodes[0].Count == wantCodes[len(wantCodes)-1].Count {
		t.Fatal("the letters' causes are all as many: the order is not tested")
	}
	storedAt := func(seq uint64) time.Time {
		l, err := e.store.Get(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		return l.StoredAt
	}

	tl := e.tally()
	if tl.Total != 200-len(gone) {
		t.Errorf("total %d, want %d", tl.Total, 200-len(gone))
	}
	if !maps.Equal(tl.ByKind, byKind) || !maps.Equal(tl.ByReason, byReason) {
		t.Errorf("by kind %v, by reason %v; want %v, %v", tl.ByKind, tl.ByReason, byKind, byReason)
	}
	if !slices.Equal(tl.Codes, wantCodes) {
		t.Errorf("codes\n%v\nwant\n%v", tl.Codes, wantCodes)
	}
	if o, n := storedAt(3), storedAt(199); !tl.Oldest.Equal(o) || !tl.Newest.Equal(n) {
		t.Errorf("oldest %v, newest %v; want %v (seq 3), %v (seq 199)", tl.Oldest, tl.Newest, o, n)
	}

	// One consumer, headers only, and gone.
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	var req struct {
		Config struct {
			HeadersOnly bool `json:"headers_only"`
		} `json:"config"`
	}
	m, err := creates.NextMsg(0)
	if err != nil {
		t.Fatalf("no consumer created: %v", err)
	}
	if err := json.Unmarshal(m.Data, &req); err != nil || !req.Config.HeadersOnly {
		t.Errorf("tally's consumer: %s; want headers only", m.Data)
	}
	if _, err := creates.NextMsg(0); err == nil {
		t.Error("tally created more than one consumer")
	}
	if n := e.consumers(names.DeadStream()); n != 0 {
		t.Errorf("%d consumers left on the dead-letter stream", n)
	}

	// Deleting more is counted at once.
	e.deleteSeqs(3, 199)
	tl = e.tally()
	if tl.Total != 200-len(gone)-2 || !tl.Oldest.Equal(storedAt(4)) || !tl.Newest.Equal(storedAt(198)) {
		t.Errorf("after two more deleted: total %d, oldest %v, newest %v", tl.Total, tl.Oldest, tl.Newest)
	}
}

func TestTallyOfAnEmptyStream(t *testing.T) {
	e := newEnv(t)
	start := time.Now()
	tl := e.tally()
	if tl.Total != 0 || !tl.Oldest.IsZero() || !tl.Newest.IsZero() || len(tl.ByKind) != 0 || len(tl.ByReason) != 0 || len(tl.Codes) != 0 {
		t.Errorf("empty stream: %+v", tl)
	}
	if tl.ByKind == nil || tl.ByReason == nil || tl.Codes == nil {
		t.Errorf("empty stream: nil counts in %+v", tl)
	}
	e.put(letter{kind: schema.KindCard, job: "c1", reason: schema.ReasonRejected, code: "x"})
	e.deleteSeqs(1)
	if tl := e.tally(); tl.Total != 0 || len(tl.Codes) != 0 {
		t.Errorf("all deleted: %+v", tl)
	}
	// A browse that waited for messages that will never come would take browseIdle (5 s).
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("empty tallies took %v", d)
	}
}
