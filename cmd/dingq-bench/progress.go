package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress writes timestamped progress lines to stderr; the table alone goes to stdout.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func newProgress(w io.Writer) *progress { return &progress{w: w, start: time.Now()} }

// printf writes one line, prefixed with the time since the run started.
func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "[%6.1fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

// every calls report every interval until stop is closed.
func every(interval time.Duration, stop <-chan struct{}, report func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			report()
		}
	}
}
