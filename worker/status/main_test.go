package status_test

import (
	"testing"

	"github.com/dingq/dingq/worker/workertest"
)

// Every recorder, server and connection a test starts must be gone when it ends.
func TestMain(m *testing.M) { workertest.VerifyNoLeaks(m) }
