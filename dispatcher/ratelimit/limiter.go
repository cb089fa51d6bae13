package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/kv"
)

// Defaults of [Config].
const (
	DefaultMaxHold  = 2 * time.Second
	DefaultMargin   = 0.02
	DefaultLeaseMax = 256
	DefaultTimeout  = 5 * time.Second
)

// Config tunes a [Limiter]. The zero value of every field means its default.
type Config struct {
	// MaxHold is the longest [Limiter.Wait] blocks for a turn. A turn further away is answered
	// with a Defer error instead, so that a job does not hold a worker's send slot for long.
	// Default 2 s.
	MaxHold time.Duration
	// Margin is the share of every period left unused (0.02: 20 sends a second are spaced as if
	// the second were 1.02 s long). It absorbs timer lateness and network jitter, so that DingTalk
	// never counts more than N in a window even though sends reach it a few ms early or late.
	// Default 0.02; at most 0.5.
	Margin float64
	// LeaseMax caps the turns taken in one update of the shared state. Default 256.
	LeaseMax int
	// Timeout bounds each read or write of the shared state. Default 5 s.
	Timeout time.Duration
	// Now tells the time; tests set it. Default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.MaxHold == 0 {
		c.MaxHold = DefaultMaxHold
	}
	if c.Margin == 0 {
		c.Margin = DefaultMargin
	}
	if c.LeaseMax == 0 {
		c.LeaseMax = DefaultLeaseMax
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.MaxHold < 0, c.Timeout < 0:
		return errors.New("ratelimit: MaxHold and Timeout must not be negative")
	case c.Margin < 0 || c.Margin > 0.5:
		return fmt.Errorf("ratelimit: Margin %v is outside 0..0.5", c.Margin)
	case c.LeaseMax < 0:
		return fmt.Errorf("ratelimit: LeaseMax %d is negative", c.LeaseMax)
	}
	return nil
}

// Limiter spaces the sends to each target (an app's API, a robot) so that the whole fleet stays
// within the target's [Rate]. The fleet's schedule for a target lives in one key of a JetStream
// key-value bucket: the time of the target's next free turn, and the end of any penalty. A worker
// takes several consecutive turns in one revision-checked update (a lease) and hands them to its
// waiting sends, so the bucket sees one update per lease, not per send. It is safe for concurrent
// use; make one per process.
type Limiter struct {
	kv  jetstream.KeyValue
	cfg Config

	mu      sync.Mutex
	targets map[string]*target
}

// New returns a limiter over the bucket kv, which holds one small entry per target and keeps the
// latest value of each key only (the worker provisions it: worker.Provision). Its TTL must outlast
// the furthest schedule a target reaches.
func New(kv jetstream.KeyValue, cfg Config) (*Limiter, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if kv == nil {
		return nil, errors.New("ratelimit: no key-value bucket")
	}
	return &Limiter{kv: kv, cfg: cfg.withDefaults(), targets: map[string]*target{}}, nil
}

// Wait blocks until a send to key may start under rate r, and returns nil. A turn further away
// than MaxHold is not waited for: Wait reserves it and returns a [*dispatcher.Error] with
// decision [dispatcher.Defer], the reserved Turn, and MinDelay set to when to come back (about
// MaxHold before the turn), since waiting for a turn is not a failed attempt. Pass the reserved
// turn to [Limiter.WaitTurn] when the job comes back. Wait returns ctx's error when ctx ends
// first, and a Defer error with [dispatcher.CodeRateLimitUnavailable] when the shared state cannot be reached. An off
// rate returns at once.
func (l *Limiter) Wait(ctx context.Context, key string, r Rate) error {
	if r.Off() {
		return nil
	}
	t := l.target(key)
	for {
		turn, err := l.next(ctx, t, key, r)
		if err != nil {
			return err
		}
		if ok, err := l.await(ctx, turn, r, l.code(t)); ok || err != nil {
			return err
		}
		// The turn could not be kept (too far, or the timer fired too late to be safe).
	}
}

