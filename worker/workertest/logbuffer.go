// Package workertest helps the tests of dingq's packages that run against NATS: an embedded NATS
// server with JetStream on a free port, and connections to it, that are gone when the test ends
// (StartNATS, StartServer, Connect); a wait until a condition holds that shows the logs when it
// never does (WaitFor); a log sink that many goroutines write to and that a test queries by
// event, the way an operator reads dingq's JSON logs (LogBuffer); a publish on the bare NATS
// protocol, for headers nats.go would refuse to send (RawPublish); and a check that a package's
// tests leave no goroutine behind (VerifyNoLeaks).
//
// It imports no dingq package but worker/embedded, so that the tests of any other, the worker's
// own included, may use it.
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
