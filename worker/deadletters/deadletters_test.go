package deadletters_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker/deadletters"
)

func TestScanFiltersOldestFirstAndLeavesNoConsumer(t *testing.T) {
	e := newEnv(t)
	old := time.Now().Add(-3 * time.Hour)
	e.put(letter{kind: schema.KindCard, job: "c1", reason: schema.ReasonRejected, code: "chatbotNotInstall", failedAt: old})
	e.put(letter{kind: schema.KindRobot, job: "r1", reason: schema.ReasonExhausted, code: "503"})
	e.put(letter{kind: schema.KindCard, job: "c2", reason: schema.ReasonInvalid, code: "invalid_field"})
	e.put(letter{kind: schema.KindCrossDomain, job: "x1", reason: schema.ReasonRejected, code: "40035"})
	e.put(letter{kind: schema.KindCard, job: "c3", reason: schema.ReasonRejected, code: "chatbotNotInstall"})

	hourAgo := time.Now().Add(-time.Hour)
	cases := []struct {
		name string
		f    deadletters.Filter
		want []string
	}{
		{"all", deadletters.Filter{}, []string{"c1", "r1", "c2", "x1", "c3"}},
		{"kind", deadletters.Filter{Kind: schema.KindCard}, []string{"c1", "c2", "c3"}},
		{"reason", deadletters.Filter{Reason: schema.ReasonRejected}, []string{"c1", "x1", "c3"}},
		{"code", deadletters.Filter{Code: "chatbotNotInstall"}, []string{"c1", "c3"}},
		{"kind and reason", deadletters.Filter{Kind: schema.KindCard, Reason: schema.ReasonRejected}, []string{"c1", "c3"}},
		{"since", deadletters.Filter{Since: hourAgo}, []string{"r1", "c2", "x1", "c3"}},
		{"until", deadletters.Filter{Until: hourAgo}, []string{"c1"}},
		{"limit", deadletters.Filter{Kind: schema.KindCard, Limit: 2}, []string{"c1", "c2"}},
		{"none of the kind", deadletters.Filter{Kind: schema.KindRobot, Reason: schema.ReasonInvalid}, nil},
		{"since in the future", deadletters.Filter{Since: time.Now().Add(time.Hour)}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := e.scan(c.f); !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
	if n := e.consumers(names.DeadStream()); n != 0 {
		t.Errorf("%d consumers left on the dead-letter stream; every browse must delete its own", n)
	}
}

func TestScanOfAnEmptyStreamOrAnEmptyFilterEndsAtOnce(t *testing.T) {
	e := newEnv(t)
	start := time.Now()
	if got := e.scan(deadletters.Filter{}); got != nil {
		t.Errorf("empty stream: %v", got)
	}
	e.put(letter{kind: schema.KindCard, job: "c1", reason: schema.ReasonRejected})
	if got := e.scan(deadletters.Filter{Kind: schema.KindRobot}); got != nil {
		t.Errorf("no robot dead letters: %v", got)
	}
	// A browse that waited for messages that will never come would take browseIdle (5 s).
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("empty browses took %v", d)
	}
}

// A letter of a job from before apps were in subjects names its app in a Dingq-App header: the
// replay goes to that app's subject and stream, without the header.
func TestReplayPublishesWithoutDeadLetterHeadersThenDeletes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	seq := e.put(letter{kind: schema.KindCard, job: "job-1", reason: schema.ReasonRejected,
		extra: map[string]string{schema.HeaderApp: "ops", "Trace-Id": "t-9"}})

	r, err := e.store.Replay(ctx, seq)
	if err != nil {
		t.Fatal(err)
	}
	if r.Duplicate || r.Subject != "dingq.send.card.ops" || r.MsgID != "replay-1-job-1" {
		t.Errorf("replayed = %+v", r)
	}
	jobs, _ := e.js.Stream(ctx, names.JobStreamFor("ops"))
	m, err := jobs.GetMsg(ctx, r.JobSeq)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Data) != `{"outTrackId":"job-1"}` {
		t.Errorf("body = %s", m.Data)
	}
	want := map[string]string{"Trace-Id": "t-9", schema.HeaderMsgID: "replay-1-job-1",
		schema.HeaderReplayOf: fmt.Sprintf("stream=DINGQ_DEAD seq=1 sha256=%x", sha256.Sum256([]byte(`{"outTrackId":"job-1"}`)))}
	for k, v := range want {
		if got := m.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	for k := range m.Header {
		if _, ok := want[k]; !ok && k != "Nats-Expected-Stream" {
			t.Errorf("replayed job has header %s: %v", k, m.Header)
		}
	}
	if _, err := e.store.Get(ctx, seq); !errors.Is(err, deadletters.ErrNotFound) {
		t.Errorf("dead letter still there after its replay: %v", err)
	}
}

