package sandbox

import (
	"context"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/dingq/dingq/schema"
)

// Delivery is one accepted send.
type Delivery struct {
	Kind schema.Kind
	// Key is the job id dingq derives from the body, schema.JobID(kind, "", body): a card's
	// outTrackId, a cross-domain message's message_id, a hash of a robot body. It is not the
	// producer's Nats-Msg-Id, which never reaches DingTalk.
	Key string
	At  time.Time
	// Body is the job body (for crossdomain the unwrapped crossdomain_message_send_model, for the
	// others the request body), kept only with [Config.RecordBodies].
	Body []byte
	// Robot is the robot a direct webhook message (POST /robot/send) went to, as [WebhookRobot]
	// names it; empty for the other endpoints, the kdocs relay included.
	Robot string
}

// recorder counts requests and deliveries and keeps the latest deliveries. Its memory is
// bounded but for one small entry per distinct key: keys are counted by their 64-bit hash
// (two distinct keys among a million collide with a chance of about 3e-8), and only the latest
// keep deliveries are kept whole. Safe for concurrent use.
type recorder struct {
	keep int
	seed maphash.Seed

	mu           sync.Mutex
	kinds        map[schema.Kind]*kindCounts
	perKey       map[uint64]uint32 // deliveries per key hash
	total        int
	duplicates   int
	tokenFetches int
	latest       []Delivery // a ring once full: latest[next] is the oldest
	next         int
	waiters      []waiter
}

type kindCounts struct {
	requests   int
	outcomes   map[Outcome]int
	deliveries int
}

// waiter is a [Sandbox.WaitDeliveries] call, woken by closing ch once total reaches n.
type waiter struct {
	n  int
	ch chan struct{}
}

func newRecorder(keep int) *recorder {
	r := &recorder{
		keep:   keep,
		seed:   maphash.MakeSeed(),
		kinds:  make(map[schema.Kind]*kindCounts),
		perKey: make(map[uint64]uint32),
	}
	for _, k := range schema.Kinds() {
		r.kinds[k] = &kindCounts{outcomes: make(map[Outcome]int)}
	}
	return r
}

func (r *recorder) arrive(kind schema.Kind) {
	r.mu.Lock()
	r.kinds[kind].requests++
	r.mu.Unlock()
}

func (r *recorder) outcome(kind schema.Kind, o Outcome) {
	r.mu.Lock()
	r.kinds[kind].outcomes[o]++
	r.mu.Unlock()
}

func (r *recorder) tokenFetch() {
	r.mu.Lock()
	r.tokenFetches++
	r.mu.Unlock()
}

func (r *recorder) deliver(kind schema.Kind, key string, body []byte, at time.Time) {
	r.record(Delivery{Kind: kind, Key: key, At: at, Body: body})
}

// record counts d, keyed by d.Key, and keeps it among the latest.
func (r *recorder) record(d Delivery) {
	h := maphash.String(r.seed, d.Key)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.perKey[h] > 0 {
		r.duplicates++
	}
	r.perKey[h]++
	r.kinds[d.Kind].deliveries++
	r.total++
	if len(r.latest) < r.keep {
		r.latest = append(r.latest, d)
	} else {
		r.latest[r.next] = d
		r.next = (r.next + 1) % r.keep
	}
	r.wake()
}

// wake releases the waiters whose count is reached. r.mu is held.
func (r *recorder) wake() {
	if len(r.waiters) == 0 {
		return
	}
	r.waiters = slices.DeleteFunc(r.waiters, func(w waiter) bool {
		if w.n <= r.total {
			close(w.ch)
			return true
		}
		return false
	})
}

func (r *recorder) stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := Stats{
		Requests:     make(map[schema.Kind]int),
		Outcomes:     make(map[schema.Kind]map[Outcome]int),
		Deliveries:   make(map[schema.Kind]int),
		Duplicates:   r.duplicates,
		TokenFetches: r.tokenFetches,
	}
	for k, c := range r.kinds {
		st.Requests[k] = c.requests
		st.Outcomes[k] = maps.Clone(c.outcomes)
		st.Deliveries[k] = c.deliveries
	}
	return st
}

// Deliveries returns the latest deliveries (at most [Config.MaxRecorded]), oldest first. Safe
// for concurrent use.
func (s *Sandbox) Deliveries() []Delivery {
	r := s.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	return append(slices.Clone(r.latest[r.next:]), r.latest[:r.next]...)
}

// DeliveryCount returns how many times the job keyed key was delivered, over the sandbox's
// whole life. Safe for concurrent use.
func (s *Sandbox) DeliveryCount(key string) int {
	r := s.rec
	h := maphash.String(r.seed, key)
	r.mu.Lock()
	defer r.mu.Unlock()
	return int(r.perKey[h])
}

// Requests returns how many send requests of kind have arrived, failed ones included. Safe for
// concurrent use.
func (s *Sandbox) Requests(kind schema.Kind) int {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	if c := s.rec.kinds[kind]; c != nil {
		return c.requests
	}
	return 0
}

// TokenFetches returns how many requests reached the token endpoints, refused ones included.
// Safe for concurrent use.
func (s *Sandbox) TokenFetches() int {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	return s.rec.tokenFetches
}

// WaitDeliveries blocks until at least n sends have been delivered in all, or ctx ends, when it
// returns an error that wraps ctx.Err() and says how many there were. Safe for concurrent use.
func (s *Sandbox) WaitDeliveries(ctx context.Context, n int) error {
	r := s.rec
	r.mu.Lock()
	if r.total >= n {
		r.mu.Unlock()
		return nil
	}
	w := waiter{n: n, ch: make(chan struct{})}
	r.waiters = append(r.waiters, w)
	r.mu.Unlock()

	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waiters = slices.DeleteFunc(r.waiters, func(o waiter) bool { return o.ch == w.ch })
	if r.total >= n {
		return nil
	}
	return fmt.Errorf("sandbox: %d of %d deliveries: %w", r.total, n, ctx.Err())
}
