package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// watchEvery spaces the watchdog's checks of the resources a running worker uses.
const watchEvery = 2 * time.Second

// deadLetterGraceReady is how long a failed dead-letter publish keeps a worker not ready when no
// letter was stored since and the dead-letter stream looks to have room: the failing job's own
// retry normally clears it sooner.
const deadLetterGraceReady = time.Minute

// watch checks, every watchEvery and whenever a part of the worker asks (kickWatchdog), that
// every stream, bucket and consumer the worker uses exists, provisions again what went missing
// (an operator deleted it, or a cluster lost it), and restarts consuming if the consumer's
// deletion ended it. What it finds is what [Worker.Ready] reports.
//
// Run checks once itself before it says the worker started, so that the worker is ready, if it
// is, from that moment; the loop checks next after watchEvery.
func (w *Worker) watch(ctx context.Context, sub *subscriptions) {
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.kick:
		}
		w.checkResources(ctx, sub)
	}
}

// kickWatchdog asks the watchdog to check the resources now; it never blocks.
func (w *Worker) kickWatchdog() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// checkResources runs one check, repairs what is missing, and records the outcome.
func (w *Worker) checkResources(ctx context.Context, sub *subscriptions) {
	ctx, cancel := context.WithTimeout(ctx, provisionTry)
	defer cancel()
	missing, err := w.missingResources(ctx)
	if err == nil && len(missing) > 0 {
		w.log.Warn().Strs("missing", missing).Msg("resources went missing while running; provisioning them again")
		if _, err = Provision(ctx, w.js, w.cfg); err == nil {
			for _, r := range missing {
				if w.onRepair != nil {
					w.onRepair(r)
				}
			}
			missing = nil
			w.log.Info().Msg("resources provisioned again")
		}
	}
	if err == nil && !sub.alive() {
		err = sub.start()
	}
	if err == nil {
		err = w.deadLetterRoom(ctx)
	}
	w.ready.setCheck(missing, err)
}

// missingResources lists the streams, buckets and consumers of the worker that do not exist.
// It takes one request for the account's stream names and one per consumer.
func (w *Worker) missingResources(ctx context.Context) ([]string, error) {
	have := map[string]bool{}
	names := w.js.StreamNames(ctx)
	for n := range names.Name() {
		have[n] = true
	}
	if err := names.Err(); err != nil {
		return nil, fmt.Errorf("list streams: %w", err)
	}
	n := w.cfg.Names
	var missing []string
	streams := []string{n.DeadStream()}
	for _, app := range w.cfg.apps() {
		streams = append(streams, n.JobStreamFor(app))
	}
	for _, s := range streams {
		if !have[s] {
			missing = append(missing, "stream "+s)
		}
	}
	for _, b := range bucketNames(w.cfg) {
		if !have["KV_"+b] {
			missing = append(missing, "bucket "+b)
		}
	}
	for _, q := range w.res.Queues {
		if !have[q.Stream] {
			continue // provisioned with its stream
		}
		name := n.ConsumerFor(q.Kind)
		_, err := w.js.Consumer(ctx, q.Stream, name)
		switch {
		case errors.Is(err, jetstream.ErrConsumerNotFound):
			missing = append(missing, "consumer "+q.Stream+"/"+name)
		case err != nil:
			return nil, fmt.Errorf("look up consumer %s on %s: %w", name, q.Stream, err)
		}
	}
	return missing, nil
}

// deadLetterRoom returns an error while dead letters cannot be stored: the last publish failed
// and none succeeded since, unless that was long ago and the stream has room by its limits.
func (w *Worker) deadLetterRoom(ctx context.Context) error {
	failedAt, failErr := w.ready.deadLetterFailure()
	if failErr == nil {
		return nil
	}
	if time.Since(failedAt) > deadLetterGraceReady {
		s, err := w.js.Stream(ctx, w.cfg.Names.DeadStream())
		if err == nil && hasRoom(s.CachedInfo()) {
			w.ready.clearDeadLetterFailure(failedAt)
			return nil
		}
	}
	return fmt.Errorf("dead letters cannot be stored: %w", failErr)
}

