package worker_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
	"github.com/dingq/dingq/worker/embedded"
	"github.com/dingq/dingq/worker/workertest"
)

func TestBusyTwiceThenSentOnThirdAttemptWithGrowingBackoff(t *testing.T) {
	e := newEnv(t)
	s := newScript().on("busy-1", busy, busy)
	e.run(testConfig(), s)

	e.publish(schema.KindCard, card("busy-1"), nil)
	e.waitFor(10*time.Second, "the job sent", func() bool { return e.log.Has("sent") })

	if n := s.count("busy-1"); n != 3 {
		t.Fatalf("sends = %d, want 3", n)
	}
	retries := e.log.Events("retry")
	if len(retries) != 2 {
		t.Fatalf("retry events = %d, want 2", len(retries))
	}
	d1, d2 := retries[0]["delay_ms"].(float64), retries[1]["delay_ms"].(float64)
	// Attempt 1: 100 ms ±25 %; attempt 2: 200 ms ±25 %.
	if d1 < 75 || d1 > 125 || d2 < 150 || d2 > 250 || d2 <= d1 {
		t.Errorf("retry delays = %v ms, %v ms; want ~100 then ~200, growing", d1, d2)
	}
	for i, ev := range retries {
		if ev["code"] != "systemBusy" || ev["attempt"] != float64(i+1) || ev["job_id"] != "busy-1" || ev["kind"] != "card" {
			t.Errorf("retry event %d = %v", i, ev)
		}
	}
	sent := e.log.Events("sent")[0]
	if sent["attempt"] != float64(3) {
		t.Errorf("sent on attempt %v, want 3", sent["attempt"])
	}
	e.waitFor(5*time.Second, "job stream empty", func() bool { return e.streamMsgs(names.JobStream()) == 0 })
	if n := len(e.deadLetters()); n != 0 {
		t.Errorf("dead letters = %d, want 0", n)
	}
}