// interruptedReplay publishes the dead letter at seq to its job subject and stops there, as a
// replay interrupted between its publish and its delete would.
func (e *env) interruptedReplay(seq uint64) {
	e.t.Helper()
	l, err := e.store.Get(context.Background(), seq)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.store.Republish(context.Background(), l); err != nil {
		e.t.Fatal(err)
	}
}

// takeJob has a worker take the next job and ack it: the work queue deletes it.
func (e *env) takeJob() {
	e.t.Helper()
	ctx := context.Background()
	cons, err := e.js.Consumer(ctx, names.JobStream(), names.ConsumerFor(schema.KindCard))
	if err != nil {
		e.t.Fatal(err)
	}
	msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := msg.DoubleAck(ctx); err != nil {
		e.t.Fatal(err)
	}
}

// A replay interrupted after its publish and before its delete, run again while its job still
// waits in the work queue, finds that job under the replay's id, checks it is this dead letter's
// replay, and removes the dead letter without a second job.
func TestInterruptedReplayRunAgainIsCheckedAndPublishesNothingTwice(t *testing.T) {
	e := newEnv(t)
	seq := e.put(letter{kind: schema.KindCard, job: "job-1", reason: schema.ReasonRejected, extra: map[string]string{schema.HeaderApp: "ops"}})
	e.interruptedReplay(seq)

	r, err := e.store.Replay(context.Background(), seq) // the second run
	if err != nil {
		t.Fatal(err)
	}
	if !r.Duplicate {
		t.Error("second replay not reported as a duplicate")
	}
	if n := e.count(names.JobStreamFor("ops")); n != 1 {
		t.Errorf("job stream holds %d jobs after the second replay, want the first replay's only", n)
	}
	if n := e.count(names.DeadStream()); n != 0 {
		t.Errorf("dead letter not removed by the second replay (%d left)", n)
	}
}

// The same, but the first replay's job already ran: a work queue deleted it, and the duplicate
// cannot be checked. Nothing is published twice, and the dead letter is kept, not deleted on a
// guess.
func TestInterruptedReplayWhoseJobRanIsKeptUnverified(t *testing.T) {
	e := newEnv(t)
	seq := e.put(letter{kind: schema.KindCard, job: "job-1", reason: schema.ReasonRejected})
	e.interruptedReplay(seq)
	e.takeJob()

	r, err := e.store.Replay(context.Background(), seq)
	if !errors.Is(err, deadletters.ErrReplayUnverified) || !r.Duplicate {
		t.Fatalf("replay: %+v, %v; want a duplicate, ErrReplayUnverified", r, err)
	}
	if !strings.Contains(err.Error(), "replay-1-job-1") {
		t.Errorf("error does not name the replay's id: %v", err)
	}
	if n := e.count(names.JobStream()); n != 0 {
		t.Errorf("job stream holds %d jobs; the job was published twice", n)
	}
	if _, err := e.store.Get(context.Background(), seq); err != nil {
		t.Errorf("dead letter not kept: %v", err)
	}
}

// Someone else published a message with the id a replay of the dead letter takes. JetStream
// drops the replay as a duplicate; the dead letter must not be deleted as if it had been replayed.
func TestReplayKeepsTheLetterWhenAnotherMessageHoldsItsID(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	seq := e.put(letter{kind: schema.KindCard, job: "job-1", reason: schema.ReasonRejected})
	if _, err := e.js.Publish(ctx, "dingq.send.card", []byte(`{"outTrackId":"someone-else"}`), jetstream.WithMsgID("replay-1-job-1")); err != nil {
		t.Fatal(err)
	}
	r, err := e.store.Replay(ctx, seq)
	if !errors.Is(err, deadletters.ErrReplayConflict) || !r.Duplicate {
		t.Fatalf("replay: %+v, %v; want a duplicate, ErrReplayConflict", r, err)
	}
	if _, err := e.store.Get(ctx, seq); err != nil {
		t.Errorf("dead letter not kept: %v", err)
	}
	if n := e.count(names.JobStream()); n != 1 {
		t.Errorf("job stream holds %d, want the other message only", n)
	}

	// The same body under the id, but the replay of another dead letter: still not this one's.
	seq2 := e.put(letter{kind: schema.KindCard, job: "job-2", reason: schema.ReasonRejected})
	m := nats.NewMsg("dingq.send.card")
	m.Data = []byte(`{"outTrackId":"job-2"}`)
	m.Header.Set(schema.HeaderReplayOf, "stream=ELSEWHERE seq=2 sha256=00")
	if _, err := e.js.PublishMsg(ctx, m, jetstream.WithMsgID(fmt.Sprintf("replay-%d-job-2", seq2))); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Replay(ctx, seq2); !errors.Is(err, deadletters.ErrReplayConflict) || !strings.Contains(err.Error(), "another dead letter") {
		t.Errorf("replay of job-2: %v, want ErrReplayConflict naming the other dead letter", err)
	}
}

