package worker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker/workertest"
)

// letterEnv is an embedded NATS server with dingq's streams, and a worker that is never run:
// these tests call its dead-lettering directly.
type letterEnv struct {
	t  *testing.T
	nc *nats.Conn
	js jetstream.JetStream
	w  *Worker
}

func newLetterEnv(t *testing.T, maxPayload int32) *letterEnv {
	t.Helper()
	_, nc, js := workertest.StartNATS(t, workertest.MaxPayload(maxPayload))
	cfg := Config{Names: schema.NewNames("")}
	if _, err := Provision(context.Background(), js, cfg); err != nil {
		t.Fatal(err)
	}
	v, err := schema.NewValidator(schema.ValidatorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(js, cfg, Deps{Sender: dispatcher.SenderFunc(func(context.Context, dispatcher.Job) error { return nil }),
		Validator: v, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	return &letterEnv{t: t, nc: nc, js: js, w: w}
}

// letters returns every message of the dead-letter stream.
func (e *letterEnv) letters() []*jetstream.RawStreamMsg {
	e.t.Helper()
	ctx := context.Background()
	s, err := e.js.Stream(ctx, e.w.cfg.Names.DeadStream())
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// testJob is a card job as the worker would have named it, stored at seq 7.
func testJob(id string, body []byte, h nats.Header) job {
	return job{subject: "dingq.send.card", data: body, header: h, streamSeq: 7,
		published: time.Unix(1700000000, 123456789), kindName: "card", kind: schema.KindCard, id: id}
}

var invalidFailure = failure{reason: schema.ReasonInvalid, err: &schema.ValidationError{Code: schema.CodeInvalidJSON, Message: "not JSON"}}

// The rule that decides which names a letter leaves out is nats.go's own: every byte, in a name,
// is accepted by one exactly when it is by the other.
func TestPublishableKeyMatchesNATSGo(t *testing.T) {
	e := newLetterEnv(t, 0)
	for c := range 256 {
		k := "X-" + string([]byte{byte(c)}) + "-Y"
		if c == '\n' || c == '\r' {
			continue // not in a name the server hands over: it ends the header line
		}
		m := &nats.Msg{Subject: "letterfit.probe", Header: nats.Header{k: {"v"}}}
		err := e.nc.PublishMsg(m)
		if err != nil && !errors.Is(err, nats.ErrBadHeaderMsg) {
			t.Fatalf("byte %#x: %v", c, err)
		}
		if got, want := publishableKey(k), err == nil; got != want {
			t.Errorf("byte %#x (%q): publishableKey %v, nats.go publishes: %v", c, k, got, want)
		}
	}
	if publishableKey("") {
		t.Error("the empty name is publishable")
	}
}

func TestDeadLetterMsgLeavesOutNamesNATSGoRefusesAndListsThem(t *testing.T) {
	h := nats.Header{
		"X-Trace/Id":      {"42"},
		"Träce":           {"secret-value-1"},
		"X Span":          {"secret-value-2"},
		"X-Team":          {"billing"},
		"X-Odd":           {"a\x01b"}, // an odd value is published as it is
		"Nats-Msg-Id":     {"job-1"},
		"dingq-truncated": {"length=1 sha256=00"}, // would pose as the letter's own
		"Dingq-Reason":    {"producer's"},
		schema.HeaderApp:  {"ops"},
	}
	l := deadLetterMsg(schema.NewNames(""), testJob("job-1", []byte(`{}`), h), invalidFailure, "invalid_json", 0)
	if got, want := l.Header.Get(schema.HeaderDroppedHeaders), `"Tr\u00e4ce", "X Span", "X-Trace/Id"`; got != want {
		t.Errorf("Dingq-Dropped-Headers = %s, want %s", got, want)
	}
	for k, want := range map[string]string{"X-Team": "billing", "X-Odd": "a\x01b", schema.HeaderApp: "ops", schema.HeaderReason: "invalid"} {
		if got := l.Header.Values(k); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	for _, k := range []string{"X-Trace/Id", "Träce", "X Span", "Nats-Msg-Id", "dingq-truncated", schema.HeaderTruncated} {
		if _, ok := l.Header[k]; ok {
			t.Errorf("letter has %s", k)
		}
	}
	for k, vs := range l.Header {
		if strings.Contains(strings.Join(vs, " "), "secret-value") {
			t.Errorf("a dropped header's value is in %s: %q", k, vs)
		}
	}
}

func TestFitLetter(t *testing.T) {
	const limit = 4096
	names := schema.NewNames("")
	build := func(body []byte, h nats.Header) letterMsg {
		l := deadLetterMsg(names, testJob("job-1", body, h), invalidFailure, "invalid_json", 0)
		l.Header.Set(jetstream.MsgIDHeader, "dead-DINGQ_JOBS-7-1700000000123456789")
		return l
	}
	fits := func(t *testing.T, l letterMsg) {
		t.Helper()
		// Under the fresh id a foreign duplicate makes it take, too.
		l.Header.Set(jetstream.MsgIDHeader, l.Header.Get(jetstream.MsgIDHeader)+"-"+strings.Repeat("A", 26))
		if n := payloadSize(l.Msg); n > limit {
			t.Errorf("letter is %d bytes, over %d", n, limit)
		}
	}
	truncated := func(body []byte) string {
		return fmt.Sprintf("length=%d sha256=%x", len(body), sha256.Sum256(body))
	}

	t.Run("a letter that fits is unchanged", func(t *testing.T) {
		l := build([]byte(`{"a":1}`), nats.Header{"X-Team": {"billing"}})
		if err := l.fit(limit); err != nil {
			t.Fatal(err)
		}
		if string(l.Data) != `{"a":1}` || l.Header.Get("X-Team") != "billing" || l.Header.Get(schema.HeaderTruncated) != "" {
			t.Errorf("letter changed: %s %v", l.Data, l.Header)
		}
	})
	t.Run("a body past the limit is cut and marked", func(t *testing.T) {
		body := bytes.Repeat([]byte("x"), limit)
		l := build(body, nats.Header{"X-Team": {"billing"}})
		if err := l.fit(limit); err != nil {
			t.Fatal(err)
		}
		fits(t, l)
		if got := l.Header.Get(schema.HeaderTruncated); got != truncated(body) {
			t.Errorf("Dingq-Truncated = %q, want %q", got, truncated(body))
		}
		if !bytes.HasPrefix(body, l.Data) || len(l.Data) < limit-1024 {
			t.Errorf("kept %d bytes of %d; want a prefix, as long as the room allows", len(l.Data), len(body))
		}
		if l.Header.Get("X-Team") != "billing" || l.Header.Get(schema.HeaderDroppedHeaders) != "" {
			t.Errorf("headers left out while cutting the body was enough: %v", l.Header)
		}
	})
	t.Run("a UTF-8 body is cut between runes", func(t *testing.T) {
		body := []byte(strings.Repeat("钉", limit/3+1))
		for pad := range 3 { // every position of the cut in a rune
			l := build(append(bytes.Repeat([]byte("a"), pad), body...), nil)
			if err := l.fit(limit); err != nil {
				t.Fatal(err)
			}
			if !utf8.Valid(l.Data) || len(l.Data) == 0 {
				t.Errorf("pad %d: kept %d bytes, valid UTF-8 %v", pad, len(l.Data), utf8.Valid(l.Data))
			}
		}
	})
	t.Run("job headers too large for any body are left out, largest first", func(t *testing.T) {
		h := nats.Header{"X-Blob": {strings.Repeat("b", limit)}, "X-Mid": {strings.Repeat("m", 200)}, "X-Team": {"billing"}}
		l := build([]byte(`{"a":1}`), h)
		if err := l.fit(limit); err != nil {
			t.Fatal(err)
		}
		fits(t, l)
		if got := l.Header.Get(schema.HeaderDroppedHeaders); got != `"X-Blob"` {
			t.Errorf("Dingq-Dropped-Headers = %q, want only the largest", got)
		}
		if string(l.Data) != `{"a":1}` || l.Header.Get(schema.HeaderTruncated) != "" {
			t.Errorf("body %q, Dingq-Truncated %q: the body fits once the headers are out", l.Data, l.Header.Get(schema.HeaderTruncated))
		}
		if l.Header.Get("X-Mid") == "" || l.Header.Get("X-Team") != "billing" {
			t.Errorf("smaller headers left out too: %v", l.Header)
		}
	})
	t.Run("thousands of headers: the list is bounded", func(t *testing.T) {
		h := nats.Header{}
		for i := range 3000 {
			h[fmt.Sprintf("X-H%04d", i)] = []string{"v"}
		}
		l := build(bytes.Repeat([]byte("x"), 100), h)
		if err := l.fit(limit); err != nil {
			t.Fatal(err)
		}
		fits(t, l)
		list := l.Header.Get(schema.HeaderDroppedHeaders)
		if len(list) > maxDroppedList+len(", +3000 more") || !strings.Contains(list, " more") {
			t.Errorf("Dingq-Dropped-Headers is %d bytes: %.100s...", len(list), list)
		}
	})
	t.Run("a limit below the letter's own headers is an error", func(t *testing.T) {
		l := build([]byte(`{}`), nil)
		if err := l.fit(200); !errors.Is(err, errLetterTooLarge) {
			t.Errorf("err = %v, want errLetterTooLarge", err)
		}
	})
}

func TestLetterJobIDIsBounded(t *testing.T) {
	if got := letterJobID("  job-1 \r"); got != "job-1" {
		t.Errorf("letterJobID = %q, want it as nats.go stores it", got)
	}
	long := strings.Repeat("i", 5000)
	got := letterJobID(long)
	if len(got) != maxJobIDHeader || !strings.HasSuffix(got, schema.BodyHash([]byte(long))) {
		t.Errorf("letterJobID of 5000 bytes = %d bytes: %.40s...%s", len(got), got, got[len(got)-40:])
	}
}

// One job instance moved twice (its Term lost, or the advisory path and a worker both acting)
// is stored once: the duplicate ack is checked and found to be the same letter, cut body or not.
func TestRepeatedMoveStoresOneLetter(t *testing.T) {
	const limit = 8 << 10
	e := newLetterEnv(t, limit)
	for _, body := range [][]byte{[]byte(`{"a":1}`), bytes.Repeat([]byte("z"), limit)} {
		j := testJob(fmt.Sprintf("job-%d", len(body)), body, nil)
		j.streamSeq = uint64(len(body))
		for range 2 {
			if _, _, err := e.w.publishDeadLetter(j, invalidFailure); err != nil {
				t.Fatal(err)
			}
		}
	}
	ls := e.letters()
	if len(ls) != 2 {
		t.Fatalf("%d letters for 2 jobs moved twice each, want 2", len(ls))
	}
	if ls[1].Header.Get(schema.HeaderTruncated) == "" {
		t.Errorf("the second letter was not cut: %v", ls[1].Header)
	}
}

// A letter whose id was taken, by a message that is not this letter or by one since deleted, is
// stored again under a fresh id.
func TestDuplicateThatIsNotTheLetterStoresItAgain(t *testing.T) {
	e := newLetterEnv(t, 0)
	ctx := context.Background()
	j := testJob("job-1", []byte(`{"a":1}`), nil)
	id := "dead-" + e.w.cfg.Names.JobStream() + "-" + j.instance()

	foreign := nats.NewMsg("dingq.dead.card")
	foreign.Data = []byte(`{"a":1}`) // the same body, but another job
	foreign.Header.Set(schema.HeaderJobID, "someone-else")
	foreign.Header.Set(schema.HeaderOriginalSubject, "dingq.send.card")
	if _, err := e.js.PublishMsg(ctx, foreign, jetstream.WithMsgID(id)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.w.publishDeadLetter(j, invalidFailure); err != nil {
		t.Fatal(err)
	}
	ls := e.letters()
	if len(ls) != 2 || ls[1].Header.Get(schema.HeaderJobID) != "job-1" || !strings.HasPrefix(ls[1].Header.Get(jetstream.MsgIDHeader), id+"-") {
		t.Fatalf("letters after a foreign duplicate: %d, last %v", len(ls), ls[len(ls)-1].Header)
	}

	// The letter is deleted (replayed, purged) while its id is still in the duplicate window,
	// and the job moved again: the duplicate cannot be checked, so it is stored again.
	j2 := testJob("job-2", []byte(`{"b":2}`), nil)
	j2.streamSeq = 8
	if _, _, err := e.w.publishDeadLetter(j2, invalidFailure); err != nil {
		t.Fatal(err)
	}
	dead, err := e.js.Stream(ctx, e.w.cfg.Names.DeadStream())
	if err != nil {
		t.Fatal(err)
	}
	if err := dead.DeleteMsg(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.w.publishDeadLetter(j2, invalidFailure); err != nil {
		t.Fatal(err)
	}
	ls = e.letters()
	if len(ls) != 3 || ls[2].Header.Get(schema.HeaderJobID) != "job-2" {
		t.Errorf("after the deleted letter's job moved again: %d letters, want 3 with job-2's last", len(ls))
	}
}
