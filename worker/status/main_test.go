package status_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every recorder, server and connection a test starts must be gone when it ends.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