// A dead letter whose body a worker cut to store it holds only the start of the job: a replay
// would send a broken job. It is refused, and kept.
func TestReplayRefusesATruncatedLetter(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	seq := e.put(letter{kind: schema.KindCard, job: "big-1", reason: schema.ReasonInvalid,
		extra: map[string]string{schema.HeaderTruncated: "length=1048576 sha256=ab12"}})
	l, err := e.store.Get(ctx, seq)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Republish(ctx, l); !errors.Is(err, deadletters.ErrTruncated) {
		t.Errorf("republish: %v, want ErrTruncated", err)
	}
	_, err = e.store.Replay(ctx, seq)
	if !errors.Is(err, deadletters.ErrTruncated) || !containsAll(err.Error(), "1048576", "ab12") {
		t.Errorf("replay: %v, want ErrTruncated with the original length and hash", err)
	}
	if n := e.count(names.JobStream()); n != 0 {
		t.Errorf("%d jobs published", n)
	}
	if n := e.count(names.DeadStream()); n != 1 {
		t.Errorf("dead letter not kept (%d left)", n)
	}
}

func TestLetterReadsWhatAWorkerTrimmed(t *testing.T) {
	e := newEnv(t)
	seq := e.put(letter{kind: schema.KindCard, job: "t-1", reason: schema.ReasonInvalid, extra: map[string]string{
		schema.HeaderTruncated:      "length=70000 sha256=ab12",
		schema.HeaderDroppedHeaders: `"X-Trace/Id", "Tr\u00e4ce", "a \"b\", c", +12 more`,
	}})
	l, err := e.store.Get(context.Background(), seq)
	if err != nil {
		t.Fatal(err)
	}
	if l.Truncated == nil || *l.Truncated != (deadletters.Truncation{Length: 70000, SHA256: "ab12"}) {
		t.Errorf("Truncated = %+v", l.Truncated)
	}
	if want := []string{"X-Trace/Id", "Träce", `a "b", c`}; !slices.Equal(l.DroppedHeaders, want) || l.DroppedMore != 12 {
		t.Errorf("DroppedHeaders = %q, +%d; want %q, +12", l.DroppedHeaders, l.DroppedMore, want)
	}
	if s := l.Summary(); s.Truncated == nil || len(s.DroppedHeaders) != 3 {
		t.Errorf("a summary loses what was trimmed: %+v", s)
	}

	plain, err := e.store.Get(context.Background(), e.put(letter{kind: schema.KindCard, job: "t-2", reason: schema.ReasonInvalid}))
	if err != nil {
		t.Fatal(err)
	}
	if plain.Truncated != nil || plain.DroppedHeaders != nil {
		t.Errorf("an untrimmed letter reads as trimmed: %+v", plain)
	}
}

func TestReplayRefusesADeadLetterWithoutAJobSubject(t *testing.T) {
	e := newEnv(t)
	seq := e.put(letter{kind: schema.KindCard, job: "job-1", reason: schema.ReasonRejected})
	l, _ := e.store.Get(context.Background(), seq)
	l.OriginalSubject = "elsewhere.send.card"
	if _, err := e.store.Republish(context.Background(), l); !errors.Is(err, deadletters.ErrNotJobSubject) {
		t.Errorf("err = %v, want ErrNotJobSubject", err)
	}
	if n := e.count(names.JobStream()); n != 0 {
		t.Errorf("%d jobs published", n)
	}
}

func TestReplayOfAMissingDeadLetter(t *testing.T) {
	e := newEnv(t)
	if _, err := e.store.Replay(context.Background(), 42); !errors.Is(err, deadletters.ErrNotFound) {
		t.Errorf("replay: %v, want ErrNotFound", err)
	}
	if err := e.store.Delete(context.Background(), 42); !errors.Is(err, deadletters.ErrNotFound) {
		t.Errorf("delete: %v, want ErrNotFound", err)
	}
}

