package deadletters_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker/deadletters"
)

func seqs(ls []deadletters.Letter) (out []uint64) {
	for _, l := range ls {
		out = append(out, l.Seq)
	}
	return out
}

// A job id that names several dead letters is refused for a replay, which would send the job
// several times; a purge takes them all. Letters named twice are selected once.
func TestSelectByRefs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.put(letter{kind: schema.KindCard, job: "twice", reason: schema.ReasonRejected})
	e.put(letter{kind: schema.KindCard, job: "once", reason: schema.ReasonRejected})
	e.put(letter{kind: schema.KindCard, job: "twice", reason: schema.ReasonExhausted})

	refs := []deadletters.Ref{{JobID: "once"}, {JobID: "twice"}}
	if _, err := e.store.Select(ctx, refs, deadletters.Filter{}, true); err == nil || !strings.Contains(err.Error(), "job id twice names 2 dead letters (seq 1, 3)") {
		t.Errorf("select for a replay: %v; want job id twice refused, naming its sequences", err)
	}
	sel, err := e.store.Select(ctx, append(refs, deadletters.Ref{Seq: 3}), deadletters.Filter{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := seqs(sel.Letters); !slices.Equal(got, []uint64{2, 1, 3}) {
		t.Errorf("selected %v, want [2 1 3]: in the refs' order, each once", got)
	}
	if sel.Letters[0].Data != nil || sel.Letters[0].Header != nil {
		t.Errorf("a selection keeps bodies and headers: %+v", sel.Letters[0])
	}
	if sel, err := e.store.Select(ctx, []deadletters.Ref{{Seq: 2}}, deadletters.Filter{}, true); err != nil || len(sel.Letters) != 1 {
		t.Errorf("select seq 2 for a replay: %v, %v", sel.Letters, err)
	}
	if _, err := e.store.Select(ctx, []deadletters.Ref{{Seq: 2}, {JobID: "nobody"}}, deadletters.Filter{}, false); !errors.Is(err, deadletters.ErrNotFound) {
		t.Errorf("select of a missing job id: %v, want ErrNotFound", err)
	}
	sel, err = e.store.Select(ctx, nil, deadletters.Filter{Reason: schema.ReasonRejected}, true)
	if err != nil || !slices.Equal(seqs(sel.Letters), []uint64{1, 2}) {
		t.Errorf("select by filter: %v, %v; want [1 2]", seqs(sel.Letters), err)
	}
}

// apiRequests watches the JetStream API requests that purge the dead-letter stream and that
// delete one of its messages: a subscriber of their subjects gets a copy of each.
type apiRequests struct {
	t                *testing.T
	nc               *nats.Conn
	purge, deleteMsg *nats.Subscription
}

// watchAPI starts watching the dead-letter stream's purge and delete requests.
func (e *env) watchAPI() *apiRequests {
	e.t.Helper()
	nc := e.js.Conn()
	a := &apiRequests{t: e.t, nc: nc}
	var err error
	if a.purge, err = nc.SubscribeSync("$JS.API.STREAM.PURGE." + names.DeadStream()); err != nil {
		e.t.Fatal(err)
	}
	if a.deleteMsg, err = nc.SubscribeSync("$JS.API.STREAM.MSG.DELETE." + names.DeadStream()); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = a.purge.Unsubscribe(); _ = a.deleteMsg.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		e.t.Fatal(err)
	}
	return a
}

// counts returns how many purge and delete requests were made since the last call.
func (a *apiRequests) counts() (purges, deletes int) {
	a.t.Helper()
	if err := a.nc.Flush(); err != nil { // every copy of a request is in before the server's PONG
		a.t.Fatal(err)
	}
	drain := func(s *nats.Subscription) (n int) {
		for {
			if _, err := s.NextMsg(0); err != nil {
				return n
			}
			n++
		}
	}
	return drain(a.purge), drain(a.deleteMsg)
}

// purge purges sel and returns the results it reported, in order.
func (e *env) purge(sel deadletters.Selection) ([]deadletters.Result, deadletters.Outcome) {
	e.t.Helper()
	var results []deadletters.Result
	out, err := e.store.PurgeSelection(context.Background(), sel, func(it deadletters.Item) { results = append(results, it.Result) })
	if err != nil {
		e.t.Fatal(err)
	}
	return results, out
}