func TestRejectedJobIsDeadLetteredWithContractHeaders(t *testing.T) {
	e := newEnv(t)
	s := newScript().on("rej-1", reject)
	e.run(testConfig(), s)

	e.publish(schema.KindCard, card("rej-1"), nats.Header{"X-Team": []string{"billing"}})
	e.waitFor(10*time.Second, "a dead letter", func() bool { return len(e.deadLetters()) == 1 })

	dl := e.deadLetters()[0]
	if dl.Subject != "dingq.dead.card" {
		t.Errorf("subject = %q", dl.Subject)
	}
	if string(dl.Data) != card("rej-1") {
		t.Errorf("body changed: %s", dl.Data)
	}
	want := map[string]string{
		schema.HeaderJobID:           "rej-1",
		schema.HeaderReason:          "rejected",
		schema.HeaderErrorCode:       "chatbotNotInstall",
		schema.HeaderHTTPStatus:      "400",
		schema.HeaderAttempts:        "1",
		schema.HeaderOriginalSubject: "dingq.send.card",
		"X-Team":                     "billing",
	}
	for k, v := range want {
		if got := dl.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if msg := dl.Header.Get(schema.HeaderError); msg == "" {
		t.Error("Dingq-Error is empty")
	}
	if _, err := time.Parse(time.RFC3339, dl.Header.Get(schema.HeaderFailedAt)); err != nil {
		t.Errorf("Dingq-Failed-At: %v", err)
	}
	e.waitFor(5*time.Second, "job stream empty", func() bool { return e.streamMsgs(names.JobStream()) == 0 })
	if n := s.count("rej-1"); n != 1 {
		t.Errorf("sends = %d, want 1", n)
	}
}

func TestInvalidJobsAreDeadLetteredWithoutASend(t *testing.T) {
	cases := []struct {
		name, subject, body, code string
	}{
		{"bad json", "dingq.send.card", `{"cardTemplateId":`, schema.CodeInvalidJSON},
		{"missing field", "dingq.send.card", `{"cardTemplateId":"x","openConversationId":"c","robotCode":"r","cardData":"{}"}`, schema.CodeInvalidField},
		{"wrong type", "dingq.send.crossdomain", `{"sender":"1@d","message_id":42,"send_message_model":{"conversation_type":1,"uuid":"u","content_type":1,"content":"{}","cid":"c"}}`, schema.CodeInvalidField},
		{"empty body", "dingq.send.robot", ``, schema.CodeEmptyBody},
		{"app header", "dingq.send.card", card("by-header"), schema.CodeAppHeader},
	}
	e := newEnv(t)
	var sends atomic.Int64
	e.run(testConfig(), dispatcher.SenderFunc(func(context.Context, dispatcher.Job) error { sends.Add(1); return nil }))
	for i, c := range cases {
		m := nats.NewMsg(c.subject)
		m.Data = []byte(c.body)
		m.Header.Set(schema.HeaderMsgID, "invalid-"+strconv.Itoa(i))
		if c.code == schema.CodeAppHeader {
			m.Header.Set(schema.HeaderApp, "sales") // the app is the subject's: this would send with the default app's
		}
		if _, err := e.js.PublishMsg(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	e.waitFor(10*time.Second, "every invalid job dead-lettered", func() bool { return len(e.deadLetters()) == len(cases) })

	got := map[string]*jetstream.RawStreamMsg{}
	for _, dl := range e.deadLetters() {
		got[dl.Header.Get(schema.HeaderJobID)] = dl
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dl := got["invalid-"+strconv.Itoa(i)]
			if dl == nil {
				t.Fatal("no dead letter")
			}
			wantSubject := "dingq.dead." + c.subject[len("dingq.send."):]
			if dl.Subject != wantSubject || dl.Header.Get(schema.HeaderReason) != "invalid" ||
				dl.Header.Get(schema.HeaderErrorCode) != c.code || dl.Header.Get(schema.HeaderAttempts) != "0" ||
				dl.Header.Get(schema.HeaderOriginalSubject) != c.subject || dl.Header.Get(schema.HeaderError) == "" {
				t.Errorf("dead letter %s %v", dl.Subject, dl.Header)
			}
			if c.code == schema.CodeAppHeader && !strings.Contains(dl.Header.Get(schema.HeaderError), "publish to dingq.send.card.sales") {
				t.Errorf("the letter does not say where to publish: %q", dl.Header.Get(schema.HeaderError))
			}
		})
	}
	if n := sends.Load(); n != 0 {
		t.Errorf("sends = %d, want 0", n)
	}
	if n := e.streamMsgs(names.JobStream()); n != 0 {
		t.Errorf("job stream holds %d, want 0", n)
	}
}

func TestFailingJobIsExhaustedAfterMaxAttempts(t *testing.T) {
	e := newEnv(t)
	cfg := testConfig()
	cfg.MaxAttempts = 3
	s := newScript().on("ex-1", busy, busy, busy, busy, busy)
	e.run(cfg, s)

	e.publish(schema.KindCard, card("ex-1"), nil)
	e.waitFor(10*time.Second, "a dead letter", func() bool { return len(e.deadLetters()) == 1 })
	dl := e.deadLetters()[0]
	if r, a, c := dl.Header.Get(schema.HeaderReason), dl.Header.Get(schema.HeaderAttempts), dl.Header.Get(schema.HeaderErrorCode); r != "exhausted" || a != "3" || c != "systemBusy" {
		t.Errorf("reason, attempts, code = %s, %s, %s; want exhausted, 3, systemBusy", r, a, c)
	}
	if n := s.count("ex-1"); n != 3 {
		t.Errorf("sends = %d, want 3", n)
	}
}

func TestMinDelayFromDingTalkOverridesShorterBackoff(t *testing.T) {
	e := newEnv(t)
	throttled := &dispatcher.Error{Decision: dispatcher.Retry, Code: "Forbidden.AccessDenied.QpsLimitForApi", HTTPStatus: 403, MinDelay: 1500 * time.Millisecond}
	e.run(testConfig(), newScript().on("qps-1", throttled))
	e.publish(schema.KindCard, card("qps-1"), nil)
	e.waitFor(10*time.Second, "the job sent", func() bool { return e.log.Has("sent") })
	if d := e.log.Events("retry")[0]["delay_ms"].(float64); d != 1500 {
		t.Errorf("delay = %v ms, want 1500 (DingTalk's minimum)", d)
	}
}

// The dead-letter stream deleted under a running worker: the rejected job is kept, never sent
// again, the stream is provisioned again by the worker's watchdog, and the letter keeps the reason
// and code DingTalk gave.
func TestDeadLetterPublishFailureKeepsTheJob(t *testing.T) {
	e := newEnv(t)
	cfg := testConfig()
	s := newScript().on("keep-1", reject, reject, reject)
	e.run(cfg, s)
	// Gone either way; the test needs it missing, not deleted by this call.
	if err := e.js.DeleteStream(context.Background(), names.DeadStream()); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatal(err)
	}

	e.publish(schema.KindCard, card("keep-1"), nil)
	e.waitFor(10*time.Second, "a failed dead-letter publish", func() bool {
		return e.log.Has("dead-letter publish failed; job kept, its letter published again later")
	})
	e.waitFor(10*time.Second, "the dead letter", func() bool { return len(e.deadLetters()) == 1 })
	e.waitFor(5*time.Second, "job stream empty", func() bool { return e.streamMsgs(names.JobStream()) == 0 })
	dl := e.deadLetters()[0]
	if r, c := dl.Header.Get(schema.HeaderReason), dl.Header.Get(schema.HeaderErrorCode); r != "rejected" || c != "chatbotNotInstall" {
		t.Errorf("letter reason, code = %s, %s; want rejected, chatbotNotInstall", r, c)
	}
	if n := s.count("keep-1"); n != 1 {
		t.Errorf("sends = %d, want 1: a rejected job is never sent again", n)
	}
}

