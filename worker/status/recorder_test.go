package status_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
	"github.com/dingq/dingq/worker/status"
	"github.com/dingq/dingq/worker/workertest"
)

// connect starts an embedded server with JetStream and connects to it.
func connect(t *testing.T) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	_, nc, js := workertest.StartNATS(t)
	return nc, js
}

func flush(t *testing.T, r *status.Recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// nextEvent returns the next event on sub, decoded.
func nextEvent(t *testing.T, sub *nats.Subscription) (string, map[string]any) {
	t.Helper()
	m, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("no event: %v", err)
	}
	var ev map[string]any
	if err := json.Unmarshal(m.Data, &ev); err != nil {
		t.Fatalf("event on %s is not JSON: %v: %s", m.Subject, err, m.Data)
	}
	return m.Subject, ev
}

func TestRecorderPublishesEventsAndKeepsTheLatestRecord(t *testing.T) {
	nc, js := connect(t)
	names := schema.NewNames("qa")
	sub, err := nc.SubscribeSync(names.EventSubjects())
	if err != nil {
		t.Fatal(err)
	}
	r, err := status.NewRecorder(nc, status.Config{Names: names})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateKeyValue(context.Background(), bucket(names)); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 22, 10, 0, 0, 123e6, time.FixedZone("CST", 8*3600))
	r.Record(status.Record{JobID: "order-1", Kind: "card", Outcome: status.OutcomeSent, Attempts: 1, At: at, StreamSeq: 7})
	r.Record(status.Record{JobID: "order 2/ü", Kind: "card", Outcome: status.OutcomeRejected, Code: "chatbotNotInstall",
		HTTPStatus: 400, Attempts: 1, At: at, StreamSeq: 8})
	r.Record(status.Record{JobID: "x", Kind: "fax.v2", Outcome: status.OutcomeInvalid, Code: "unknown_kind", Attempts: 0, At: at})
	flush(t, r)

	subject, ev := nextEvent(t, sub)
	want := map[string]any{"job_id": "order-1", "kind": "card", "outcome": "sent", "attempts": 1.0,
		"at": "2026-11-22T02:00:00.123Z", "stream_seq": 7.0}
	if subject != "qa.events.card.sent" || !equal(ev, want) {
		t.Errorf("event on %s = %v, want qa.events.card.sent %v", subject, ev, want)
	}
	subject, ev = nextEvent(t, sub)
	if subject != "qa.events.card.rejected" || ev["code"] != "chatbotNotInstall" || ev["http_status"] != 400.0 || ev["job_id"] != "order 2/ü" {
		t.Errorf("event on %s = %v", subject, ev)
	}
	if subject, ev = nextEvent(t, sub); subject != "qa.events.fax_v2.invalid" || ev["kind"] != "fax.v2" {
		t.Errorf("event of an unknown kind with a dot on %s = %v", subject, ev)
	}

	kinds := []string{"card", "crossdomain", "robot"}
	recs, err := status.Lookup(context.Background(), js, names, kinds, "order 2/ü")
	if err != nil || len(recs) != 1 || recs[0].Code != "chatbotNotInstall" || !recs[0].Dead() || !recs[0].At.Equal(at) {
		t.Fatalf("Lookup = %+v, %v", recs, err)
	}

	// The same id published again: the latest outcome wins.
	r.Record(status.Record{JobID: "order-1", Kind: "card", Outcome: status.OutcomeExhausted, Code: "systemBusy",
		HTTPStatus: 500, Attempts: 8, At: at.Add(time.Minute), StreamSeq: 9})
	flush(t, r)
	recs, err = status.Lookup(context.Background(), js, names, kinds, "order-1")
	if err != nil || len(recs) != 1 || recs[0].Outcome != status.OutcomeExhausted || recs[0].StreamSeq != 9 {
		t.Errorf("Lookup after a second outcome = %+v, %v; want the exhausted one", recs, err)
	}
	if recs, err = status.Lookup(context.Background(), js, names, kinds, "never-seen"); err != nil || len(recs) != 0 {
		t.Errorf("Lookup of an unknown id = %+v, %v; want none", recs, err)
	}

	kv, err := js.KeyValue(context.Background(), "QA_STATUS")
	if err != nil {
		t.Fatal(err)
	}
	st, _ := kv.Status(context.Background())
	if st.TTL() != time.Hour || st.History() != 1 {
		t.Errorf("bucket TTL %v, history %d; want 1h, 1", st.TTL(), st.History())
	}
	if s := r.Stats(); s != (status.Stats{}) {
		t.Errorf("stats = %+v, want nothing dropped or failed", s)
	}
}

