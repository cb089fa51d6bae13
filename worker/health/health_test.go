package health_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dingq/dingq/worker/health"
	"github.com/dingq/dingq/worker/workertest"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestProbesFollowNATSAndTheWorker(t *testing.T) {
	srv, nc, _ := workertest.StartNATS(t)
	s, err := health.Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := "http://" + s.Addr()

	expect := func(path string, code int, body string) {
		t.Helper()
		got, text := get(t, base+path)
		if got != code || !strings.Contains(text, body) {
			t.Errorf("%s = %d %q, want %d %q", path, got, text, code, body)
		}
	}
	expect("/healthz", 200, "ok")
	expect("/readyz", 503, "connecting to NATS")
	expect("/metrics", 404, "")

	var ready atomic.Bool
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "dingq_up 1\n") })
	s.Serve(nc, func() error {
		if ready.Load() {
			return nil
		}
		return errors.New("stream DINGQ_DEAD missing")
	}, metrics)
	expect("/readyz", 503, "not ready: stream DINGQ_DEAD missing")
	expect("/metrics", 200, "dingq_up 1")
	expect("/debug/vars", 404, "")
	ready.Store(true)
	expect("/readyz", 200, "ok")

	srv.Shutdown()
	workertest.WaitFor(t, 10*time.Second, "the connection lost", func() bool { return !nc.IsConnected() })
	expect("/readyz", 503, "disconnected from NATS")
	expect("/healthz", 200, "ok")
}

func TestDebugServesProfilesAndVars(t *testing.T) {
	_, nc, _ := workertest.StartNATS(t)
	s, err := health.Listen("127.0.0.1:0", true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Serve(nc, func() error { return nil }, nil)
	for _, path := range []string{"/debug/vars", "/debug/pprof/"} {
		if code, _ := get(t, "http://"+s.Addr()+path); code != 200 {
			t.Errorf("%s = %d", path, code)
		}
	}
}

func TestListenOnABusyAddressFails(t *testing.T) {
	s, err := health.Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if again, err := health.Listen(s.Addr(), false); err == nil {
		again.Close()
		t.Error("a second Listen on the same address succeeded")
	}
}
