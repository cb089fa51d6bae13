package workertest

import (
	"testing"

	"go.uber.org/goleak"
)

// VerifyNoLeaks runs the tests of m and then fails them if any goroutine they started is left.
//
// It tolerates one goroutine nats.go leaks by a race of its own: jetstream's first asynchronous
// publish subscribes for replies, then registers for the connection's status changes. When the
// connection closes between the two, the status listener never hears CLOSED and its goroutine
// waits forever. A worker's status recorder publishes asynchronously while a test closes its
// connection, so the race is reachable here; it leaks one parked goroutine per closed connection
// and nothing else.
func VerifyNoLeaks(m *testing.M) { VerifyNoLeaksAfter(m, nil) }

// VerifyNoLeaksAfter is [VerifyNoLeaks] for tests that share something across tests (a server
// filled once for the benchmarks): after runs between the last test and the check.
func VerifyNoLeaksAfter(m *testing.M, after func()) {
	goleak.VerifyTestMain(runThen{m, after},
		goleak.IgnoreTopFunction("github.com/nats-io/nats.go/jetstream.(*jetStream).resetPendingAcksOnReconnect"))
}

// runThen runs the tests of m, then after.
type runThen struct {
	m     *testing.M
	after func()
}

func (r runThen) Run() int {
	code := r.m.Run()
	if r.after != nil {
		r.after()
	}
	return code
}
