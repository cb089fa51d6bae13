// Package logbuf batches a process's log lines: lines below a level wait in a buffer and are
// written together, at most an interval after the first of them, while a line at or above the
// level is written at once, after the lines before it. A worker logs a line for every job it
// sends; written one by one, those lines cost a write call each, about as much as the send's own
// HTTP request.
package logbuf

import (
	"io"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Defaults of [New].
const (
	// DefaultInterval is how long a line may wait in the buffer.
	DefaultInterval = 100 * time.Millisecond
	// maxBuffered is how many bytes may wait: past it the buffer is written at once.
	maxBuffered = 64 << 10
)

// Writer is a [zerolog.LevelWriter] that batches lines below a level. Close it to write what
// waits. Safe for concurrent use.
type Writer struct {
	out      io.Writer
	now      zerolog.Level // lines at or above it are written at once
	interval time.Duration

	mu     sync.Mutex
	buf    []byte
	timer  *time.Timer // armed while lines wait
	closed bool
}

// New returns a Writer to out that writes lines at level now or above at once, and batches the
// others for up to interval (DefaultInterval when 0).
func New(out io.Writer, now zerolog.Level, interval time.Duration) *Writer {
	if interval <= 0 {
		interval = DefaultInterval
	}
	w := &Writer{out: out, now: now, interval: interval}
	w.timer = time.AfterFunc(time.Hour, w.flushTimer)
	w.timer.Stop()
	return w
}

// Write buffers p as a line below the immediate level.
func (w *Writer) Write(p []byte) (int, error) { return w.WriteLevel(zerolog.NoLevel, p) }

// WriteLevel buffers p, or writes it with whatever waits before it when level calls for it, the
// buffer is full, or the Writer is closed.
func (w *Writer) WriteLevel(level zerolog.Level, p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	wasEmpty := len(w.buf) == 0
	w.buf = append(w.buf, p...)
	if w.closed || (level >= w.now && level != zerolog.NoLevel) || len(w.buf) >= maxBuffered {
		if err := w.flushLocked(); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if wasEmpty {
		w.timer.Reset(w.interval)
	}
	return len(p), nil
}

// Flush writes what waits.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

// Close writes what waits; later lines are written at once.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	return w.flushLocked()
}

func (w *Writer) flushTimer() { _ = w.Flush() }

func (w *Writer) flushLocked() error {
	w.timer.Stop()
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.out.Write(w.buf)
	if cap(w.buf) > 4*maxBuffered {
		w.buf = nil // a burst's buffer is not kept
	} else {
		w.buf = w.buf[:0]
	}
	return err
}