func TestLookupBeforeAnyRecorder(t *testing.T) {
	_, js := connect(t)
	_, err := status.Lookup(context.Background(), js, schema.Names{}, []string{"card"}, "x")
	if !errors.Is(err, status.ErrNoBucket) {
		t.Errorf("Lookup without a bucket: %v, want ErrNoBucket", err)
	}
}

// startWithoutJetStream starts a server whose JetStream is off, and connects to it.
func startWithoutJetStream(t *testing.T) (*server.Server, *nats.Conn) {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return srv, nc
}

// Without JetStream (or without the bucket, or the permission to write to it) a recorder still
// publishes events, and counts the bucket writes that fail.
func TestRecorderWithoutJetStreamPublishesEventsOnly(t *testing.T) {
	_, nc := startWithoutJetStream(t)
	sub, err := nc.SubscribeSync("dingq.events.>")
	if err != nil {
		t.Fatal(err)
	}
	r, err := status.NewRecorder(nc, status.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r.Record(status.Record{JobID: "j1", Kind: "robot", Outcome: status.OutcomeSent, Attempts: 1, At: time.Now()})
	flush(t, r)
	if subject, _ := nextEvent(t, sub); subject != "dingq.events.robot.sent" {
		t.Errorf("event on %s", subject)
	}
	if s := r.Stats(); s != (status.Stats{Failed: 1}) {
		t.Errorf("stats = %+v, want the bucket write failed", s)
	}
	if n := r.Unflushed(); n != 0 {
		t.Errorf("%d records unflushed after Flush, want none", n)
	}
}

// A recorder started before its bucket exists, before JetStream is even there (a fresh cluster
// still electing its leaders), stores its records from the moment someone else (the worker)
// creates the bucket: it never drops a record for want of having confirmed the bucket itself.
func TestRecorderStoresRecordsOnceSomeoneElseCreatesTheBucket(t *testing.T) {
	srv, nc := startWithoutJetStream(t)
	names := schema.NewNames("late")
	r, err := status.NewRecorder(nc, status.Config{Names: names})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	r.Record(status.Record{JobID: "too-early", Kind: "card", Outcome: status.OutcomeSent, Attempts: 1, At: at})
	flush(t, r)
	if s := r.Stats(); s != (status.Stats{Failed: 1}) {
		t.Errorf("stats = %+v, want the write made before the bucket existed failed", s)
	}

	if err := srv.EnableJetStream(&server.JetStreamConfig{StoreDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateKeyValue(ctx, bucket(names)); err != nil {
		t.Fatal(err)
	}
	r.Record(status.Record{JobID: "in-time", Kind: "card", Outcome: status.OutcomeSent, Attempts: 1, At: at, StreamSeq: 3})
	flush(t, r)
	recs, err := status.Lookup(ctx, js, names, []string{"card"}, "in-time")
	if err != nil || len(recs) != 1 || recs[0].StreamSeq != 3 {
		t.Fatalf("Lookup of the record made once the bucket existed = %+v, %v; want it stored (stats %+v)", recs, err, r.Stats())
	}
	if s := r.Stats(); s != (status.Stats{Failed: 1}) {
		t.Errorf("stats = %+v, want only the early write failed", s)
	}
}

// equal compares a decoded event with want, field by field, and reports extra fields too.
func equal(got, want map[string]any) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// bucket is a status bucket as the worker provisions it, as far as records care.
func bucket(names schema.Names) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{Bucket: names.StatusBucket(), History: 1, TTL: time.Hour}
}

// A stopping worker's recorder does not wait for NATS while it is away, and counts the records
// it leaves unstored for the worker's one warning. Only final outcomes are records.
func TestStopDoesNotWaitWhileNATSIsDown(t *testing.T) {
	srv, nc, _ := workertest.StartNATS(t, workertest.ConnOptions(nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond)))
	r, err := status.NewRecorder(nc, status.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv.Shutdown()
	workertest.WaitFor(t, 10*time.Second, "the connection lost", func() bool { return !nc.IsConnected() })

	r.Observe(worker.Outcome{Kind: "card", JobID: "late", Result: worker.ResultSent, Attempt: 1, At: time.Now()})
	r.Observe(worker.Outcome{Kind: "card", JobID: "waiting", Result: worker.ResultDeferred, Attempt: 1, At: time.Now()})
	left := make(chan int, 1)
	go func() { left <- r.Stop(time.Hour) }()
	var records int
	workertest.WaitFor(t, 10*time.Second, "Stop to return without waiting for NATS", func() bool {
		select {
		case records = <-left:
			return true
		default:
			return false
		}
	})
	if records != 1 {
		t.Errorf("Stop left %d records unflushed, want the 1 final outcome", records)
	}
}

// A retried attempt is announced for whoever watches the fleet, and not kept: the job's status
// stays pending until its final outcome.
func TestRetriedAttemptIsAnEventOnly(t *testing.T) {
	nc, js := connect(t)
	names := schema.NewNames("")
	if _, err := js.CreateKeyValue(context.Background(), bucket(names)); err != nil {
		t.Fatal(err)
	}
	sub, err := nc.SubscribeSync(names.EventSubjects())
	if err != nil {
		t.Fatal(err)
	}
	r, err := status.NewRecorder(nc, status.Config{Names: names})
	if err != nil {
		t.Fatal(err)
	}
	r.Observe(worker.Outcome{Kind: "card", JobID: "busy-1", Result: worker.ResultRetried, Code: "systemBusy", Attempt: 1, At: time.Now()})
	r.Observe(worker.Outcome{Kind: "card", JobID: "busy-1", Result: worker.ResultDeferred, Attempt: 1, At: time.Now()})
	flush(t, r)
	subject, ev := nextEvent(t, sub)
	if subject != "dingq.events.card.retried" || ev["code"] != "systemBusy" || ev["job_id"] != "busy-1" {
		t.Errorf("event %s %v", subject, ev)
	}
	if m, err := sub.NextMsg(100 * time.Millisecond); err == nil {
		t.Errorf("a deferral was announced: %s", m.Subject)
	}
	recs, err := status.Lookup(context.Background(), js, names, []string{"card"}, "busy-1")
	if err != nil || len(recs) != 0 {
		t.Errorf("Lookup = %v, %v; want no record for a retried attempt", recs, err)
	}
}

// Records are written in batches whose last write alone is answered: every record of a batch
// is stored, and a batch JetStream cannot take counts every record of it failed.
func TestBatchesAreStoredAndCountedWhole(t *testing.T) {
	nc, js := connect(t)
	names := schema.NewNames("")
	if _, err := js.CreateKeyValue(context.Background(), bucket(names)); err != nil {
		t.Fatal(err)
	}
	r, err := status.NewRecorder(nc, status.Config{Names: names})
	if err != nil {
		t.Fatal(err)
	}
	const n = 500
	for i := range n {
		r.Record(status.Record{JobID: fmt.Sprintf("batch-%d", i), Kind: "card", Outcome: status.OutcomeSent, Attempts: 1, At: time.Now()})
	}
	flush(t, r)
	if s, left := r.Stats(), r.Unflushed(); s != (status.Stats{}) || left != 0 {
		t.Fatalf("stats %+v, %d unflushed; want none", s, left)
	}
	st, err := js.Stream(context.Background(), "KV_"+names.StatusBucket())
	if err != nil {
		t.Fatal(err)
	}
	if got := st.CachedInfo().State.Msgs; got != n {
		t.Errorf("the bucket holds %d records, want %d", got, n)
	}

	_, bare := startWithoutJetStream(t)
	r, err = status.NewRecorder(bare, status.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		r.Record(status.Record{JobID: fmt.Sprintf("lost-%d", i), Kind: "card", Outcome: status.OutcomeSent, Attempts: 1, At: time.Now()})
	}
	flush(t, r)
	if s := r.Stats(); s != (status.Stats{Failed: 5}) {
		t.Errorf("without a bucket: stats %+v, want the 5 writes failed", s)
	}
}