// WaitTurn is [Limiter.Wait] for a job that holds a turn reserved by an earlier Wait: it waits
// for that turn, defers again (keeping the turn) while the turn is more than MaxHold away, and
// takes a new turn when the reserved one has passed.
func (l *Limiter) WaitTurn(ctx context.Context, key string, r Rate, turn time.Time) error {
	if r.Off() {
		return nil
	}
	if turn.IsZero() {
		return l.Wait(ctx, key, r)
	}
	if ok, err := l.await(ctx, turn, r, l.code(l.target(key))); ok || err != nil {
		return err
	}
	return l.Wait(ctx, key, r)
}

// await waits for turn and reports whether it was kept. A turn more than MaxHold away is a Defer
// error (the turn stays reserved); a turn too far past to be used safely is not kept.
func (l *Limiter) await(ctx context.Context, turn time.Time, r Rate, code string) (bool, error) {
	now := l.cfg.Now()
	if wait := turn.Sub(now); wait > l.cfg.MaxHold {
		return false, &dispatcher.Error{Decision: dispatcher.Defer, Code: code, Turn: turn,
			MinDelay: wait - l.cfg.MaxHold/2,
			Message:  "waiting for its turn under " + r.String() + " in " + wait.Round(time.Millisecond).String()}
	}
	if err := sleepUntil(ctx, l.cfg.Now, turn); err != nil {
		return false, err
	}
	return !l.cfg.Now().After(turn.Add(l.grace(r))), nil
}

// code names why a send to t waits: a penalty, as far as this process knows, or its turn.
func (l *Limiter) code(t *target) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.seen.penalty.After(l.cfg.Now()) {
		return dispatcher.CodeRateLimitPenalty
	}
	return dispatcher.CodeRateLimitWait
}

// Penalize holds every send to key, fleet-wide, for d from now: DingTalk blocked the target.
// Turns already reserved inside the penalty by other workers are not withdrawn; a send on one of
// them is answered with the block again and retried.
func (l *Limiter) Penalize(ctx context.Context, key string, d time.Duration) error {
	until := l.cfg.Now().Add(d)
	t := l.target(key)
	t.mu.Lock()
	t.turns = nil
	t.mu.Unlock()
	return l.update(ctx, t, key, func(s state) (state, bool) {
		if !s.penalty.Before(until) {
			return s, false
		}
		s.penalty = until
		return s, true
	})
}

// next returns a turn for one send: the earliest this process holds, leasing more when it holds
// none. The turn may be far off: the caller then defers the job with it.
func (l *Limiter) next(ctx context.Context, t *target, key string, r Rate) (time.Time, error) {
	t.mu.Lock()
	t.needy++
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.needy--
		t.mu.Unlock()
	}()
	for {
		t.mu.Lock()
		t.dropStale(l.cfg.Now(), l.grace(r))
		if len(t.turns) > 0 {
			turn := t.turns[0]
			t.turns = t.turns[1:]
			t.mu.Unlock()
			return turn, nil
		}
		if ch := t.leasing; ch != nil { // another send of this process is leasing: wait for it
			t.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return time.Time{}, ctx.Err()
			}
		}
		ch := make(chan struct{})
		t.leasing = ch
		want := t.needy
		t.mu.Unlock()

		err := l.lease(ctx, t, key, r, want)
		t.mu.Lock()
		t.leasing = nil
		close(ch)
		t.mu.Unlock()
		if err != nil {
			return time.Time{}, err
		}
	}
}

// lease takes want consecutive turns (at most LeaseMax) from the shared schedule, from the
// fleet's next free turn or the end of a penalty, whichever is later: one update for many sends.
// Turns far off are reservations for sends that will be deferred.
func (l *Limiter) lease(ctx context.Context, t *target, key string, r Rate, want int) error {
	interval := l.interval(r)
	var leased []time.Time
	err := l.update(ctx, t, key, func(s state) (state, bool) {
		leased = leased[:0]
		start := latest(s.next, l.cfg.Now(), s.penalty)
		n := l.leaseSize(r, want)
		for i := range n {
			leased = append(leased, start.Add(time.Duration(i)*interval))
		}
		s.next = start.Add(time.Duration(n) * interval)
		return s, true
	})
	if err != nil {
		return deferError(dispatcher.CodeRateLimitUnavailable, "the shared rate-limit state is unreachable ("+err.Error()+"); held", l.cfg.MaxHold)
	}
	t.mu.Lock()
	t.turns = append(t.turns, leased...)
	t.mu.Unlock()
	return nil
}

