//go:build containers

package containers

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// drainTimeout bounds a run: from the first publish until every job is delivered or
// dead-lettered. A worker whose connection went silent notices after about four minutes (nats.go
// closes it after two missed pings, two minutes apart, by default): a run outlasts that.
const drainTimeout = 10 * time.Minute

// event is a moment of a run: a fault, or a leader changing.
type event struct {
	at        time.Time     // when it began
	took      time.Duration // how long Docker took to do the fault
	what      string
	fault     bool
	delivered int // distinct jobs delivered by then
}

// run publishes n card jobs, applies the faults in order as their moments come, and waits until
// every job is delivered or dead-lettered and the work queue is empty.
func (s *stack) run(t *testing.T, n int, faults []fault) *result {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("ct-%05d", i)
	}
	x := &runner{s: s, r: &result{jobs: ids, start: time.Now()}}
	s.publish(t, ids)
	x.r.published = time.Since(x.r.start)
	lastFault := x.r.start
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		x.observe()
		x.p.sinceFault = time.Since(lastFault)
		for len(faults) > 0 && faults[0].when(x.p) {
			x.inject(t, faults[0])
			faults, lastFault = faults[1:], time.Now()
		}
		if len(faults) == 0 && x.p.delivered+x.dead >= n {
			break
		}
		if time.Since(x.r.start) > drainTimeout {
			t.Fatalf("after %v: %d of %d jobs delivered, %d dead-lettered, %d faults not yet done\n%s",
				drainTimeout, x.p.delivered, n, x.dead, len(faults), x.r.timeline())
		}
		<-tick.C
	}
	x.r.drained = time.Since(x.r.start)
	eventually(t, 2*time.Minute, time.Second, "the work queue empty", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		left, err := jobStreamLeft(ctx, s.js)
		return err == nil && left == 0
	})
	s.collect(t, x.r)
	return x.r
}

// runner is the state of a run between its polls.
type runner struct {
	s            *stack
	r            *result
	p            progress
	dead         int       // dead letters, as last seen
	streamLeader string    // the job stream's leader, as last seen
	lastSlow     time.Time // when JetStream was last asked
}

// observe updates the progress: the sandbox's count every poll, JetStream's state (dead letters,
// the consumer's and the job stream's leaders) once a second. A query that fails, as some do
// while a node is away, leaves the last value.
func (x *runner) observe() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if st, err := x.s.sandbox.stats(ctx); err == nil {
		x.p.delivered = distinctDelivered(st)
	}
	if time.Since(x.lastSlow) < time.Second {
		return
	}
	x.lastSlow = time.Now()
	if d, err := deadCount(ctx, x.s.js); err == nil {
		x.dead = int(d)
	}
	if l, err := consumerLeader(ctx, x.s.js); err == nil && l != x.p.leader {
		x.leaderChanged("the consumer", x.p.leader, l)
		x.p.leader = l
	}
	if l, err := streamLeader(ctx, x.s.js); err == nil && l != x.streamLeader {
		x.leaderChanged("the job stream", x.streamLeader, l)
		x.streamLeader = l
	}
}

// leaderChanged notes a new leader, but for the first one seen.
func (x *runner) leaderChanged(of, was, now string) {
	if was != "" {
		x.r.events = append(x.r.events, event{at: time.Now(), what: of + " led by " + now, delivered: x.p.delivered})
	}
}

// inject does a fault and notes it.
func (x *runner) inject(t *testing.T, f fault) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	began := time.Now()
	what, err := f.do(ctx, x.s)
	if err != nil {
		t.Fatalf("fault at %d delivered: %v", x.p.delivered, err)
	}
	x.r.events = append(x.r.events, event{at: began, took: time.Since(began), what: what, fault: true, delivered: x.p.delivered})
	x.p.deliveredAtFault, x.p.sinceFault = x.p.delivered, 0
	if x.s.faulted != nil {
		x.p.faulted = x.s.faulted.name
	}
}

// publish publishes a card job per id through the cluster, with the id as Nats-Msg-Id, and
// retries any publish that was not acknowledged: the stream's duplicate window makes that safe.
func (s *stack) publish(t *testing.T, ids []string) {
	t.Helper()
	futures := make([]jetstream.PubAckFuture, len(ids))
	for i, id := range ids {
		f, err := s.js.PublishMsgAsync(cardMsg(id))
		if err != nil {
			t.Fatalf("publish %s: %v", id, err)
		}
		futures[i] = f
	}
	select {
	case <-s.js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		t.Fatal("publishing: no acks after a minute")
	}
	for i, f := range futures {
		select {
		case <-f.Ok():
			continue
		case <-f.Err():
		}
		eventually(t, time.Minute, 100*time.Millisecond, "the publish of "+ids[i], func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := s.js.PublishMsg(ctx, cardMsg(ids[i]))
			return err == nil
		})
	}
}

// cardMsg is a card job whose outTrackId, and so job id, is id.
func cardMsg(id string) *nats.Msg {
	m := nats.NewMsg("dingq.send.card")
	m.Header.Set(jetstream.MsgIDHeader, id)
	m.Data = []byte(`{"cardTemplateId":"StandardCard","openConversationId":"cid1","outTrackId":"` + id +
		`","robotCode":"robot1","cardData":"{\"cardParamMap\":{\"title\":\"t\"}}"}`)
	return m
}
