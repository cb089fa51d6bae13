package worker

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// ackBody is the body of an ack.
var ackBody = []byte("+ACK")

// acker acks sent jobs and has JetStream confirm each ack, without holding the pool's slots for
// the round trip. A slot sends its job's ack with a reply subject of its own under one inbox and
// is free; the answers come to one subscription (nats.go's writer gathers the acks of the slots
// into few write calls). A job whose ack is answered is done; one whose ack is not confirmed (see
// answered, expire and watch) has its send written to the sent-record. No ack ever waits for
// another's answer. Safe for concurrent use; the zero value needs its worker set.
type acker struct {
	w *Worker
	// slots holds a place for each ack not yet confirmed: at most Concurrency, as when slots
	// waited. An unconfirmed ack keeps its place until its send is recorded (see
	// Worker.unconfirmed): a worker cut off from NATS, which can neither confirm nor record,
	// stops sending once its places are taken.
	slots chan struct{}
	quit  <-chan struct{} // closed when the worker stops; nil until it runs
	// timeout gives up on an answer: ackTimeout, or a third of the ack wait when that is shorter.
	// A lost ack's job comes back an ack wait after its last delivery or progress signal, at
	// least two thirds of it after its ack: time left to store the sent-record first.
	timeout time.Duration
	mu      sync.Mutex

	inbox   string             // answers come as <inbox>.<token>
	sub     *nats.Subscription // nil until the first ack
	lost    chan nats.Status   // the connection's losses, from the first ack until stop
	next    uint64             // the next token
	pending map[uint64]pendingAck
}

// pendingAck is a sent job whose ack awaits its answer, and the batch it was sent in.
type pendingAck struct {
	d     *delivery
	batch *ackBatch
}

// ackBatch is acks sent together: tokens [from, to), of which left await answers.
type ackBatch struct {
	from, to uint64
	left     int
	expiry   *time.Timer // records the sends of the unanswered after the timeout
}

// add hands over d, whose job was sent, to be acked. It waits while Concurrency acks are not
// confirmed: when NATS stops answering (a partition the client has not noticed), a worker must
// not go on sending jobs whose acks may all be lost; it sends no more than it did when each slot
// waited for its own ack. A stopping worker does not wait: the ack is sent plainly and the send
// recorded.
func (a *acker) add(d *delivery) {
	select {
	case a.slots <- struct{}{}:
		d.placed = true
	case <-a.quit:
		_ = d.msg.Ack()
		a.w.unconfirmed([]*delivery{d})
		return
	}
	batch := []*delivery{d}
	if !a.w.js.Conn().IsConnected() {
		// A confirmation would only wait in the reconnect buffer; a plain ack lands the moment
		// NATS is back, sparing the job its ack wait, and the send is recorded.
		_ = d.msg.Ack()
		a.w.unconfirmed(batch)
		return
	}
	a.mu.Lock()
	b, err := a.register(batch)
	a.mu.Unlock()
	if err != nil {
		a.w.unconfirmed(batch)
		return
	}
	a.send(batch, b)
}

// register gives batch its tokens, subscribing to the answers on first use. The lock must be
// held.
func (a *acker) register(batch []*delivery) (*ackBatch, error) {
	if a.sub == nil {
		nc := a.w.js.Conn()
		inbox := nc.NewInbox()
		sub, err := nc.Subscribe(inbox+".*", a.answered)
		if err != nil {
			return nil, err
		}
		a.inbox, a.sub, a.pending = inbox, sub, make(map[uint64]pendingAck)
		a.lost = nc.StatusChanged(nats.DISCONNECTED, nats.RECONNECTING)
		go a.watch(a.lost)
	}
	b := &ackBatch{from: a.next, to: a.next + uint64(len(batch)), left: len(batch)}
	for _, d := range batch {
		a.pending[a.next] = pendingAck{d, b}
		a.next++
	}
	// A stopping worker waits for the answers, or for the expiry.
	a.w.recorders.Add(1)
	b.expiry = time.AfterFunc(a.timeout, func() { a.expire(b) })
	return b, nil
}

// send acks batch, registered as b.
func (a *acker) send(batch []*delivery, b *ackBatch) {
	nc := a.w.js.Conn()
	for i, d := range batch {
		_ = nc.PublishRequest(d.msg.Reply(), a.inbox+"."+strconv.FormatUint(b.from+uint64(i), 10), ackBody)
	}
}

// answered takes the job whose ack was answered off the pending ones. An answer with a status
// is no confirmation: a 503 means that no consumer leader took the ack (one is being elected),
// and the job comes back once one is; its send is recorded at once (see Worker.unconfirmed).
func (a *acker) answered(m *nats.Msg) {
	token, err := strconv.ParseUint(m.Subject[strings.LastIndexByte(m.Subject, '.')+1:], 10, 64)
	if err != nil {
		return
	}
	a.mu.Lock()
	p, ok := a.pending[token]
	if !ok {
		a.mu.Unlock()
		return // expired already
	}
	settled := a.settleLocked(token, p)
	a.mu.Unlock()
	if m.Header.Get("Status") != "" { // nats.go's status header: "503", no responders
		a.w.unconfirmed([]*delivery{p.d})
	} else {
		<-a.slots
	}
	a.done(settled)
}

// expire records the sends of b's jobs whose acks were not confirmed.
func (a *acker) expire(b *ackBatch) {
	defer a.w.recorders.Done()
	a.mu.Lock()
	var lost []*delivery
	for t := b.from; t < b.to; t++ {
		if p, ok := a.pending[t]; ok {
			a.settleLocked(t, p) // the batch's expiry has run: nothing to stop
			lost = append(lost, p.d)
		}
	}
	a.mu.Unlock()
	if len(lost) > 0 {
		a.w.unconfirmed(lost)
	}
}

// watch records the sends of every job whose ack awaits its answer when the connection is lost:
// the answer will not come, and the ack may be lost with it. A job whose ack was lost comes back
// as soon as JetStream sees fit (a new consumer leader may deliver it again at once), so the
// record does not wait for the timeout. It returns when stop closes lost.
func (a *acker) watch(lost <-chan nats.Status) {
	for range lost {
		a.mu.Lock()
		var unanswered []*delivery
		settled := 0
		for t, p := range a.pending {
			settled += a.settleLocked(t, p)
			unanswered = append(unanswered, p.d)
		}
		a.mu.Unlock()
		if len(unanswered) > 0 {
			a.w.unconfirmed(unanswered)
		}
		a.done(settled)
	}
}

// settleLocked takes p, pending under token, off the pending ones; the caller frees its place,
// or has it freed once its send is recorded. It returns 1 when that settles p's batch before its expiry ran, which leaves the batch's place in
// the worker's wait group to release (see done), and 0 otherwise. The lock must be held.
func (a *acker) settleLocked(token uint64, p pendingAck) int {
	delete(a.pending, token)
	if p.batch.left--; p.batch.left == 0 && p.batch.expiry.Stop() {
		return 1
	}
	return 0
}

// done releases n settled batches' places in the worker's wait group, once their unconfirmed
// sends, if any, are being recorded.
func (a *acker) done(n int) {
	for range n {
		a.w.recorders.Done()
	}
}

// stop ends the watch on the connection; Run calls it once no ack awaits an answer.
func (a *acker) stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.lost != nil {
		a.w.js.Conn().RemoveStatusListener(a.lost)
		_ = a.sub.Unsubscribe()
	}
}
