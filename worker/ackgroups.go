package worker

import (
	"context"
	"sync"
)

// ackBody is the body of an ack, as the last of a group sends it, with a reply.
var ackBody = []byte("+ACK")

// consumerKey names the consumer a job was delivered by.
type consumerKey struct{ stream, consumer string }

// ackGroups acks sent jobs and confirms the acks, a group at a time. A consumer takes the acks
// that come to it from one connection in order, and answers an ack sent with a reply once it has
// applied it (in a cluster, once the ack is replicated): so an answer to an ack confirms every ack
// sent before it to that consumer on that connection. A slot hands its sent job over and is
// free; while one group per consumer is in flight, the jobs after it gather, and the next group
// goes out together: the acks one after the other, the last of them with a reply, in a write
// call or two. Under load a group holds dozens of jobs; alone, a job is a group of its own, acked
// as a DoubleAck would.
//
// What a group that is not confirmed leaves (NATS unreachable, the answer lost) is handled as an
// unconfirmed DoubleAck was: each job's send is written to the sent-record. The acks themselves
// wait in the reconnect buffer while NATS is away and land the moment it is back, sparing the
// jobs their ack wait. Safe for concurrent use; the zero value needs its worker set.
type ackGroups struct {
	w  *Worker
	mu sync.Mutex
	by map[consumerKey]*ackGroup
}

// ackGroup is one consumer's sent jobs awaiting their acks.
type ackGroup struct {
	waiting []*delivery // sent, not yet acked
	spare   []*delivery
	running bool // a goroutine acks the group; it exits once nothing waits
}

// add hands over d, whose job was sent, to be acked with the next group of its consumer.
func (a *ackGroups) add(d *delivery) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.by == nil {
		a.by = make(map[consumerKey]*ackGroup)
	}
	g := a.by[d.consumer]
	if g == nil {
		g = &ackGroup{}
		a.by[d.consumer] = g
	}
	g.waiting = append(g.waiting, d)
	if !g.running {
		g.running = true
		a.w.recorders.Go(func() { a.ack(g) })
	}
}

// ack sends g's groups until nothing waits.
func (a *ackGroups) ack(g *ackGroup) {
	var done []*delivery
	for {
		a.mu.Lock()
		if done != nil {
			g.spare = done[:0]
		}
		group := g.waiting
		if len(group) == 0 {
			g.running = false
			a.mu.Unlock()
			return
		}
		g.waiting, g.spare = g.spare, nil
		a.mu.Unlock()
		if !a.send(group) {
			a.w.unconfirmed(group)
		}
		clear(group)
		done = group
	}
}

// send acks every job of group, the last with a reply, and reports whether JetStream answered.
func (a *ackGroups) send(group []*delivery) bool {
	for _, d := range group[:len(group)-1] {
		_ = d.msg.Ack()
	}
	last := group[len(group)-1].msg
	nc := a.w.js.Conn()
	if !nc.IsConnected() {
		_ = last.Ack()
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), ackTimeout)
	defer cancel()
	_, err := nc.RequestWithContext(ctx, last.Reply(), ackBody)
	return err == nil
}
