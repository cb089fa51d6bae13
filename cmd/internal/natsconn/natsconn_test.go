package natsconn

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/cmd/internal/config"
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

// silentProxy forwards TCP to a server until it goes silent: it then forwards nothing more and
// closes nothing, as a server cut off the network looks to its clients.
type silentProxy struct {
	ln     net.Listener
	silent chan struct{} // closed to go silent
	done   chan struct{} // closed when the test ends
	wg     sync.WaitGroup
}

func newSilentProxy(t *testing.T, target string) *silentProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &silentProxy{ln: ln, silent: make(chan struct{}), done: make(chan struct{})}
	pipe := func(dst, src net.Conn) {
		defer dst.Close()
		defer src.Close()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			select {
			case <-p.silent:
				<-p.done // both ends stay open, and nothing passes
				return
			default:
			}
			if err != nil {
				return
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
	}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.wg.Go(func() { pipe(s, c) })
			p.wg.Go(func() { pipe(c, s) })
		}
	})
	t.Cleanup(func() { ln.Close(); close(p.done); p.wg.Wait() })
	return p
}

// A server that goes silent is given up within maxPingsOutstanding ping intervals, so that a
// worker moves to another server rather than waiting minutes for TCP to notice.
func TestSilentServerIsGivenUp(t *testing.T) {
	srv := workertest.StartServer(t)
	p := newSilentProxy(t, srv.Addr().String())
	cfg := config.Default()
	cfg.NATSURL = "nats://" + p.ln.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, err := Start(ctx, cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	lost := nc.StatusChanged(nats.RECONNECTING, nats.DISCONNECTED)
	defer nc.RemoveStatusListener(lost)
	close(p.silent)
	select {
	case <-lost:
	case <-time.After(time.Duration(maxPingsOutstanding+2) * PingInterval):
		t.Fatalf("the connection to a silent server still stands after %v", time.Duration(maxPingsOutstanding+2)*PingInterval)
	}
}
