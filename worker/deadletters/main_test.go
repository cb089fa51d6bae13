package deadletters_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every server, connection and browse a test starts must be gone when it ends. The benchmarks
// share one server, filled once, that outlives each of them: it is shut down after the last one
// and before the check.
//
// The check is workertest.VerifyNoLeaks's, which cannot run anything between the tests and the
// check: it tolerates the one goroutine nats.go leaks by a race of its own (see there).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(closeAfter{m},
		goleak.IgnoreTopFunction("github.com/nats-io/nats.go/jetstream.(*jetStream).resetPendingAcksOnReconnect"))
}

// closeAfter runs the tests and benchmarks of m, then closes the benchmarks' shared server.
type closeAfter struct{ m *testing.M }

func (c closeAfter) Run() int {
	code := c.m.Run()
	closeBench()
	return code
}
