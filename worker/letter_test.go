package worker_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
	"github.com/dingq/dingq/worker/workertest"
)

// A producer on another client can send header names nats.go will not publish ("X-Trace/Id",
// a space, a non-ASCII byte). The job's letter could not be published, and the job stayed in
// the work queue forever; now the letter leaves those names out and lists them.
func TestJobWithHeaderNamesNATSGoRefusesIsDeadLettered(t *testing.T) {
	e := newEnv(t)
	if _, err := worker.Provision(context.Background(), e.js, testConfig()); err != nil {
		t.Fatal(err)
	}
	hdr := "Nats-Msg-Id: raw-1\r\nX-Trace/Id: 42\r\nX Span: 7\r\nTr\xc3\xa4ce: x\r\nX-Team: billing\r\nX-Odd: a\x01b\r\n"
	workertest.RawPublish(t, e.srv.Addr().String(), "dingq.send.card", hdr, []byte(`{"cardTemplateId":"x"}`))
	e.waitFor(5*time.Second, "the raw job stored", func() bool { return e.streamMsgs(names.JobStream()) == 1 })

	e.run(testConfig(), dispatcher.SenderFunc(func(context.Context, dispatcher.Job) error { return nil }))
	e.waitFor(10*time.Second, "its dead letter", func() bool { return len(e.deadLetters()) == 1 })
	e.waitFor(5*time.Second, "the job stream empty", func() bool { return e.streamMsgs(names.JobStream()) == 0 })

	dl := e.deadLetters()[0]
	want := map[string]string{
		schema.HeaderJobID:          "raw-1",
		schema.HeaderReason:         schema.ReasonInvalid,
		schema.HeaderDroppedHeaders: `"Tr\u00e4ce", "X Span", "X-Trace/Id"`,
		"X-Team":                    "billing",
		"X-Odd":                     "a\x01b",
	}
	for k, v := range want {
		if got := dl.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if string(dl.Data) != `{"cardTemplateId":"x"}` {
		t.Errorf("body = %s", dl.Data)
	}
	if !e.log.Has("dead letter trimmed to be storable: headers a NATS client cannot publish, or a body past the max payload, left out") {
		t.Errorf("no log of the trimmed letter:\n%s", e.log)
	}
}

// An invalid job that fills the server's max payload leaves no room for the Dingq-* headers:
// its letter could not be published, and the job stayed in the work queue forever. Now its body
// is cut to fit and marked with the original's length and hash.
func TestInvalidJobFillingTheMaxPayloadIsDeadLetteredTruncated(t *testing.T) {
	const maxPayload = 64 << 10
	e := newEnv(t, workertest.MaxPayload(maxPayload))
	if _, err := worker.Provision(context.Background(), e.js, testConfig()); err != nil {
		t.Fatal(err)
	}
	m := nats.NewMsg("dingq.send.card")
	m.Header.Set(schema.HeaderMsgID, "fill-1")
	block := len("NATS/1.0\r\n" + schema.HeaderMsgID + ": fill-1\r\n\r\n")
	m.Data = append([]byte(`{"cardTemplateId":"`), bytes.Repeat([]byte("x"), maxPayload-block-len(`{"cardTemplateId":"`))...)
	if _, err := e.js.PublishMsg(context.Background(), m); err != nil {
		t.Fatalf("the job itself fits: %v", err)
	}

	e.run(testConfig(), dispatcher.SenderFunc(func(context.Context, dispatcher.Job) error { return nil }))
	e.waitFor(10*time.Second, "its dead letter", func() bool { return len(e.deadLetters()) == 1 })
	e.waitFor(5*time.Second, "the job stream empty", func() bool { return e.streamMsgs(names.JobStream()) == 0 })

	dl := e.deadLetters()[0]
	if want := fmt.Sprintf("length=%d sha256=%x", len(m.Data), sha256.Sum256(m.Data)); dl.Header.Get(schema.HeaderTruncated) != want {
		t.Errorf("Dingq-Truncated = %q, want %q", dl.Header.Get(schema.HeaderTruncated), want)
	}
	if !bytes.HasPrefix(m.Data, dl.Data) || len(dl.Data) >= len(m.Data) || len(dl.Data) < len(m.Data)-2048 {
		t.Errorf("kept %d of %d bytes; want a prefix, cut only by the headers' room", len(dl.Data), len(m.Data))
	}
	if dl.Header.Get(schema.HeaderJobID) != "fill-1" || dl.Header.Get(schema.HeaderErrorCode) != schema.CodeInvalidJSON {
		t.Errorf("letter headers %v", dl.Header)
	}
}

// Someone else published a message with the id the job's letter is stored under. JetStream
// answers the letter's publish as a duplicate and stores nothing; the worker terminated the job
// all the same, and the job was gone without its letter. Now the duplicate is checked, and the
// letter stored under a fresh id.
func TestDeadLetterIDTakenByAForeignMessageStillStoresTheLetter(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := worker.Provision(ctx, e.js, testConfig()); err != nil {
		t.Fatal(err)
	}
	jobs, err := e.js.Stream(ctx, names.JobStream())
	if err != nil {
		t.Fatal(err)
	}
	body := `{"cardTemplateId":"x","outTrackId":"taken-1"}` // invalid: dead-lettered without a send
	ack, err := e.js.PublishMsg(ctx, &nats.Msg{Subject: "dingq.send.card", Data: []byte(body)})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := jobs.GetMsg(ctx, ack.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("dead-%s-%d-%d", names.JobStream(), ack.Sequence, stored.Time.UnixNano())
	foreign := nats.NewMsg("dingq.dead.card")
	foreign.Data = []byte("not this job's letter")
	if a, err := e.js.PublishMsg(ctx, foreign, jetstream.WithMsgID(id)); err != nil || a.Duplicate {
		t.Fatalf("foreign publish: %v %+v", err, a)
	}

	e.run(testConfig(), dispatcher.SenderFunc(func(context.Context, dispatcher.Job) error { return nil }))
	e.waitFor(10*time.Second, "the job stream empty", func() bool { return e.streamMsgs(names.JobStream()) == 0 })

	var found bool
	for _, dl := range e.deadLetters() {
		if dl.Header.Get(schema.HeaderJobID) == "taken-1" && string(dl.Data) == body {
			found = true
			if got := dl.Header.Get(jetstream.MsgIDHeader); !strings.HasPrefix(got, id+"-") {
				t.Errorf("letter stored under %q, want a fresh id after %q", got, id)
			}
		}
	}
	if !found {
		t.Fatalf("the job left the work queue without its letter stored; dead letters: %d\nlog:\n%s", len(e.deadLetters()), e.log)
	}
	if n := len(e.deadLetters()); n != 2 {
		t.Errorf("%d messages in the dead-letter stream, want the foreign one and the letter", n)
	}
}
