package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
)

// lab is what every scenario runs in: a temporary directory, the binaries, the NATS server as
// its own process, the harness's own connection to it, and the children it started.
type lab struct {
	dir      string
	dingqBin string
	selfBin  string // this program, for the ceiling subcommand
	procs    procs
	nats     *proc
	natsURL  string
	nc       *nats.Conn
	js       jetstream.JetStream
	names    schema.Names
	pubErrs  atomic.Int64 // asynchronous publishes that failed
	log      *progress
	seq      int // numbers the children's log files
}

// newLab builds dingq and nats-server and starts NATS. Close it, whatever happens next.
func newLab(ctx context.Context, log *progress) (l *lab, err error) {
	dir, err := os.MkdirTemp("", "dingq-bench-")
	if err != nil {
		return nil, err
	}
	l = &lab{dir: dir, names: schema.NewNames(schema.DefaultPrefix), log: log}
	defer func() {
		if err != nil {
			l.close()
		}
	}()
	if l.selfBin, err = os.Executable(); err != nil {
		return l, err
	}
	l.dingqBin = filepath.Join(dir, "dingq")
	natsBin := filepath.Join(dir, "nats-server")
	log.printf("building dingq and nats-server in %s", dir)
	if err := goBuild(ctx, l.dingqBin, "github.com/dingq/dingq/cmd/dingq"); err != nil {
		return l, err
	}
	if err := goBuild(ctx, natsBin, "github.com/nats-io/nats-server/v2"); err != nil {
		return l, err
	}
	if err := l.startNATS(ctx, natsBin); err != nil {
		return l, err
	}
	return l, nil
}

// startNATS runs nats-server with JetStream on a free loopback port and connects to it.
func (l *lab) startNATS(ctx context.Context, bin string) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(addr)
	store := filepath.Join(l.dir, "jetstream")
	l.nats, err = l.procs.start("nats-server", bin,
		[]string{"-a", "127.0.0.1", "-p", port, "-js", "-sd", store}, nil, l.logPath("nats-server"))
	if err != nil {
		return err
	}
	l.natsURL = "nats://" + addr
	deadline := time.Now().Add(15 * time.Second)
	for {
		l.nc, err = nats.Connect(l.natsURL, nats.Name("dingq-bench"))
		if err == nil {
			break
		}
		if time.Now().After(deadline) || l.nats.exited() {
			return fmt.Errorf("nats-server not reachable at %s: %w\n%s", l.natsURL, err, l.nats.logTail(20))
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	l.js, err = jetstream.New(l.nc,
		jetstream.WithPublishAsyncMaxPending(4096),
		jetstream.WithPublishAsyncErrHandler(func(jetstream.JetStream, *nats.Msg, error) { l.pubErrs.Add(1) }))
	if err != nil {
		return err
	}
	// Wait for JetStream itself, not only the port.
	for {
		if _, err = l.js.AccountInfo(ctx); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("JetStream not ready: %w", err)
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// close stops every child and removes the temporary directory.
func (l *lab) close() {
	if l.nc != nil {
		l.nc.Close()
	}
	l.procs.killAll()
	_ = os.RemoveAll(l.dir)
}

// logPath returns a fresh file name in the lab for a child's output.
func (l *lab) logPath(name string) string {
	l.seq++
	return filepath.Join(l.dir, strconv.Itoa(l.seq)+"-"+name+".log")
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// sleepCtx waits d, or returns ctx's error if it ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
