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

	inbox   []byte             // answers come as <inbox>.<token>; the reply subject is built here
	sub     *nats.Subscription // nil until the first ack
	lost    chan nats.Status   // the connection's losses, from the first ack until stop
	next    uint64             // the next token
	pending map[uint64]pendingAck
	// One timer gives up on every unanswered ack in turn: tokens are given out in order and all
	// wait the same timeout, so the oldest pending token is the next to expire. A timer per ack
	// would cost two allocations a job.
	oldest uint64      // no pending token is older
	expiry *time.Timer // fires at the oldest pending ack's due time, or later; nil until the first ack
	armed  bool        // expiry is set to fire
}

// pendingAck is a sent job whose ack awaits its answer.
type pendingAck struct {
	d   *delivery
	due time.Time // when its send is recorded if no answer has come
}

// add acks d, whose job was sent, and has the ack confirmed without waiting for the answer. It
// waits while Concurrency acks are not confirmed: when NATS stops answering (a partition the
// client has not noticed), a worker must not go on sending jobs whose acks may all be lost; it
// sends no more than it did when each slot waited for its own ack. A stopping worker does not
// wait: the ack is sent plainly and the send recorded.
func (a *acker) add(d *delivery) {
	select {
	case a.slots <- struct{}{}:
		d.placed = true
	case <-a.quit:
		_ = d.msg.Ack()
		a.w.unconfirmed(d)
		return
	}
	if !a.w.js.Conn().IsConnected() {
		// A confirmation would only wait in the reconnect buffer; a plain ack lands the moment
		// NATS is back, sparing the job its ack wait, and the send is recorded.
		_ = d.msg.Ack()
		a.w.unconfirmed(d)
		return
	}
	a.mu.Lock()
	reply, err := a.register(d)
	a.mu.Unlock()
	if err != nil {
		a.w.unconfirmed(d)
		return
	}
	_ = a.w.js.Conn().PublishRequest(d.msg.Reply(), reply, ackBody)
}

// register gives d's ack its token, subscribing to the answers on first use, and returns the
// reply subject that carries the token. The lock must be held.
func (a *acker) register(d *delivery) (string, error) {
	if a.sub == nil {
		nc := a.w.js.Conn()
		inbox := nc.NewInbox()
		sub, err := nc.Subscribe(inbox+".*", a.answered)
		if err != nil {
			return "", err
		}
		a.inbox, a.sub, a.pending = append([]byte(inbox), '.'), sub, make(map[uint64]pendingAck)
		a.lost = nc.StatusChanged(nats.DISCONNECTED, nats.RECONNECTING)
		go a.watch(a.lost)
	}
	token := a.next
	a.next++
	// A stopping worker waits for the answer, or for the expiry.
	a.w.recorders.Add(1)
	a.pending[token] = pendingAck{d, time.Now().Add(a.timeout)}
	switch {
	case a.expiry == nil:
		a.expiry = time.AfterFunc(a.timeout, a.expire)
	case !a.armed:
		a.expiry.Reset(a.timeout)
	}
	a.armed = true
	n := len(a.inbox)
	a.inbox = strconv.AppendUint(a.inbox, token, 10)
	reply := string(a.inbox)
	a.inbox = a.inbox[:n]
	return reply, nil
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
	delete(a.pending, token)
	a.mu.Unlock()
	if m.Header.Get("Status") != "" { // nats.go's status header: "503", no responders
		a.w.unconfirmed(p.d)
	} else {
		<-a.slots
	}
	a.w.recorders.Done()
}

// expire records the sends of the jobs whose acks are unanswered past their due time, oldest
// first, and sets the timer for the next one due.
func (a *acker) expire() {
	var due []*delivery
	now := time.Now()
	a.mu.Lock()
	for ; a.oldest < a.next; a.oldest++ {
		p, ok := a.pending[a.oldest]
		if !ok {
			continue
		}
		if wait := p.due.Sub(now); wait > 0 {
			a.expiry.Reset(wait)
			break
		}
		due = append(due, p.d)
		delete(a.pending, a.oldest)
	}
	a.armed = a.oldest < a.next
	a.mu.Unlock()
	a.settle(due)
}

// settle records the sends of unanswered acks taken off the pending ones, then lets go of their
// places in the wait group (after unconfirmed has added its records).
func (a *acker) settle(unanswered []*delivery) {
	if len(unanswered) == 0 {
		return
	}
	a.w.unconfirmed(unanswered...)
	for range unanswered {
		a.w.recorders.Done()
	}
}

// watch records the sends of every job whose ack awaits its answer when the connection is lost:
// the answer will not come, and the ack may be lost with it. A job whose ack was lost comes back
// as soon as JetStream sees fit (a new consumer leader may deliver it again at once), so the
// record does not wait for the timeout. It returns when stop closes lost.
func (a *acker) watch(lost <-chan nats.Status) {
	for range lost {
		var unanswered []*delivery
		a.mu.Lock()
		for t, p := range a.pending {
			unanswered = append(unanswered, p.d)
			delete(a.pending, t)
		}
		a.mu.Unlock()
		a.settle(unanswered)
	}
}

// stop ends the watch on the connection; Run calls it once no ack awaits an answer.
func (a *acker) stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.lost != nil {
		a.w.js.Conn().RemoveStatusListener(a.lost)
		_ = a.sub.Unsubscribe()
		a.expiry.Stop()
	}
}
