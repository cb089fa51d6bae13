package worker

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker/embedded"
	"github.com/dingq/dingq/worker/workertest"
)

// ackRig is a worker, provisioned but not running, and a job delivered by a consumer of the
// test's own, which the test can take away from under the job's ack.
type ackRig struct {
	t    *testing.T
	w    *Worker
	js   jetstream.JetStream
	log  *workertest.LogBuffer
	d    *delivery
	cons string // the consumer that delivered d, on stream "ACKT"
}

func newAckRig(t *testing.T, srv *embedded.Server) *ackRig {
	t.Helper()
	_, js := workertest.Connect(t, srv.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := &ackRig{t: t, js: js, log: &workertest.LogBuffer{}, cons: "acks"}
	v, err := schema.NewValidator(schema.ValidatorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	nop := dispatcher.SenderFunc(func(context.Context, dispatcher.Job) error { return nil })
	if r.w, err = New(js, Config{}, Deps{Sender: nop, Validator: v, Logger: zerolog.New(r.log)}); err != nil {
		t.Fatal(err)
	}
	if r.w.res, err = Provision(ctx, js, r.w.cfg); err != nil {
		t.Fatal(err)
	}
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ACKT", Subjects: []string{"ackt"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: r.cons, AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "ackt", []byte(`{}`), jetstream.WithMsgID("ack-1")); err != nil {
		t.Fatal(err)
	}
	batch, err := c.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		r.d = r.w.inspect(m)
	}
	if r.d == nil {
		t.Fatalf("nothing fetched: %v", batch.Error())
	}
	return r
}

// takeConsumer deletes the consumer that delivered the job: an ack then reaches no one, as while
// a cluster elects the consumer's leader.
func (r *ackRig) takeConsumer() {
	r.t.Helper()
	if err := r.js.DeleteConsumer(context.Background(), "ACKT", r.cons); err != nil {
		r.t.Fatal(err)
	}
}

// swallowAcks puts in the consumer's place someone who takes the acks and never answers.
func (r *ackRig) swallowAcks(srv *embedded.Server) *nats.Subscription {
	r.t.Helper()
	r.takeConsumer()
	other, _ := workertest.Connect(r.t, srv.ClientURL())
	sub, err := other.Subscribe("$JS.ACK.ACKT.>", func(*nats.Msg) {})
	if err != nil {
		r.t.Fatal(err)
	}
	if err := other.Flush(); err != nil {
		r.t.Fatal(err)
	}
	return sub
}

// recorded reports whether the job's send is in the sent-record.
func (r *ackRig) recorded() bool {
	sent, err := r.w.res.sentRecord().wasSent(r.d.job)
	return err == nil && sent
}

// finish waits for the acker's work and ends its watch, as Run does.
func (r *ackRig) finish() {
	r.w.waitRecorders()
	r.w.acker.stop()
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An ack that no consumer takes is answered "503 no responders" at once. That is no
// confirmation: the job comes back once a consumer leader is elected, so its send is recorded
// (and known to this process while the record is written).
func TestAckAnsweredByNoResponderIsRecorded(t *testing.T) {
	r := newAckRig(t, workertest.StartServer(t))
	defer r.finish()
	r.w.acker.timeout = time.Hour // the answer, not its absence, must tell
	r.takeConsumer()
	r.w.acker.add(r.d)
	waitUntil(t, 10*time.Second, "the send recorded", r.recorded)
	if !r.log.Has("acks not confirmed; recording the sends so that a redelivery is not sent again") {
		t.Errorf("no warning of the unconfirmed ack:\n%s", r.log)
	}
}

// An unconfirmed ack keeps its place among those not yet confirmed until its send is recorded:
// a worker that can neither confirm nor record (cut off from NATS) stops sending once its places
// are taken, rather than sending every job it holds.
func TestUnconfirmedAckKeepsItsPlaceUntilRecorded(t *testing.T) {
	srv := workertest.StartServer(t)
	r := newAckRig(t, srv)
	defer r.finish()
	r.w.acker.timeout = 50 * time.Millisecond
	r.swallowAcks(srv)
	ctx := context.Background()
	if err := r.js.DeleteKeyValue(ctx, r.w.cfg.Names.SentBucket()); err != nil {
		t.Fatal(err)
	}
	r.w.acker.add(r.d)
	waitUntil(t, 10*time.Second, "the ack given up on", func() bool {
		return r.log.Has("acks not confirmed; recording the sends so that a redelivery is not sent again")
	})
	if n := len(r.w.acker.slots); n != 1 {
		t.Fatalf("%d places taken while the send cannot be recorded, want 1", n)
	}
	if _, err := Provision(ctx, r.js, r.w.cfg); err != nil { // the bucket back
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the send recorded and its place freed", func() bool {
		return r.recorded() && len(r.w.acker.slots) == 0
	})
}

