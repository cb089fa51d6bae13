package worker_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
)

// BenchmarkWorkerPipeline measures the worker's own cost per job: b.N card jobs already queued on
// an embedded NATS are pulled, validated, handed to a sender that returns at once, and acked.
// It reports jobs/s; DingTalk's latency is left out on purpose.
func BenchmarkWorkerPipeline(b *testing.B) {
	e := newEnv(b)
	cfg := testConfig()
	cfg.Concurrency = 64
	if _, err := worker.Provision(context.Background(), e.js, cfg); err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		m := nats.NewMsg(names.SendSubject(schema.KindCard))
		m.Data = []byte(card("bench-" + strconv.Itoa(i)))
		if _, err := e.js.PublishMsgAsync(m); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-e.js.PublishAsyncComplete():
		if n := e.streamMsgs(names.JobStream()); n != uint64(b.N) {
			b.Fatalf("queued %d of %d jobs", n, b.N)
		}
	case <-time.After(time.Minute):
		b.Fatal("publishing the backlog timed out")
	}

	var sent atomic.Int64
	done := make(chan struct{})
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	stop := e.run(cfg, dispatcher.SenderFunc(func(context.Context, dispatcher.Job) error {
		if sent.Add(1) == int64(b.N) {
			close(done)
		}
		return nil
	}))
	select {
	case <-done:
	case <-time.After(time.Minute):
		b.Fatalf("sent %d of %d", sent.Load(), b.N)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
	stop()
}
