package deadletters_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
	"github.com/dingq/dingq/worker/deadletters"
	"github.com/dingq/dingq/worker/embedded"
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

// benchKinds, benchReasons and benchCodes make a mix of dead letters as a busy deployment has
// them: mostly cards, mostly rejections, a handful of codes each.
var (
	benchKinds   = []schema.Kind{schema.KindCard, schema.KindCard, schema.KindCard, schema.KindRobot, schema.KindRobot, schema.KindCrossDomain}
	benchReasons = []string{schema.ReasonRejected, schema.ReasonRejected, schema.ReasonRejected, schema.ReasonExhausted, schema.ReasonExhausted, schema.ReasonInvalid}
	benchCodes   = map[string][]string{
		schema.ReasonRejected:  {"chatbotNotInstall", "40035", "forbidden.accessDenied", "param.invalidUser"},
		schema.ReasonExhausted: {"503", "429", "timeout"},
		schema.ReasonInvalid:   {"invalid_field", "schema"},
	}
)

// benchMsg is the i-th dead letter as a worker stores it: the job's body and headers, the
// Dingq-* headers, and the worker's message id.
func benchMsg(i int, failedAt time.Time) *nats.Msg {
	kind := benchKinds[i%len(benchKinds)]
	reason := benchReasons[(i/7)%len(benchReasons)]
	codes := benchCodes[reason]
	job := fmt.Sprintf("job-%08d-%x", i, uint32(i)*2654435761)
	m := nats.NewMsg(names.DeadSubject(kind))
	m.Data = fmt.Appendf(nil, `{"outTrackId":%q,"cardTemplateId":"f2f0a5c6-1b1e-4f2b-9a57-1e6b6c0a%04d.schema",`+
		`"openSpaceId":"dtv1.card//IM_GROUP.cid%08dxyzAbCdEfGhIjKlMnOp==","imGroupOpenSpaceModel":{"supportForward":true},`+
		`"cardData":{"cardParamMap":{"title":"Disk almost full on db-%03d","body":"Volume /var/lib/postgresql is at 9%d%% `+
		`and growing by 1.2 GB an hour; the on-call engineer has been paged.","severity":"warning","link":"https://grafana.example.com/d/abc/%d"}}}`,
		job, i%10000, i, i%500, i%10, i)
	m.Header.Set("Traceparent", fmt.Sprintf("00-%032x-%016x-01", i, i))
	m.Header.Set(schema.HeaderMsgID, "dead-"+names.JobStreamFor("ops")+"-ops-"+strconv.Itoa(i+1)+"-"+strconv.FormatInt(failedAt.UnixNano(), 10))
	m.Header.Set(schema.HeaderJobID, job)
	m.Header.Set(schema.HeaderReason, reason)
	m.Header.Set(schema.HeaderErrorCode, codes[i%len(codes)])
	m.Header.Set(schema.HeaderError, "DingTalk answered 400 "+codes[i%len(codes)]+": the robot is not installed in the group")
	m.Header.Set(schema.HeaderHTTPStatus, "400")
	m.Header.Set(schema.HeaderAttempts, strconv.Itoa(1+i%5))
	m.Header.Set(schema.HeaderOriginalSubject, names.SendSubjectFor(kind, "ops"))
	m.Header.Set(schema.HeaderFailedAt, failedAt.UTC().Format(time.RFC3339))
	return m
}

// fillBench starts the benchmarks' server and stores benchLetters dead letters, published
// asynchronously in batches.
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
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return err
	}
	ctx := context.Background()
	if _, err := worker.Provision(ctx, js, worker.Config{Names: names, Apps: []string{"ops"}}); err != nil {
		return err
	}
	start := time.Now()
	const batch = 10_000
	for from := 0; from < benchLetters; from += batch {
		acks := make([]jetstream.PubAckFuture, 0, batch)
		for i := from; i < from+batch; i++ {
			f, err := js.PublishMsgAsync(benchMsg(i, time.Now()))
			if err != nil {
				return err
			}
			acks = append(acks, f)
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(time.Minute):
			return fmt.Errorf("publish of dead letters %d.. not acked in a minute", from)
		}
		for _, f := range acks {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return fmt.Errorf("publish dead letter: %w", err)
			}
		}
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
