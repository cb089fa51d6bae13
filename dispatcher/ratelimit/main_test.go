package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/worker/embedded"
)

// startNATS runs an embedded NATS server for the test.
func startNATS(t *testing.T) string {
	t.Helper()
	srv, err := embedded.Start(embedded.Config{Listen: "127.0.0.1:0", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv.ClientURL()
}

// newLimiter connects to url on a connection of its own, as one worker process would, and
// returns a limiter over the shared bucket and the bucket itself.
func newLimiter(t *testing.T, url string, cfg Config) (*Limiter, jetstream.KeyValue) {
	t.Helper()
	js := jetStream(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := js.CreateOrUpdateKeyValue(ctx, BucketConfig("TEST_LIMITS", 1))
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(kv, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l, kv
}

// jetStream opens a connection of its own to url.
func jetStream(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}
