package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/worker/workertest"
)

// Every server and connection a test starts must be gone when it ends.
func TestMain(m *testing.M) { workertest.VerifyNoLeaks(m) }

// startNATS runs an embedded NATS server for the test.
func startNATS(t *testing.T) string {
	t.Helper()
	return workertest.StartServer(t).ClientURL()
}

// newLimiter connects to url on a connection of its own, as one worker process would, and
// returns a limiter over the shared bucket and the bucket itself.
func newLimiter(t *testing.T, url string, cfg Config) (*Limiter, jetstream.KeyValue) {
	t.Helper()
	js := jetStream(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "TEST_LIMITS", History: 1, TTL: time.Hour})
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
	_, js := workertest.Connect(t, url)
	return js
}