func TestPanickingSenderIsRetried(t *testing.T) {
	e := newEnv(t)
	var calls atomic.Int64
	e.run(testConfig(), dispatcher.SenderFunc(func(context.Context, dispatcher.Job) error {
		if calls.Add(1) == 1 {
			panic("boom")
		}
		return nil
	}))
	e.publish(schema.KindCard, card("panic-1"), nil)
	e.waitFor(10*time.Second, "the job sent", func() bool { return e.log.Has("sent") })
	if ev := e.log.Events("retry"); len(ev) != 1 || ev[0]["code"] != "panic" {
		t.Errorf("retry events = %v, want one with code panic", ev)
	}
}

func TestLongSendIsNotRedeliveredWhileItRuns(t *testing.T) {
	e := newEnv(t)
	cfg := testConfig()
	cfg.AckWait = time.Second
	var calls atomic.Int64
	e.run(cfg, dispatcher.SenderFunc(func(ctx context.Context, _ dispatcher.Job) error {
		calls.Add(1)
		select { // three ack-waits: without progress signals JetStream would redeliver
		case <-time.After(3 * cfg.AckWait):
		case <-ctx.Done():
		}
		return nil
	}))
	e.publish(schema.KindCard, card("slow-1"), nil)
	e.waitFor(10*time.Second, "the job sent", func() bool { return e.log.Has("sent") })
	if n := calls.Load(); n != 1 {
		t.Errorf("sends = %d, want 1", n)
	}
}