// A selection by kind and limit alone is every dead letter of a subject up to a sequence, purged
// in one request; one by a header, or by refs, is deleted one dead letter at a time, and a dead
// letter already gone is reported so.
func TestPurgeSelectionPurgesInOneRequestOnlyWhatAFilterByKindSelects(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	api := e.watchAPI()
	for _, job := range []string{"c1", "c2", "c3"} {
		e.put(letter{kind: schema.KindCard, job: job, reason: schema.ReasonRejected})
		e.put(letter{kind: schema.KindRobot, job: "r-" + job, reason: schema.ReasonExhausted})
	}

	sel, err := e.store.Select(ctx, nil, deadletters.Filter{Kind: schema.KindCard, Limit: 2}, false)
	if err != nil {
		t.Fatal(err)
	}
	results, out := e.purge(sel)
	if p, d := api.counts(); p != 1 || d != 0 {
		t.Errorf("by kind and limit: %d purge and %d delete requests, want 1 purge", p, d)
	}
	if !slices.Equal(results, []deadletters.Result{"purged", "purged"}) || out.String() != "purged 2 dead letter(s)" {
		t.Errorf("by kind and limit: %v, %q", results, out)
	}
	if got := e.scan(deadletters.Filter{}); !slices.Equal(got, []string{"r-c1", "r-c2", "c3", "r-c3"}) {
		t.Errorf("left %v; want the robots' and the card after the limit", got)
	}

	sel, err = e.store.Select(ctx, nil, deadletters.Filter{Reason: schema.ReasonExhausted}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Delete(ctx, sel.Letters[1].Seq); err != nil { // gone before its turn
		t.Fatal(err)
	}
	api.counts()
	results, out = e.purge(sel)
	if p, d := api.counts(); p != 0 || d != 3 {
		t.Errorf("by reason: %d purge and %d delete requests, want 3 deletes", p, d)
	}
	if !slices.Equal(results, []deadletters.Result{"purged", "gone", "purged"}) ||
		out.String() != "purged 2 dead letter(s) (1 gone before their turn)" {
		t.Errorf("by reason: %v, %q", results, out)
	}

	sel, err = e.store.Select(ctx, []deadletters.Ref{{JobID: "c3"}}, deadletters.Filter{}, false)
	if err != nil {
		t.Fatal(err)
	}
	results, _ = e.purge(sel)
	if p, d := api.counts(); p != 0 || d != 1 || !slices.Equal(results, []deadletters.Result{"purged"}) {
		t.Errorf("by ref: %d purge and %d delete requests, %v; want 1 delete", p, d, results)
	}
	if n := e.count(names.DeadStream()); n != 0 {
		t.Errorf("%d dead letters left", n)
	}
}

// A replay of a selection goes on past a dead letter it must keep, reports each, and counts
// them; an earlier interrupted replay is checked and only removed.
func TestReplaySelectionReportsEachDeadLetter(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.put(letter{kind: schema.KindCard, job: "fine", reason: schema.ReasonRejected})
	e.put(letter{kind: schema.KindCard, job: "cut", reason: schema.ReasonInvalid,
		extra: map[string]string{schema.HeaderTruncated: "length=70000 sha256=ab12"}})
	e.interruptedReplay(e.put(letter{kind: schema.KindCard, job: "again", reason: schema.ReasonRejected}))
	gone := e.put(letter{kind: schema.KindRobot, job: "gone", reason: schema.ReasonRejected})

	sel, err := e.store.Select(ctx, nil, deadletters.Filter{}, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Delete(ctx, gone); err != nil {
		t.Fatal(err)
	}
	var items []deadletters.Item
	out, err := e.store.ReplaySelection(ctx, sel, func(it deadletters.Item) { items = append(items, it) })
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Kept) != 1 || !errors.Is(out.Kept[0], deadletters.ErrTruncated) {
		t.Fatalf("kept %v, want the truncated dead letter's error", out.Kept)
	}
	want := []deadletters.Item{
		{Seq: 1, Kind: schema.KindCard, JobID: "fine", Result: deadletters.ResultReplayed, Subject: "dingq.send.card", MsgID: "replay-1-fine", JobSeq: 2},
		{Seq: 2, Kind: schema.KindCard, JobID: "cut", Result: deadletters.ResultTruncated, Error: out.Kept[0].Error()},
		{Seq: 3, Kind: schema.KindCard, JobID: "again", Result: deadletters.ResultAlreadyReplayed, Subject: "dingq.send.card", MsgID: "replay-3-again", JobSeq: 1},
		{Seq: 4, Kind: schema.KindRobot, JobID: "gone", Result: deadletters.ResultGone},
	}
	if !slices.Equal(items, want) {
		t.Errorf("items:\n%+v\nwant\n%+v", items, want)
	}
	const says = "replayed 2 dead letter(s) to their job subjects (1 already published by an earlier, interrupted replay, checked; only removed; 1 gone before their turn; 1 kept: body truncated, cannot be replayed)"
	if out.String() != says {
		t.Errorf("outcome %q, want %q", out, says)
	}
	if got := e.scan(deadletters.Filter{}); !slices.Equal(got, []string{"cut"}) {
		t.Errorf("left %v, want [cut]", got)
	}
}

// A replay stops at once when its context ends, saying how far it got.
func TestReplaySelectionStopsWhenItsContextEnds(t *testing.T) {
	e := newEnv(t)
	e.put(letter{kind: schema.KindCard, job: "j", reason: schema.ReasonRejected})
	sel, err := e.store.Select(context.Background(), nil, deadletters.Filter{}, true)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, err := e.store.ReplaySelection(ctx, sel, func(deadletters.Item) { t.Error("a dead letter reported") })
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted after 0 of 1 dead letters") || len(out.Count) != 0 {
		t.Errorf("replay: %v, %v", out, err)
	}
	if n := e.count(names.JobStream()); n != 0 {
		t.Errorf("%d jobs published", n)
	}
}
