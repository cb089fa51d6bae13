package worker_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every worker, server and connection a test starts must be gone when it ends.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
