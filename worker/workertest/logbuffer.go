// Package workertest helps the tests of dingq's worker and command: a log sink that many
// goroutines write to and that a test queries by event, the way an operator reads dingq's JSON
// logs; and a publish on the bare NATS protocol, for headers nats.go would refuse to send.
package workertest

import (
	"bytes"
	"encoding/json"
	"sync"
)

// LogBuffer collects JSON log lines from many goroutines. Its zero value is ready to use; it is
// safe for concurrent use.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Events returns the JSON events whose message is msg, in order; "" returns every event.
func (b *LogBuffer) Events(msg string) []map[string]any {
	var out []map[string]any
	for _, line := range bytes.Split([]byte(b.String()), []byte("\n")) {
		var ev map[string]any
		if json.Unmarshal(line, &ev) == nil && (msg == "" || ev["message"] == msg) {
			out = append(out, ev)
		}
	}
	return out
}

// Count returns how many events have the message msg.
func (b *LogBuffer) Count(msg string) int { return len(b.Events(msg)) }

// Has reports whether an event with the message msg was written.
func (b *LogBuffer) Has(msg string) bool { return b.Count(msg) > 0 }