// hasRoom reports whether a stream is below the limits it refuses new messages at.
func hasRoom(info *jetstream.StreamInfo) bool {
	c, st := info.Config, info.State
	if c.Discard != jetstream.DiscardNew {
		return true
	}
	return (c.MaxMsgs <= 0 || int64(st.Msgs) < c.MaxMsgs) && (c.MaxBytes <= 0 || int64(st.Bytes) < c.MaxBytes)
}

// deadLetterFailed and deadLetterStored tell readiness how the last dead-letter publish went.
func (w *Worker) deadLetterFailed(err error) {
	if w.ready.failDeadLetter(err) {
		w.kickWatchdog()
	}
}

func (w *Worker) deadLetterStored() { w.ready.storeDeadLetter() }

// Ready returns nil while the worker consumes and everything it writes to exists: its streams,
// buckets and consumers, and room for dead letters. Otherwise it says what is wrong. The check
// behind it runs every 2 s; Ready itself never blocks on NATS.
func (w *Worker) Ready() error { return w.ready.err() }

// readiness is what the watchdog and the dead-letter path found. Safe for concurrent use.
type readiness struct {
	mu         sync.Mutex
	checked    bool // the watchdog checked at least once
	missing    []string
	checkErr   error
	deadFailed time.Time
	deadErr    error
}

func (r *readiness) setCheck(missing []string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checked, r.missing, r.checkErr = true, slices.Clone(missing), err
}

func (r *readiness) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case !r.checked:
		return errors.New("starting")
	case len(r.missing) > 0:
		return fmt.Errorf("missing %s", strings.Join(r.missing, ", "))
	case r.checkErr != nil:
		return r.checkErr
	case r.deadErr != nil:
		return fmt.Errorf("dead letters cannot be stored: %w", r.deadErr)
	}
	return nil
}

// failDeadLetter records a failed dead-letter publish; true when it is the first of a run.
func (r *readiness) failDeadLetter(err error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	first := r.deadErr == nil
	r.deadFailed, r.deadErr = time.Now(), err
	return first
}

func (r *readiness) storeDeadLetter() {
	r.mu.Lock()
	r.deadErr = nil
	r.mu.Unlock()
}

func (r *readiness) deadLetterFailure() (time.Time, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.deadFailed, r.deadErr
}

// clearDeadLetterFailure forgets the failure of at, unless a newer one came since.
func (r *readiness) clearDeadLetterFailure(at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.deadFailed.Equal(at) {
		r.deadErr = nil
	}
}

// subscriptions are the worker's consume contexts, one per queue. The watchdog starts one again
// when the deletion of its consumer ended it.
type subscriptions struct {
	w    *Worker
	pool *pool

	mu       sync.Mutex
	consumes []jetstream.ConsumeContext // by index in w.res.Queues
}

// start consumes from every queue, replacing any ended consume context.
func (s *subscriptions) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.w
	if s.consumes == nil {
		s.consumes = make([]jetstream.ConsumeContext, len(w.res.Queues))
	}
	for i, q := range w.res.Queues {
		if cc := s.consumes[i]; cc != nil && !isClosed(cc.Closed()) {
			continue
		}
		name := w.cfg.Names.ConsumerFor(q.Kind)
		cons, err := w.js.Consumer(context.Background(), q.Stream, name)
		if err == nil {
			s.consumes[i], err = cons.Consume(s.pool.offer,
				jetstream.PullMaxMessages(w.cfg.Concurrency),
				// Short pulls: when the node leading the consumer vanishes without a word (a
				// network partition), the client notices only after two missed heartbeats, half
				// a pull's expiry each. With a 30 s expiry delivery stalled 30 s in the
				// container tests.
				jetstream.PullExpiry(pullExpiry), jetstream.PullHeartbeat(pullHeartbeat),
				jetstream.ConsumeErrHandler(w.onConsumeError))
		}
		if err != nil {
			return fmt.Errorf("consume %s on %s: %w", name, q.Stream, err)
		}
	}
	return nil
}

// alive reports whether every consume context still runs.
func (s *subscriptions) alive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cc := range s.consumes {
		if cc == nil || isClosed(cc.Closed()) {
			return false
		}
	}
	return s.consumes != nil
}

// current returns the consume contexts, for stopping them.
func (s *subscriptions) current() []jetstream.ConsumeContext {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.consumes)
}

// stop ends every consume context at once, without draining: for a worker that could not start.
func (s *subscriptions) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cc := range s.consumes {
		if cc != nil {
			cc.Stop()
		}
	}
}