func TestPurgeThroughKeepsOtherKindsAndLaterDeadLetters(t *testing.T) {
	e := newEnv(t)
	e.put(letter{kind: schema.KindCard, job: "c1", reason: schema.ReasonRejected})
	e.put(letter{kind: schema.KindRobot, job: "r1", reason: schema.ReasonRejected})
	last := e.put(letter{kind: schema.KindCard, job: "c2", reason: schema.ReasonRejected})
	e.put(letter{kind: schema.KindCard, job: "c3", reason: schema.ReasonRejected})
	if err := e.store.PurgeThrough(context.Background(), schema.KindCard, last); err != nil {
		t.Fatal(err)
	}
	if got := e.scan(deadletters.Filter{}); !slices.Equal(got, []string{"r1", "c3"}) {
		t.Errorf("left %v, want [r1 c3]", got)
	}
}

func TestResolve(t *testing.T) {
	e := newEnv(t)
	e.put(letter{kind: schema.KindCard, job: "a", reason: schema.ReasonRejected})
	e.put(letter{kind: schema.KindRobot, job: "b", reason: schema.ReasonRejected})
	e.put(letter{kind: schema.KindCard, job: "a", reason: schema.ReasonExhausted})
	e.put(letter{kind: schema.KindCard, job: "2", reason: schema.ReasonExhausted})

	refs := []deadletters.Ref{{Seq: 2}, {JobID: "a"}, {JobID: "2"}}
	got, err := e.store.Resolve(context.Background(), refs)
	if err != nil {
		t.Fatal(err)
	}
	seqs := func(ls []deadletters.Letter) (out []uint64) {
		for _, l := range ls {
			out = append(out, l.Seq)
		}
		return out
	}
	for i, want := range [][]uint64{{2}, {1, 3}, {4}} {
		if !slices.Equal(seqs(got[i]), want) {
			t.Errorf("%v: seqs %v, want %v", refs[i], seqs(got[i]), want)
		}
	}
	if got[0][0].JobID != "b" || got[0][0].Data == nil || got[0][0].Header == nil {
		t.Errorf("letter at seq 2 = %+v; want job b with its body and headers", got[0][0])
	}

	_, err = e.store.Resolve(context.Background(), []deadletters.Ref{{Seq: 9}, {JobID: "zz"}, {Seq: 1}})
	if !errors.Is(err, deadletters.ErrNotFound) || !containsAll(err.Error(), "seq 9", "job id zz") {
		t.Errorf("err = %v; want both missing refs named", err)
	}
}

func TestParseRef(t *testing.T) {
	cases := []struct {
		in   string
		want deadletters.Ref
		bad  bool
	}{
		{in: "17", want: deadletters.Ref{Seq: 17}},
		{in: "seq:17", want: deadletters.Ref{Seq: 17}},
		{in: "id:17", want: deadletters.Ref{JobID: "17"}},
		{in: "card-17", want: deadletters.Ref{JobID: "card-17"}},
		{in: "sha256-00ff", want: deadletters.Ref{JobID: "sha256-00ff"}},
		{in: "0", bad: true},
		{in: "seq:x", bad: true},
		{in: "id:", bad: true},
		{in: "", bad: true},
	}
	for _, c := range cases {
		got, err := deadletters.ParseRef(c.in)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("ParseRef(%q) = %+v, %v", c.in, got, err)
		}
	}
}

func TestReplayID(t *testing.T) {
	cases := []struct {
		seq  uint64
		job  string
		want string
	}{
		{17, "card-1", "replay-17-card-1"},
		{42, "replay-17-card-1", "replay-42-card-1"},
		{43, "replay-42-replay-17-x", "replay-43-x"},
		{5, "replay-x", "replay-5-replay-x"},
		{6, "replay-12", "replay-6-replay-12"},
		{7, "", "replay-7"},
	}
	for _, c := range cases {
		if got := deadletters.ReplayID(deadletters.Letter{Seq: c.seq, JobID: c.job}); got != c.want {
			t.Errorf("ReplayID(%d, %q) = %q, want %q", c.seq, c.job, got, c.want)
		}
	}
}

func TestOpenWithoutTheStream(t *testing.T) {
	e := newEnv(t)
	if _, err := deadletters.Open(context.Background(), e.js, schema.NewNames("other")); !errors.Is(err, deadletters.ErrNoStream) {
		t.Errorf("err = %v, want ErrNoStream", err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
