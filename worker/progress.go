package worker

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// progress tells JetStream that a job is still being worked on, so a send that outlasts AckWait
// is not redelivered to another worker while it runs. A progress is reused from send to send: it
// costs a timer's reset per send, no allocation and no goroutine.
type progress struct {
	mu      sync.Mutex
	msg     jetstream.Msg
	every   time.Duration
	timer   *time.Timer
	stopped bool
}

var progresses = sync.Pool{New: func() any { return new(progress) }}

func startProgress(msg jetstream.Msg, every time.Duration) *progress {
	p := progresses.Get().(*progress)
	p.mu.Lock()
	p.msg, p.every, p.stopped = msg, every, false
	if p.timer == nil {
		p.timer = time.AfterFunc(every, p.tick)
	} else {
		p.timer.Reset(every)
	}
	p.mu.Unlock()
	return p
}

// tick signals progress and waits for the next turn. A tick that fires as its send stops may
// find the progress reused by the next send: it then signals that send's job early, which only
// restarts its ack wait.
func (p *progress) tick() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	msg := p.msg
	p.timer.Reset(p.every)
	p.mu.Unlock()
	_ = msg.InProgress()
}

// stop ends the signals and puts p back for another send.
func (p *progress) stop() {
	p.mu.Lock()
	p.stopped = true
	p.timer.Stop()
	p.msg = nil
	p.mu.Unlock()
	progresses.Put(p)
}
