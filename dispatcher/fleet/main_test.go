package fleet_test

import (
	"testing"

	"github.com/dingq/dingq/worker/workertest"
)

// Every server, connection and goroutine a test starts must be gone when it ends.
func TestMain(m *testing.M) { workertest.VerifyNoLeaks(m) }
