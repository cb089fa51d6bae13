package worker_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
	"github.com/dingq/dingq/worker/workertest"
)

// nakTimes takes the next job n times and naks each delivery, as workers that died mid-send would
// leave it (every delivery counts, whatever ended it).
func nakTimes(t *testing.T, cons jetstream.Consumer, n int) uint64 {
	t.Helper()
	var seq uint64
	for range n {
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			meta, _ := m.Metadata()
			seq = meta.Sequence.Stream
			got++
			if err := m.Nak(); err != nil {
				t.Fatal(err)
			}
		}
		if got != 1 {
			t.Fatalf("fetched %d messages, want 1 (%v)", got, batch.Error())
		}
	}
	return seq
}

func TestRedeliveryOfASentJobIsAckedWithoutSending(t *testing.T) {
	e := newEnv(t)
	cfg := testConfig()
	res, err := worker.Provision(context.Background(), e.js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.publish(schema.KindCard, card("acklost-1"), nil)
	// The first delivery was sent, and the worker recorded it, but its ack never arrived.
	seq := nakTimes(t, res.Queue("", schema.KindCard).Consumer, 1)
	if _, err := res.Sent.Put(context.Background(), "card.acklost-1", fmt.Appendf(nil, "%d", seq)); err != nil {
		t.Fatal(err)
	}
	s := newScript()
	e.run(cfg, s)
	e.waitFor(10*time.Second, "the job acked", func() bool { return e.streamMsgs(names.JobStream()) == 0 })
	if n := s.count("acklost-1"); n != 0 {
		t.Errorf("sends = %d, want 0", n)
	}
	if !e.log.Has("already sent: acked without sending again") {
		t.Errorf("no log of the skipped send:\n%s", e.log)
	}
}

func TestConfirmedAcksNeedNoRecordAndSeparatePublishesAreAllSent(t *testing.T) {
	e := newEnv(t)
	s := newScript()
	e.run(testConfig(), s)
	robot := `{"link":"https://oapi.dingtalk.com/robot/send?access_token=x","data":[{"msgtype":"text","text":{"content":"build failed"}}]}`
	e.publish(schema.KindRobot, robot, nil)
	e.publish(schema.KindRobot, robot, nil) // the same alert, raised twice: both must go out
	e.waitFor(10*time.Second, "two sends", func() bool { _, n := s.total(); return n == 2 })
	e.waitFor(5*time.Second, "job stream empty", func() bool { return e.streamMsgs(names.JobStream()) == 0 })
	if n := e.streamMsgs("KV_" + names.SentBucket()); n != 0 {
		t.Errorf("sent-record holds %d entries after confirmed acks, want 0", n)
	}
}

// Every ack is confirmed, each with a reply of its own, off the slots: nothing lands in the
// sent-record.
func TestEveryAckIsConfirmed(t *testing.T) {
	e := newEnv(t)
	watch, err := nats.Connect(e.nc.ConnectedUrl())
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	var acks, confirmed atomic.Int64
	sub, err := watch.Subscribe("$JS.ACK.>", func(m *nats.Msg) {
		acks.Add(1)
		if m.Reply != "" {
			confirmed.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := watch.Flush(); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Concurrency = 16
	if _, err := worker.Provision(context.Background(), e.js, cfg); err != nil {
		t.Fatal(err)
	}
	const jobs = 300
	for i := range jobs {
		e.publish(schema.KindCard, card(fmt.Sprintf("ack-%d", i)), nil)
	}
	e.run(cfg, newScript())
	e.waitFor(20*time.Second, "every job acked", func() bool { return e.streamMsgs(names.JobStream()) == 0 })
	e.waitFor(10*time.Second, "every ack seen", func() bool { return acks.Load() >= jobs })
	if n := e.streamMsgs("KV_" + names.SentBucket()); n != 0 {
		t.Errorf("sent-record holds %d entries, want 0: every ack confirmed", n)
	}
	if a, c := acks.Load(), confirmed.Load(); a != jobs || c != jobs {
		t.Errorf("%d acks, %d with a reply; want %d, each with its own", a, c, jobs)
	}
}

func TestUnconfirmedAckIsRecordedAndTheJobSentOnce(t *testing.T) {
	natsd := newRestartable(t)
	e := envOn(t, natsd.srv)
	cfg := testConfig()
	cfg.AckWait = time.Second
	sending, proceed := make(chan struct{}), make(chan struct{})
	var sends atomic.Int64
	e.run(cfg, dispatcher.SenderFunc(func(context.Context, dispatcher.Job) error {
		if sends.Add(1) == 1 {
			close(sending)
			<-proceed // NATS goes away while DingTalk takes the send
		}
		return nil
	}))
	e.publish(schema.KindCard, card("lost-ack"), nil)
	<-sending
	natsd.stop()
	close(proceed)
	e.waitFor(15*time.Second, "the unconfirmed ack noticed", func() bool {
		return e.log.Has("acks not confirmed; recording the sends so that a redelivery is not sent again")
	})
	natsd.start()
	e.waitFor(30*time.Second, "the send recorded", func() bool { return e.streamMsgs("KV_"+names.SentBucket()) == 1 })
	e.waitFor(30*time.Second, "the job settled", func() bool { return e.streamMsgs(names.JobStream()) == 0 })
	if n := sends.Load(); n != 1 {
		t.Errorf("sends = %d, want 1", n)
	}
}

// Workers of an earlier version shared one consumer, with no filter and a MaxDeliver, on a job
// stream taking "<prefix>.send.>". A job it stopped delivering sits in the work queue. A worker of
// this version removes that consumer, narrows the stream to the known kinds, and its per-kind
// consumers deliver every job the old one held, the stranded one too.
func TestJobsOfTheEarlierSharedConsumerAreDelivered(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.js.CreateStream(ctx, jetstream.StreamConfig{Name: names.JobStream(), Subjects: []string{names.SendSubjects()},
		Retention: jetstream.WorkQueuePolicy, Discard: jetstream.DiscardNew}); err != nil {
		t.Fatal(err)
	}
	legacy, err := e.js.CreateOrUpdateConsumer(ctx, names.JobStream(), jetstream.ConsumerConfig{Durable: schema.ConsumerName,
		AckPolicy: jetstream.AckExplicitPolicy, MaxDeliver: 2})
	if err != nil {
		t.Fatal(err)
	}
	e.publish(schema.KindCard, card("stranded-2"), nil)
	nakTimes(t, legacy, 2) // every delivery it allows ends without a decision: it stops delivering
	e.publish(schema.KindRobot, `{"link":"https://oapi.dingtalk.com/robot/send?access_token=x","data":[{"msgtype":"text","text":{"content":"hi"}}]}`, nil)

	s := newScript()
	e.run(testConfig(), s)
	e.waitFor(15*time.Second, "both jobs sent", func() bool { _, n := s.total(); return n == 2 })
	e.waitFor(5*time.Second, "job stream empty", func() bool { return e.streamMsgs(names.JobStream()) == 0 })
	if _, err := e.js.Consumer(ctx, names.JobStream(), schema.ConsumerName); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("the earlier shared consumer: %v, want it removed", err)
	}
	st, err := e.js.Stream(ctx, names.JobStream())
	if err != nil {
		t.Fatal(err)
	}
	if got := st.CachedInfo().Config.Subjects; !slices.Equal(got, names.JobSubjects("")) {
		t.Errorf("job stream subjects %q, want %q", got, names.JobSubjects(""))
	}
}

func TestHostileInputIsDeadLetteredAndTheWorkerKeepsGoing(t *testing.T) {
	e := newEnv(t, workertest.MaxPayload(4<<20))
	var sends atomic.Int64
	e.run(testConfig(), dispatcher.SenderFunc(func(_ context.Context, j dispatcher.Job) error {
		sends.Add(1)
		return nil
	}))
	hostile := map[string]struct {
		subject, body, code string
	}{
		"oversized":    {"dingq.send.card", `{"cardTemplateId":"` + strings.Repeat("x", 1<<20+10) + `"}`, schema.CodeTooLarge},
		"not utf-8":    {"dingq.send.card", "{\"cardTemplateId\":\"\xff\xfe\"}", schema.CodeInvalidUTF8},
		"deep nesting": {"dingq.send.robot", strings.Repeat("[", 100000) + strings.Repeat("]", 100000), schema.CodeTooDeep},
		"wrong type":   {"dingq.send.card", `{"cardTemplateId":1,"openConversationId":"c","outTrackId":"o","robotCode":"r","cardData":"{}"}`, schema.CodeInvalidField},
		"array body":   {"dingq.send.crossdomain", `[1,2,3]`, schema.CodeInvalidJSON},
		"empty":        {"dingq.send.robot", ``, schema.CodeEmptyBody},
	}
	// A kind, or an app, no job stream takes is refused at its publish: nothing waits unseen.
	for _, subject := range []string{"dingq.send.sms", "dingq.send.card.extra", "dingq.send.card.sales.x"} {
		if _, err := e.js.PublishMsg(context.Background(), &nats.Msg{Subject: subject, Data: []byte(card("nested"))}); !errors.Is(err, jetstream.ErrNoStreamResponse) {
			t.Errorf("publish to %s: %v, want no stream to answer", subject, err)
		}
	}
	for name, h := range hostile {
		m := nats.NewMsg(h.subject)
		m.Data = []byte(h.body)
		m.Header.Set(schema.HeaderMsgID, name)
		if _, err := e.js.PublishMsg(context.Background(), m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	e.publish(schema.KindCard, card("after-the-storm"), nil)
	e.waitFor(15*time.Second, "every hostile job dead-lettered and the valid one sent", func() bool {
		return len(e.deadLetters()) == len(hostile) && e.log.Has("sent")
	})
	for _, dl := range e.deadLetters() {
		h := hostile[dl.Header.Get(schema.HeaderJobID)]
		if dl.Header.Get(schema.HeaderReason) != "invalid" || dl.Header.Get(schema.HeaderErrorCode) != h.code {
			t.Errorf("%s: reason %s code %s, want invalid %s", dl.Header.Get(schema.HeaderJobID),
				dl.Header.Get(schema.HeaderReason), dl.Header.Get(schema.HeaderErrorCode), h.code)
		}
		if len(dl.Header.Get(schema.HeaderError)) > 600 {
			t.Errorf("Dingq-Error is %d bytes", len(dl.Header.Get(schema.HeaderError)))
		}
	}
	if n := sends.Load(); n != 1 {
		t.Errorf("sends = %d, want 1 (only the valid job)", n)
	}
}

func TestNATSRestartMidRunLosesNothing(t *testing.T) {
	const jobs = 400
	natsd := newRestartable(t)
	e := envOn(t, natsd.srv)
	s := newScript()
	s.fn = func(ctx context.Context, _ dispatcher.Job) error {
		select {
		case <-time.After(5 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	cfg := testConfig()
	e.run(cfg, s)
	for i := range jobs {
		e.publish(schema.KindCard, card(fmt.Sprintf("restart-%03d", i)), nil)
	}
	e.waitFor(10*time.Second, "some jobs sent", func() bool { n, _ := s.total(); return n >= 50 })

	natsd.stop()
	down := time.Now()
	natsd.start()
	e.waitFor(60*time.Second, "every job sent after the restart", func() bool { n, _ := s.total(); return n == jobs })
	allSent := time.Since(down)
	// Acks that could not be confirmed during the outage may be lost; those jobs come back after
	// the ack wait and are acked through the sent-record, without a second send.
	e.waitFor(2*worker.DefaultAckWait, "every job acked", func() bool { return e.streamMsgs(names.JobStream()) == 0 })
	unique, sends := s.total()
	t.Logf("NATS restart: %d jobs, %d lost, %d duplicate sends, all sent %v and all acked %v after the server went down (%d acks unconfirmed)",
		jobs, jobs-unique, sends-unique, allSent.Round(time.Millisecond), time.Since(down).Round(time.Millisecond),
		len(e.log.Events("acks not confirmed; recording the sends so that a redelivery is not sent again")))
	if !e.nc.IsConnected() {
		t.Error("the worker's connection did not come back")
	}
}
