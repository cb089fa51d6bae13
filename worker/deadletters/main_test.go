package deadletters_test

import (
	"testing"

	"github.com/dingq/dingq/worker/workertest"
)

// Every server, connection and browse a test starts must be gone when it ends.
func TestMain(m *testing.M) { workertest.VerifyNoLeaks(m) }
