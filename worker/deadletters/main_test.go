package deadletters_test

import (
	"testing"

	"github.com/dingq/dingq/worker/workertest"
)

// Every server, connection and browse a test starts must be gone when it ends. The benchmarks
// share one server, filled once, that outlives each of them: it is shut down after the last one
// and before the check.
func TestMain(m *testing.M) { workertest.VerifyNoLeaksAfter(m, closeBench) }