// When the connection is lost, acks awaiting their answers are recorded at once, not after the
// timeout: a new consumer leader may deliver their jobs again straight away.
func TestAcksAwaitingAnswersAreRecordedWhenTheConnectionIsLost(t *testing.T) {
	dir := t.TempDir()
	srv, err := embedded.Start(embedded.Config{Listen: "127.0.0.1:0", StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr().String()
	defer func() { srv.Shutdown() }()
	r := newAckRig(t, srv)
	defer r.finish()
	r.w.acker.timeout = time.Hour
	swallow := r.swallowAcks(srv)
	r.w.acker.add(r.d)
	waitUntil(t, 10*time.Second, "the ack taken", func() bool { n, _ := swallow.Delivered(); return n == 1 })
	if r.w.recording.has(r.d.job) {
		t.Fatal("recorded while the ack awaits its answer and the connection stands")
	}
	srv.Shutdown()
	waitUntil(t, 10*time.Second, "the send known as unconfirmed", func() bool { return r.w.recording.has(r.d.job) })
	if srv, err = embedded.Start(embedded.Config{Listen: addr, StoreDir: dir}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "the send recorded", r.recorded)
}

// A send whose record is still being written (the bucket electing its leader, say) is known to
// this process: its job, back already, is not sent again.
func TestSendBeingRecordedIsKnownBeforeItsRecordLands(t *testing.T) {
	r := newAckRig(t, workertest.StartServer(t))
	defer r.finish()
	r.d.deliveries = 2
	if r.w.alreadySent(r.d) {
		t.Fatal("a job never sent reads as sent")
	}
	r.w.recording.add(r.d.job)
	if !r.w.alreadySent(r.d) || r.recorded() {
		t.Errorf("sent = %v, recorded = %v; want known as sent before its record lands", r.w.alreadySent(r.d), r.recorded())
	}
	r.w.recording.remove(r.d.job)
	if r.w.alreadySent(r.d) {
		t.Error("still known as sent once its record is written (or given up on)")
	}
}

// A stopping worker's ack does not wait for a place: with every place held (acks whose sends
// cannot be recorded yet), it is sent plainly and its send recorded, and the slot is free to end.
func TestStoppingWorkersAckDoesNotWaitForAPlace(t *testing.T) {
	r := newAckRig(t, workertest.StartServer(t))
	defer r.finish()
	for range cap(r.w.acker.slots) {
		r.w.acker.slots <- struct{}{}
	}
	quit := make(chan struct{})
	r.w.acker.quit = quit
	added := make(chan struct{})
	go func() { r.w.acker.add(r.d); close(added) }()
	select {
	case <-added:
		t.Fatal("an ack was taken with every place held and the worker not stopping")
	case <-time.After(100 * time.Millisecond): // only to see that add waits; nothing waits on it
	}
	close(quit)
	waitUntil(t, 10*time.Second, "the ack handed over", func() bool {
		select {
		case <-added:
			return true
		default:
			return false
		}
	})
	waitUntil(t, 10*time.Second, "the send recorded", r.recorded)
	for range cap(r.w.acker.slots) {
		<-r.w.acker.slots
	}
}

// One timer gives up on every unanswered ack in turn: each is recorded and frees its place, and
// the timer is idle once none is pending.
func TestUnansweredAcksAreGivenUpOnInTurn(t *testing.T) {
	srv := workertest.StartServer(t)
	r := newAckRig(t, srv)
	defer r.finish()
	r.w.acker.timeout = 50 * time.Millisecond
	r.swallowAcks(srv)
	for range 3 {
		r.w.acker.add(r.d)
	}
	a := &r.w.acker
	a.mu.Lock()
	p := a.pending[a.next-1]
	p.due = p.due.Add(200 * time.Millisecond) // the last is due well after the others
	a.pending[a.next-1] = p
	a.mu.Unlock()
	waitUntil(t, 10*time.Second, "the first two given up on", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.pending) == 1
	})
	waitUntil(t, 10*time.Second, "every ack given up on and recorded", func() bool {
		r.w.acker.mu.Lock()
		defer r.w.acker.mu.Unlock()
		return len(r.w.acker.pending) == 0 && !r.w.acker.armed && len(r.w.acker.slots) == 0
	})
	if !r.recorded() {
		t.Error("the send is not recorded")
	}
	if r.w.acker.oldest != r.w.acker.next {
		t.Errorf("oldest pending token %d, want %d (none pending)", r.w.acker.oldest, r.w.acker.next)
	}
}
