package natsconn

import (
	"errors"
	"testing"

	"github.com/dingq/dingq/worker/workertest"
)

func TestMain(m *testing.M) { workertest.VerifyNoLeaks(m) }

func TestOnceAMinuteLogsEachErrorOnce(t *testing.T) {
	var logged []string
	h := onceAMinute(func(err error) { logged = append(logged, err.Error()) })
	for range 3 {
		h(nil, nil, errors.New(`nats: permissions violation for publish to "dingq.workers.w1"`))
	}
	h(nil, nil, errors.New("nats: another"))
	if len(logged) != 2 {
		t.Errorf("logged %q, want each error once", logged)
	}
}
