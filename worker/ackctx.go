package worker

import (
	"context"
	"sync/atomic"
	"time"
)

// ackContextEvery is how long one confirmed-ack context is handed out: an ack waits between
// ackTimeout less this and ackTimeout for its confirmation.
const ackContextEvery = 100 * time.Millisecond

// ackContexts hands out the deadlines confirmed acks wait under: one context every
// ackContextEvery, shared by every ack made meanwhile, rather than a context and a timer per ack.
// Each context ends by its own deadline. Safe for concurrent use; the zero value is ready.
type ackContexts struct {
	cur atomic.Pointer[ackContext]
}

type ackContext struct {
	ctx    context.Context
	cancel context.CancelFunc // kept, not called: acks may still wait under ctx; its deadline ends it
	until  time.Time          // handed out until then
}

// get returns a context whose deadline is at least ackTimeout-ackContextEvery away.
func (a *ackContexts) get() context.Context {
	now := time.Now()
	if c := a.cur.Load(); c != nil && now.Before(c.until) {
		return c.ctx
	}
	ctx, cancel := context.WithDeadline(context.Background(), now.Add(ackTimeout))
	a.cur.Store(&ackContext{ctx: ctx, cancel: cancel, until: now.Add(ackContextEvery)})
	return ctx
}
