package deadletters_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
	"github.com/dingq/dingq/worker/deadletters"
	"github.com/dingq/dingq/worker/embedded"
	"github.com/dingq/dingq/worker/workertest"
)

// benchLetters is how many dead letters the benchmarks' stream holds.
const benchLetters = 100_000

// benchData is the benchmarks' server and its dead letters, filled once per process and shut
// down by TestMain after the last benchmark.
var benchData struct {
	once  sync.Once
	err   error
	dir   string
	srv   *embedded.Server
	nc    *nats.Conn
	store *deadletters.Store
	fill  time.Duration
	// middle is the job id of the dead letter at the middle sequence; last the last sequence.
	middle string
	last   uint64
}

// benchStore returns the store over the benchmarks' dead letters, filling the stream the first
// time.
func benchStore(b *testing.B) *deadletters.Store {
	b.Helper()
	benchData.once.Do(func() { benchData.err = fillBench() })
	if benchData.err != nil {
		b.Fatal(benchData.err)
	}
	return benchData.store
}

// closeBench shuts the benchmarks' server down, if a benchmark started it.
func closeBench() {
	if benchData.nc != nil {
		benchData.nc.Close()
	}
	if benchData.srv != nil {
		benchData.srv.Shutdown()
	}
	if benchData.dir != "" {
		_ = os.RemoveAll(benchData.dir)
	}
}

// fillBench starts the benchmarks' server and stores benchLetters dead letters.
func fillBench() error {
	dir, err := os.MkdirTemp("", "dingq-deadletters-bench-")
	if err != nil {
		return err
	}
	benchData.dir = dir
	srv, err := embedded.Start(embedded.Config{Listen: "127.0.0.1:0", StoreDir: dir})
	if err != nil {
		return err
	}
	benchData.srv = srv
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		return err
	}
	benchData.nc = nc
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx := context.Background()
	if _, err := worker.Provision(ctx, js, worker.Config{Names: names, Apps: []string{"ops"}}); err != nil {
		return err
	}
	start := time.Now()
	if err := workertest.FillDeadLetters(ctx, nc, names, benchLetters); err != nil {
		return err
	}
	benchData.fill = time.Since(start)
	store, err := deadletters.Open(ctx, js, names)
	if err != nil {
		return err
	}
	benchData.store = store
	l, err := store.Get(ctx, benchLetters/2)
	if err != nil {
		return err
	}
	benchData.middle, benchData.last = l.JobID, benchLetters
	fmt.Fprintf(os.Stderr, "filled %d dead letters in %v\n", benchLetters, benchData.fill.Round(time.Millisecond))
	return nil
}

// BenchmarkPage reads pages of benchLetters dead letters: the newest, one deep in the stream,
// and filtered ones. Each sub-benchmark reports the sequences its page read (scanned/op), the
// time per sequence read (µs/scanned) and the letters it holds (letters/op).
func BenchmarkPage(b *testing.B) {
	store := benchStore(b)
	ctx := context.Background()
	cases := []struct {
		name string
		q    deadletters.PageQuery
	}{
		{"newest", deadletters.PageQuery{}},
		{"middle", deadletters.PageQuery{Before: benchData.last / 2}},
		{"size=500", deadletters.PageQuery{Size: deadletters.MaxPageSize}},
		{"kind=robot", deadletters.PageQuery{Filter: deadletters.Filter{Kind: schema.KindRobot}}},
		{"kind=crossdomain", deadletters.PageQuery{Filter: deadletters.Filter{Kind: schema.KindCrossDomain}}},
		{"reason=invalid", deadletters.PageQuery{Filter: deadletters.Filter{Reason: schema.ReasonInvalid}}},
		{"since=1h", deadletters.PageQuery{Filter: deadletters.Filter{Since: time.Now().Add(-time.Hour)}}},
		// The one dead letter of the job is at the middle, and does not fill the page: the page
		// reads on to the oldest.
		{"jobid-middle", deadletters.PageQuery{Filter: deadletters.Filter{JobID: benchData.middle}, MaxScan: benchLetters}},
		// As the console looks a job up: it stops, partial, before the middle.
		{"jobid-maxscan=20000", deadletters.PageQuery{Filter: deadletters.Filter{JobID: benchData.middle}, Size: 10, MaxScan: 20_000}},
		{"jobid-maxscan=default", deadletters.PageQuery{Filter: deadletters.Filter{JobID: benchData.middle}}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var p deadletters.Page
			var err error
			for b.Loop() {
				if p, err = store.Page(ctx, c.q); err != nil {
					b.Fatal(err)
				}
			}
			if len(p.Letters) == 0 && !p.Partial {
				b.Fatalf("%s: empty page %+v", c.name, p)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(max(p.Scanned, 1)), "µs/scanned")
			b.ReportMetric(float64(p.Scanned), "scanned/op")
			b.ReportMetric(float64(len(p.Letters)), "letters/op")
		})
	}
}

// BenchmarkTally counts benchLetters dead letters.
func BenchmarkTally(b *testing.B) {
	store := benchStore(b)
	ctx := context.Background()
	var t deadletters.Tally
	var err error
	for b.Loop() {
		if t, err = store.Tally(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if t.Total != benchLetters {
		b.Fatalf("tally counted %d dead letters, want %d", t.Total, benchLetters)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchLetters, "ns/letter")
}
