package worker

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// progress tells JetStream that a job is still being worked on, so a send that outlasts AckWait
// is not redelivered to another worker while it runs. It costs one timer per send, no goroutine.
type progress struct {
	mu      sync.Mutex
	msg     jetstream.Msg
	every   time.Duration
	timer   *time.Timer
	stopped bool
}

func startProgress(msg jetstream.Msg, every time.Duration) *progress {
	p := &progress{msg: msg, every: every}
	p.mu.Lock()
	p.timer = time.AfterFunc(every, p.tick)
	p.mu.Unlock()
	return p
}

func (p *progress) tick() {
	_ = p.msg.InProgress()
	p.mu.Lock()
	if !p.stopped {
		p.timer.Reset(p.every)
	}
	p.mu.Unlock()
}

func (p *progress) stop() {
	p.mu.Lock()
	p.stopped = true
	p.timer.Stop()
	p.mu.Unlock()
}
