package logbuf_test

import (
	"testing"

	"github.com/dingq/dingq/worker/workertest"
)

func TestMain(m *testing.M) { workertest.VerifyNoLeaks(m) }
