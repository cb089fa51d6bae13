//go:build containers

package containers

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// The images `make image` builds. They are used as they are tagged locally, never pulled.
const (
	dingqImage = "dingq:dev"
	natsImage  = "dingq-nats:dev"
)

// logDir keeps every container's whole log: go test -tags containers ./deploy/containers -args -logs DIR
var logDir = flag.String("logs", "", "directory to write each container's whole log into (default: none; a failed test prints their tails)")

func TestMain(m *testing.M) {
	// testcontainers narrates every container's life under -v; the tests report what matters.
	tclog.SetDefault(quiet)
	// The reaper (Ryuk) is an image of its own, which is not pulled; every test removes its
	// containers and network in t.Cleanup instead. testcontainers reads this at its first use.
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		if err := os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// quiet is a logger that discards what it is given.
var quiet = log.New(io.Discard, "", 0)

// dockerClient connects to the Docker engine and checks that both images are there, so that
// testcontainers never tries to pull one. Without either, the test fails: these tests were asked
// for by their build tag, and a skip would pass unnoticed.
func dockerClient(t *testing.T) *testcontainers.DockerClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cli, err := connectDocker(ctx)
	if err != nil {
		t.Fatalf("these tests need a Docker engine: %v", err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	for _, img := range []string{dingqImage, natsImage} {
		if _, err := cli.ImageInspect(ctx, img); err != nil {
			t.Fatalf("image %s: %v; build it with `make image` (it is never pulled)", img, err)
		}
	}
	return cli
}

// connectDocker connects where testcontainers finds an engine, and pings it. testcontainers
// panics when it finds none: that becomes the error.
func connectDocker(ctx context.Context) (cli *testcontainers.DockerClient, err error) {
	defer func() {
		if p := recover(); p != nil {
			cli, err = nil, fmt.Errorf("%v", p)
		}
	}()
	cli, err = testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := cli.Ping(ctx); err != nil {
		_ = cli.Close()
		return nil, err
	}
	return cli, nil
}

// eventually polls cond every interval until it holds; after timeout it fails the test, naming
// what it waited for.
func eventually(t *testing.T, timeout, interval time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-tick.C
	}
}