func TestStopAndRestartLosesNothing(t *testing.T) {
	const jobs = 300
	e := newEnv(t)
	cfg := testConfig()
	s := newScript()
	s.fn = func(ctx context.Context, _ dispatcher.Job) error {
		select {
		case <-time.After(2 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	stop := e.run(cfg, s)
	for i := range jobs {
		e.publish(schema.KindCard, card(fmt.Sprintf("job-%03d", i)), nil)
	}
	e.waitFor(10*time.Second, "some jobs sent", func() bool { n, _ := s.total(); return n >= 20 })
	stop()
	before, _ := s.total()

	e.log = &workertest.LogBuffer{}
	e.run(cfg, s)
	e.waitFor(30*time.Second, "every job sent", func() bool { n, _ := s.total(); return n == jobs })
	e.waitFor(5*time.Second, "job stream empty", func() bool { return e.streamMsgs(names.JobStream()) == 0 })
	if before == jobs {
		t.Logf("all %d jobs were sent before the stop; the restart had nothing to do", jobs)
	}
	for i := range jobs {
		if s.count(fmt.Sprintf("job-%03d", i)) < 1 {
			t.Errorf("job-%03d never sent", i)
		}
	}
}

func TestShutdownTimeoutHandsSlowJobsBack(t *testing.T) {
	e := newEnv(t)
	cfg := testConfig()
	cfg.ShutdownTimeout = 200 * time.Millisecond
	started := make(chan struct{}, 1)
	stop := e.run(cfg, dispatcher.SenderFunc(func(ctx context.Context, _ dispatcher.Job) error {
		started <- struct{}{}
		<-ctx.Done() // never finishes by itself
		return ctx.Err()
	}))
	e.publish(schema.KindCard, card("stuck-1"), nil)
	<-started
	stop()
	if !e.log.Has("handed back: worker stopping") {
		t.Fatalf("no hand-back logged:\n%s", e.log)
	}

	s := newScript()
	e.log = &workertest.LogBuffer{}
	e.run(cfg, s)
	e.waitFor(10*time.Second, "the job sent after restart", func() bool { return s.count("stuck-1") == 1 })
}

func TestJobPastMaxAttemptsIsDeadLetteredWithoutSending(t *testing.T) {
	e := newEnv(t)
	cfg := testConfig()
	cfg.MaxAttempts = 2
	res, err := worker.Provision(context.Background(), e.js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.publish(schema.KindCard, card("stranded-1"), nil)
	// Two deliveries end with no decision, as if their workers had died mid-send.
	for range cfg.MaxAttempts {
		batch, err := res.Queue("", schema.KindCard).Consumer.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			if err := m.Nak(); err != nil {
				t.Fatal(err)
			}
		}
	}
	s := newScript()
	e.run(cfg, s)
	e.waitFor(10*time.Second, "a dead letter", func() bool { return len(e.deadLetters()) == 1 })
	dl := e.deadLetters()[0]
	if r, c := dl.Header.Get(schema.HeaderReason), dl.Header.Get(schema.HeaderErrorCode); r != "exhausted" || c != "no_outcome" {
		t.Errorf("reason, code = %s, %s; want exhausted, no_outcome", r, c)
	}
	if n := s.count("stranded-1"); n != 0 {
		t.Errorf("sends = %d, want 0", n)
	}
}

func TestProvisionIsIdempotentAndAppliesChanges(t *testing.T) {
	e := newEnv(t)
	cfg := testConfig()
	ctx := context.Background()
	for range 2 {
		if _, err := worker.Provision(ctx, e.js, cfg); err != nil {
			t.Fatal(err)
		}
	}
	cfg.MaxAttempts = 10
	cfg.AckWait = 45 * time.Second
	res, err := worker.Provision(ctx, e.js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Queues) != len(schema.Kinds()) {
		t.Fatalf("%d queues, want one per kind", len(res.Queues))
	}
	for _, q := range res.Queues {
		info, err := q.Consumer.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c := info.Config
		if c.AckWait != 45*time.Second || c.MaxDeliver != -1 || len(c.BackOff) != 0 || c.MaxAckPending != -1 ||
			c.FilterSubject != names.SendSubject(q.Kind) || c.Durable != names.ConsumerFor(q.Kind) {
			t.Errorf("consumer %s: ack wait %v, max deliver %d, backoff %v, max ack pending %d, filter %q",
				c.Durable, c.AckWait, c.MaxDeliver, c.BackOff, c.MaxAckPending, c.FilterSubject)
		}
	}
	for name, want := range map[string]jetstream.RetentionPolicy{names.JobStream(): jetstream.WorkQueuePolicy, names.DeadStream(): jetstream.LimitsPolicy} {
		s, err := e.js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		c := s.CachedInfo().Config
		if c.Retention != want || c.Discard != jetstream.DiscardNew || c.MaxBytes != 1<<30 {
			t.Errorf("%s: retention %v, discard %v, max bytes %d; want %v, discard new, 1 GiB", name, c.Retention, c.Discard, c.MaxBytes, want)
		}
	}
}

func TestCustomPrefixNamesEverything(t *testing.T) {
	e := newEnv(t)
	cfg := testConfig()
	cfg.Names = schema.NewNames("staging")
	e.run(cfg, newScript().on("pre-1", reject))
	m := nats.NewMsg("staging.send.card")
	m.Data = []byte(card("pre-1"))
	if _, err := e.js.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	e.waitFor(10*time.Second, "dead letter", func() bool { return e.log.Has("dead-lettered") })
	s, err := e.js.Stream(context.Background(), "STAGING_DEAD")
	if err != nil {
		t.Fatal(err)
	}
	dl, err := s.GetLastMsgForSubject(context.Background(), "staging.dead.card")
	if err != nil || dl.Header.Get(schema.HeaderJobID) != "pre-1" {
		t.Fatalf("dead letter on staging.dead.card: %v %v", dl, err)
	}
}

// A server whose JetStream store cannot hold what the streams and buckets reserve refuses them;
// the error says what reserves how much and which settings to change.
func TestProvisionExplainsAStoreTooSmall(t *testing.T) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir(), JetStreamMaxStore: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	e := envOn(t, &embedded.Server{Server: srv})
	_, err = worker.Provision(context.Background(), e.js, testConfig())
	if err == nil || !strings.Contains(err.Error(), "the streams and buckets reserve 2577 MiB per replica") ||
		!strings.Contains(err.Error(), "DINGQ_JOBS_MAX_BYTES") {
		t.Fatalf("provision on a 1 GiB store: %v", err)
	}
	cfg := testConfig()
	cfg.JobStreamMaxBytes, cfg.DeadStreamMaxBytes = 128<<20, 128<<20
	if _, err := worker.Provision(context.Background(), e.js, cfg); err != nil {
		t.Fatalf("provision within the store: %v", err)
	}
}