// update applies change to key's shared state with a revision check, reading the state afresh
// and trying again when another worker changed it first. The state it last saw is kept in t.
func (l *Limiter) update(ctx context.Context, t *target, key string, change func(state) (state, bool)) error {
	k := BucketKey(key)
	t.mu.Lock()
	s, rev, known := t.seen, t.rev, t.known
	t.mu.Unlock()
	for attempt := 0; ; attempt++ {
		if !known {
			var err error
			if s, rev, err = l.read(ctx, k); err != nil {
				return err
			}
			s = s.atLeast(t.lastSeen())
		}
		next, write := change(s)
		if !write {
			l.remember(t, s, rev)
			return nil
		}
		newRev, err := l.write(ctx, k, next, rev)
		if err == nil {
			l.remember(t, next, newRev)
			return nil
		}
		if !kv.IsConflict(err) || attempt >= 50 {
			return err
		}
		known = false // another worker went first: read its state and try again
	}
}

func (l *Limiter) remember(t *target, s state, rev uint64) {
	t.mu.Lock()
	t.seen, t.rev, t.known = s, rev, true
	t.mu.Unlock()
}

func (l *Limiter) read(ctx context.Context, k string) (state, uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	e, err := l.kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return state{}, 0, nil
	}
	if err != nil {
		return state{}, 0, err
	}
	s, err := decodeState(e.Value())
	if err != nil { // a value we cannot read is overwritten, not obeyed forever
		return state{}, e.Revision(), nil
	}
	return s, e.Revision(), nil
}

func (l *Limiter) write(ctx context.Context, k string, s state, rev uint64) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	if rev == 0 {
		return l.kv.Create(ctx, k, s.encode())
	}
	return l.kv.Update(ctx, k, s.encode(), rev)
}

// interval is the spacing of turns: the period, stretched by the margin, over N.
func (l *Limiter) interval(r Rate) time.Duration {
	return time.Duration(float64(r.Per) * (1 + l.cfg.Margin) / float64(r.N))
}

// grace is how late a turn may still be used: half the margin (10 ms at 20/s), since timers on a
// busy machine fire a few ms late and a dropped turn is a send lost. The other half absorbs what
// happens between the check and DingTalk counting the request (the HTTP client, the network).
func (l *Limiter) grace(r Rate) time.Duration {
	return time.Duration(float64(r.Per) * l.cfg.Margin / 2)
}

// leaseSize is how many turns a lease takes for want sends: want, or, where turns are so dense
// that many fit in one grace period (a limit far above DingTalk's real ones), as many as fit, up
// to LeaseMax. Turns a process does not use in time lapse: harmless under a limit the fleet does
// not reach, and never the case for limits of tens a second, where no two turns fit in a grace.
func (l *Limiter) leaseSize(r Rate, want int) int {
	dense := int(l.grace(r) / l.interval(r))
	return min(max(want, dense, 1), l.cfg.LeaseMax)
}

func (l *Limiter) target(key string) *target {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.targets[key]
	if !ok {
		t = &target{}
		l.targets[key] = t
	}
	return t
}

// target is what this process knows of one send target.
type target struct {
	mu      sync.Mutex
	turns   []time.Time   // leased turns not yet handed out, earliest first
	needy   int           // sends of this process looking for a turn
	leasing chan struct{} // closed when the lease in progress ends; nil when none is
	seen    state         // the shared state as last read or written
	rev     uint64        // its revision
	known   bool          // seen and rev are set
}

// lastSeen is the shared state as this process last read or wrote it.
func (t *target) lastSeen() state {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.seen
}

// dropStale forgets turns too far in the past to be used safely.
func (t *target) dropStale(now time.Time, grace time.Duration) {
	i := 0
	for i < len(t.turns) && now.After(t.turns[i].Add(grace)) {
		i++
	}
	t.turns = t.turns[i:]
}

func deferError(code, msg string, d time.Duration) error {
	d = max(d, 100*time.Millisecond)
	return &dispatcher.Error{Decision: dispatcher.Defer, Code: code,
		Message: fmt.Sprintf("%s %s", msg, d.Round(time.Millisecond)), MinDelay: d}
}

func sleepUntil(ctx context.Context, now func() time.Time, t time.Time) error {
	d := t.Sub(now())
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func latest(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		m = later(m, t)
	}
	return m
}
