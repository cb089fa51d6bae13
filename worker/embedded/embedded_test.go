package embedded_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/dingq/dingq/worker/embedded"
	"go.uber.org/goleak"
)

// A busy port fails at once, naming the address, rather than after the ready timeout.
func TestBusyPortFailsAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	srv, err := embedded.Start(embedded.Config{Listen: addr, StoreDir: t.TempDir(), ReadyTimeout: time.Minute})
	if err == nil {
		srv.Shutdown()
		t.Fatal("started on a busy port")
	}
	if !strings.Contains(err.Error(), "cannot listen on "+addr) {
		t.Errorf("error %q does not name %s", err, addr)
	}
}

func TestStartsAndStops(t *testing.T) {
	srv, err := embedded.Start(embedded.Config{Listen: "127.0.0.1:0", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !srv.JetStreamEnabled() {
		t.Error("JetStream is off")
	}
	srv.Shutdown()
}

// Every server a test starts must be gone when it ends.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
