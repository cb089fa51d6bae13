package worker

import (
	"context"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// ackAgain is the body of an ack: sent once more, with a reply, to confirm the acks before it.
var ackAgain = []byte("+ACK")

// consumerKey names the consumer a job was delivered by.
type consumerKey struct{ stream, consumer string }

// ackGroups confirms acks a group at a time. A consumer takes the acks that come to it from one
// connection in order, and answers an ack sent with a reply once it has applied it (in a cluster,
// once the ack is replicated): so an answer to an ack confirms every ack sent before it to that
// consumer on that connection. A sent job is acked plainly at once and its slot freed; while one
// confirmation per consumer is in flight, the acks after it gather, and the next confirmation,
// the last of them sent again with a reply, covers them all. Under load a confirmation covers
// dozens of jobs; alone, a job gets one of its own, as a DoubleAck would.
//
// What a failed confirmation leaves unconfirmed (NATS unreachable, the answer lost) is handled
// as an unconfirmed DoubleAck was: each job's send is written to the sent-record. Safe for
// concurrent use; the zero value needs its worker set.
type ackGroups struct {
	w  *Worker
	mu sync.Mutex
	by map[consumerKey]*ackGroup
}

// ackGroup is one consumer's acks awaiting confirmation.
type ackGroup struct {
	key     consumerKey
	waiting []job         // acked, not yet in a confirmation
	last    jetstream.Msg // the latest of them, sent again to confirm them
	spare   []job
	running bool // a confirmer runs; it exits once nothing waits
}

// add records d, whose job has just been acked, for the next confirmation of its consumer.
func (a *ackGroups) add(key consumerKey, d *delivery) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.by == nil {
		a.by = make(map[consumerKey]*ackGroup)
	}
	g := a.by[key]
	if g == nil {
		g = &ackGroup{key: key}
		a.by[key] = g
	}
	g.waiting = append(g.waiting, d.job)
	g.last = d.msg
	if !g.running {
		g.running = true
		a.w.recorders.Go(func() { a.confirm(g) })
	}
}

// confirm sends confirmations for g until nothing waits.
func (a *ackGroups) confirm(g *ackGroup) {
	var done []job
	for {
		a.mu.Lock()
		if done != nil {
			g.spare = done[:0]
		}
		jobs, last := g.waiting, g.last
		if len(jobs) == 0 {
			g.running = false
			a.mu.Unlock()
			return
		}
		g.waiting, g.spare, g.last = g.spare, nil, nil
		a.mu.Unlock()
		if !a.confirmed(last) {
			a.w.unconfirmed(jobs)
		}
		clear(jobs)
		done = jobs
	}
}

// confirmed sends last's ack again, with a reply, and reports whether JetStream answered.
func (a *ackGroups) confirmed(last jetstream.Msg) bool {
	nc := a.w.js.Conn()
	if !nc.IsConnected() {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), ackTimeout)
	defer cancel()
	_, err := nc.RequestWithContext(ctx, last.Reply(), ackAgain)
	return err == nil
}
