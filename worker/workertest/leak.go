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
func VerifyNoLeaks(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/nats-io/nats.go/jetstream.(*jetStream).resetPendingAcksOnReconnect"))
}
