package workertest_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/worker/embedded"
	"github.com/dingq/dingq/worker/workertest"
)

// Every server and connection a test starts must be gone when it ends.
func TestMain(m *testing.M) { workertest.VerifyNoLeaks(m) }

func TestStartNATSServesJetStreamAndIsGoneAfterTheTest(t *testing.T) {
	var (
		srv *embedded.Server
		nc  *nats.Conn
	)
	t.Run("test", func(t *testing.T) {
		var js jetstream.JetStream
		srv, nc, js = workertest.StartNATS(t)
		if !strings.HasPrefix(srv.ClientURL(), "nats://127.0.0.1:") {
			t.Errorf("client URL %s, want loopback", srv.ClientURL())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, "t", []byte("x")); err != nil {
			t.Fatal(err)
		}
	})
	if !nc.IsClosed() {
		t.Error("the connection is open after the test")
	}
	if srv.Running() {
		t.Error("the server runs after the test")
	}
}

func TestStartNATSOptions(t *testing.T) {
	dir := t.TempDir()
	srv, nc, _ := workertest.StartNATS(t, workertest.MaxPayload(64<<10), workertest.StoreDir(dir),
		workertest.ConnOptions(nats.Name("opts")))
	if got := nc.MaxPayload(); got != 64<<10 {
		t.Errorf("max payload %d, want 64 KiB", got)
	}
	if got := srv.JetStreamConfig().StoreDir; !strings.HasPrefix(got, dir) {
		t.Errorf("store in %s, want it in %s", got, dir)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) == 0 {
		t.Errorf("store dir %s: %v, %d entries; want the server's store", dir, err, len(entries))
	}
	if nc.Opts.Name != "opts" {
		t.Errorf("connection name %q, want the option's", nc.Opts.Name)
	}
}

// StartServer makes no connection; Connect makes one of its own, closed when the test ends.
func TestStartServerAndConnect(t *testing.T) {
	var nc *nats.Conn
	srv := workertest.StartServer(t)
	t.Run("test", func(t *testing.T) {
		if n := srv.NumClients(); n != 0 {
			t.Errorf("%d clients, want none", n)
		}
		nc, _ = workertest.Connect(t, srv.ClientURL())
		if n := srv.NumClients(); n != 1 {
			t.Errorf("%d clients, want 1", n)
		}
	})
	if !nc.IsClosed() {
		t.Error("the connection is open after the test")
	}
}

func TestWaitForReturnsOnceTheConditionHolds(t *testing.T) {
	var n atomic.Int64
	workertest.WaitFor(t, 10*time.Second, "three polls", func() bool { return n.Add(1) == 3 })
	if got := n.Load(); got != 3 {
		t.Errorf("polled %d times, want 3", got)
	}
}

// fatalTB records what a test would fail with, and ends the goroutine as Fatal does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

func TestWaitForFailsNamingWhatAndPrintingTheLogs(t *testing.T) {
	var log1, log2 workertest.LogBuffer
	log1.Write([]byte(`{"message":"worker started"}`))
	log2.Write([]byte("second"))
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		workertest.WaitFor(f, 30*time.Millisecond, "the impossible", func() bool { return false }, &log1, &log2)
	}()
	<-done
	want := "timed out after 30ms waiting for the impossible\nlog:\n" + `{"message":"worker started"}` + "\nlog:\nsecond"
	if f.msg != want {
		t.Errorf("failed with %q, want %q", f.msg, want)
	}
}
