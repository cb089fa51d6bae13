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

// acker acks sent jobs and has JetStream confirm each ack, off the pool's goroutines. A slot
// hands its sent job over and is free; one goroutine sends the acks that gathered meanwhile back
// to back, each with a reply subject of its own under one inbox, so that they leave in a write
// call or two and their answers come to one subscription. A job whose ack is answered is done;
// one whose ack is not answered within ackTimeout (NATS unreachable, the answer lost) is handled
// as an unconfirmed DoubleAck was: its send is written to the sent-record. No ack ever waits for
// another's answer. Safe for concurrent use; the zero value needs its worker set.
type acker struct {
	w       *Worker
	slots   chan struct{} // one per ack not yet answered: at most Concurrency, as when slots waited
	mu      sync.Mutex
	waiting []*delivery // sent, not yet acked
	spare   []*delivery
	running bool // a goroutine sends the acks; it exits once nothing waits

	inbox   string             // answers come as <inbox>.<token>
	sub     *nats.Subscription // nil until the first ack
	next    uint64             // the next token
	pending map[uint64]pendingAck
}

// pendingAck is a sent job whose ack awaits its answer, and the batch it was sent in.
type pendingAck struct {
	d     *delivery
	batch *ackBatch
}

// ackBatch is the acks one turn of run sent: tokens [from, to), of which left await answers.
type ackBatch struct {
	from, to uint64
	left     int
	expiry   *time.Timer // records the sends of the unanswered after ackTimeout
}

// add hands over d, whose job was sent, to be acked. It waits while Concurrency acks await their
// answers: when NATS stops answering (a partition the client has not noticed), a worker must not
// go on sending jobs whose acks may all be lost; it sends no more than it did when each slot
// waited for its own ack.
func (a *acker) add(d *delivery) {
	a.slots <- struct{}{}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.waiting = append(a.waiting, d)
	if !a.running {
		a.running = true
		a.w.recorders.Go(a.run)
	}
}

// run sends the acks that wait until none does.
func (a *acker) run() {
	var done []*delivery
	for {
		a.mu.Lock()
		if done != nil {
			a.spare = done[:0]
		}
		batch := a.waiting
		if len(batch) == 0 {
			a.running = false
			a.mu.Unlock()
			return
		}
		a.waiting, a.spare = a.spare, nil
		if !a.w.js.Conn().IsConnected() {
			// A confirmation would only wait in the reconnect buffer; plain acks land the
			// moment NATS is back, sparing the jobs their ack wait, and the sends are recorded.
			a.mu.Unlock()
			for _, d := range batch {
				_ = d.msg.Ack()
				<-a.slots
			}
			a.w.unconfirmed(batch)
		} else {
			b, err := a.register(batch)
			a.mu.Unlock()
			if err != nil {
				for range batch {
					<-a.slots
				}
				a.w.unconfirmed(batch)
			} else {
				a.send(batch, b)
			}
		}
		clear(batch)
		done = batch
	}
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
	}
	b := &ackBatch{from: a.next, to: a.next + uint64(len(batch)), left: len(batch)}
	for _, d := range batch {
		a.pending[a.next] = pendingAck{d, b}
		a.next++
	}
	// A stopping worker waits for the answers, or for the expiry.
	a.w.recorders.Add(1)
	b.expiry = time.AfterFunc(ackTimeout, func() { a.expire(b) })
	return b, nil
}

// send acks batch, registered as b.
func (a *acker) send(batch []*delivery, b *ackBatch) {
	nc := a.w.js.Conn()
	for i, d := range batch {
		_ = nc.PublishRequest(d.msg.Reply(), a.inbox+"."+strconv.FormatUint(b.from+uint64(i), 10), ackBody)
	}
}

// answered takes the job whose ack JetStream confirmed off the pending ones.
func (a *acker) answered(m *nats.Msg) {
	token, err := strconv.ParseUint(m.Subject[strings.LastIndexByte(m.Subject, '.')+1:], 10, 64)
	if err != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.pending[token]
	if !ok {
		return // expired already
	}
	delete(a.pending, token)
	<-a.slots
	if p.batch.left--; p.batch.left == 0 && p.batch.expiry.Stop() {
		a.w.recorders.Done()
	}
}

// expire records the sends of b's jobs whose acks were not confirmed.
func (a *acker) expire(b *ackBatch) {
	defer a.w.recorders.Done()
	var lost []*delivery
	a.mu.Lock()
	for t := b.from; t < b.to; t++ {
		if p, ok := a.pending[t]; ok {
			lost = append(lost, p.d)
			delete(a.pending, t)
			<-a.slots
		}
	}
	a.mu.Unlock()
	if len(lost) > 0 {
		a.w.unconfirmed(lost)
	}
}
