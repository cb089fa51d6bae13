package metrics

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
	"github.com/dingq/dingq/worker/metrics/metricstest"
	"github.com/dingq/dingq/worker/workertest"
)

func TestBoundCodesAndMeasureSends(t *testing.T) {
	_, _, js := workertest.StartNATS(t)
	m := New(js, worker.Config{}) // no streams provisioned: every JetStream read fails

	for i := range maxCodes + 20 {
		m.Outcome(worker.Outcome{Kind: "card", Result: worker.ResultRetried, Code: fmt.Sprintf("code%d", i)})
	}
	m.Outcome(worker.Outcome{Kind: "card", Result: worker.ResultRetried, Code: "code0"})
	m.Outcome(worker.Outcome{Kind: "robot", Result: worker.ResultRejected, Code: "bad\xffutf8"})
	m.Outcome(worker.Outcome{Kind: "robot", Result: worker.ResultExhausted, Code: strings.Repeat("x", maxCodeLen+1)})
	m.Outcome(worker.Outcome{Kind: "fax", Result: worker.ResultInvalid, Code: "unknown_kind"})
	m.Outcome(worker.Outcome{Kind: "card", Result: worker.ResultSent})
	m.Outcome(worker.Outcome{Kind: "card", Result: "someday"})

	release := make(chan struct{})
	s := m.WrapSender(fetchCounting{fetches: 3, SenderFunc: func(ctx context.Context, job dispatcher.Job) error {
		switch job.ID {
		case "slow":
			<-release
		case "deferred":
			return &dispatcher.Error{Decision: dispatcher.Defer, Code: "rate_limited"}
		}
		return nil
	}})
	done := make(chan error)
	go func() { done <- s.Send(context.Background(), dispatcher.Job{Kind: schema.KindRobot, ID: "slow"}) }()
	workertest.WaitFor(t, 5*time.Second, "a send in flight", func() bool { return scrapeHandler(t, m).Is(1, "dingq_sends_in_flight") })
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	_ = s.Send(context.Background(), dispatcher.Job{Kind: schema.KindRobot, ID: "deferred"})
	_ = s.Send(context.Background(), dispatcher.Job{Kind: schema.KindCard, ID: "fast"})

	sc := scrapeHandler(t, m)
	if n := sc.Count("dingq_dingtalk_codes_total", "kind", "card"); n != maxCodes+1 {
		t.Errorf("card codes: %d series, want %d and \"other\"", n, maxCodes)
	}
	sc.want(t, []want{
		{2, "dingq_dingtalk_codes_total", []string{"kind", "card", "code", "code0"}},
		{20, "dingq_dingtalk_codes_total", []string{"kind", "card", "code", "other"}},
		{2, "dingq_dingtalk_codes_total", []string{"kind", "robot", "code", "other"}},
		{1, "dingq_dingtalk_codes_total", []string{"kind", "unknown", "code", "unknown_kind"}},
		{1, "dingq_jobs_total", []string{"kind", "unknown", "outcome", "invalid"}},
		{1, "dingq_jobs_total", []string{"kind", "card", "outcome", "sent"}},
		{1, "dingq_jobs_total", []string{"kind", "card", "outcome", "someday"}},
		{0, "dingq_sends_in_flight", nil},
		{1, "dingq_send_duration_seconds", []string{"kind", "robot"}}, // the deferral is no send
		{1, "dingq_send_duration_seconds", []string{"kind", "card"}},
		{3, "dingq_token_fetches_total", nil},
	})
	if got, _ := sc.Value("dingq_scrape_errors_total"); got < 3 {
		t.Errorf("dingq_scrape_errors_total = %v after scrapes without streams, want 3 a scrape", got)
	}
	for _, name := range []string{"dingq_consumer_pending_jobs", "dingq_consumer_ack_pending_jobs", "dingq_oldest_pending_job_age_seconds", "dingq_dead_letters"} {
		if _, ok := sc.Value(name); ok {
			t.Errorf("%s served though JetStream could not be read", name)
		}
	}
	if len(sc.Names("go_")) == 0 || len(sc.Names("process_")) == 0 {
		t.Error("Go's or the process's metrics are missing from the metrics' own registry")
	}
}

func TestDeferralsRepairsAndTokenFetchesAddUp(t *testing.T) {
	m := New(nil, worker.Config{})
	m.Outcome(worker.Outcome{Kind: "card", Result: worker.ResultDeferred, Code: "rate_limit_wait"})
	m.Outcome(worker.Outcome{Kind: "card", Result: worker.ResultDeferred, Code: "rate_limit_wait"})
	m.Outcome(worker.Outcome{Kind: "robot", Result: worker.ResultDeferred, Code: "rate_limit_penalty"})
	m.Outcome(worker.Outcome{Kind: "robot", Result: worker.ResultDeferred, Code: strings.Repeat("x", maxCodeLen+1)})
	m.Repair("stream DINGQ_DEAD")
	m.Repair("stream DINGQ_DEAD")
	m.Repair("consumer DINGQ_JOBS/dingq-worker-card")
	plain := dispatcher.SenderFunc(func(context.Context, dispatcher.Job) error { return nil })
	_ = m.WrapSender(fetchCounting{fetches: 2, SenderFunc: plain})
	_ = m.WrapSender(fetchCounting{fetches: 5, SenderFunc: plain})
	_ = m.WrapSender(plain) // counts no fetches
	if m.WrapSender(nil) != nil {
		t.Error("WrapSender(nil) is not nil")
	}

	s := scrapeHandler(t, m)
	s.want(t, []want{
		{2, "dingq_deferrals_total", []string{"code", "rate_limit_wait"}},
		{1, "dingq_deferrals_total", []string{"code", "rate_limit_penalty"}},
		{3, "dingq_deferrals_total", nil}, // the overlong code is no label value
		{4, "dingq_jobs_total", []string{"outcome", "deferred"}},
		{0, "dingq_dingtalk_codes_total", nil}, // a deferral is no failure
		{2, "dingq_reprovisioned_total", []string{"resource", "stream DINGQ_DEAD"}},
		{1, "dingq_reprovisioned_total", []string{"resource", "consumer DINGQ_JOBS/dingq-worker-card"}},
		{7, "dingq_token_fetches_total", nil},
	})
	// Without JetStream there is no queue to read, and nothing to fail.
	for _, name := range []string{"dingq_consumer_pending_jobs", "dingq_dead_letters", "dingq_scrape_errors_total"} {
		if _, ok := s.Value(name); ok {
			t.Errorf("%s served without JetStream", name)
		}
	}
}

func TestQueueCollectorReadsEveryAppsQueue(t *testing.T) {
	_, _, js := workertest.StartNATS(t)
	cfg := worker.Config{Names: schema.NewNames("mq"), Apps: []string{"shop"}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := worker.Provision(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	publish := func(subject string, n int) {
		for i := range n {
			if _, err := js.Publish(ctx, subject, fmt.Appendf(nil, `{"n":%d}`, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish(cfg.Names.SendSubjectFor(schema.KindCard, ""), 3)
	publish(cfg.Names.SendSubjectFor(schema.KindRobot, "shop"), 2)
	publish(cfg.Names.DeadSubject(schema.KindCard), 1)
	// One job delivered and not acknowledged yet.
	cons, err := js.Consumer(ctx, cfg.Names.JobStreamFor(""), cfg.Names.ConsumerFor(schema.KindCard))
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for range batch.Messages() {
	}
	time.Sleep(10 * time.Millisecond) // the oldest job ages

	s := scrapeHandler(t, New(js, cfg))
	s.want(t, []want{
		{2, "dingq_consumer_pending_jobs", []string{"app", "default", "kind", "card"}},
		{1, "dingq_consumer_ack_pending_jobs", []string{"app", "default", "kind", "card"}},
		{0, "dingq_consumer_pending_jobs", []string{"app", "default", "kind", "robot"}},
		{2, "dingq_consumer_pending_jobs", []string{"app", "shop", "kind", "robot"}},
		{0, "dingq_consumer_ack_pending_jobs", []string{"app", "shop"}},
		{1, "dingq_dead_letters", nil},
		{0, "dingq_scrape_errors_total", nil},
	})
	if n, kinds := s.Count("dingq_consumer_pending_jobs"), len(schema.Kinds()); n != 2*kinds {
		t.Errorf("dingq_consumer_pending_jobs: %d series, want one per app and kind (%d)", n, 2*kinds)
	}
	for _, app := range []string{"default", "shop"} {
		if age, ok := s.Value("dingq_oldest_pending_job_age_seconds", "app", app); !ok || age <= 0 || age > 60 {
			t.Errorf("dingq_oldest_pending_job_age_seconds{app=%q} = %v (found: %v), want the oldest job's age", app, age, ok)
		}
	}
}

func TestScrapeDoesNotWaitForALostNATS(t *testing.T) {
	srv, _, js := workertest.StartNATS(t)
	m := New(js, worker.Config{})
	srv.Shutdown()
	start := time.Now()
	s := scrapeHandler(t, m)
	if took := time.Since(start); took > scrapeTimeout+time.Second {
		t.Errorf("a scrape without NATS took %v, want at most about %v", took, scrapeTimeout)
	}
	if got, _ := s.Value("dingq_scrape_errors_total"); got < 1 {
		t.Errorf("dingq_scrape_errors_total = %v without NATS", got)
	}
	if _, ok := s.Value("dingq_dead_letters"); ok {
		t.Error("dingq_dead_letters served without NATS")
	}
	if _, ok := s.Value("dingq_jobs_total"); !ok {
		t.Error("the worker's own metrics are missing while NATS is down")
	}
}

func TestWithRegistryServesTheCallersRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	own := prometheus.NewCounter(prometheus.CounterOpts{Name: "app_requests_total", Help: "The caller's own."})
	reg.MustRegister(own)
	own.Inc()
	m := New(nil, worker.Config{}, WithRegistry(reg))
	m.Outcome(worker.Outcome{Kind: "card", Result: worker.ResultSent})

	s := scrapeHandler(t, m)
	s.want(t, []want{
		{1, "app_requests_total", nil},
		{1, "dingq_jobs_total", []string{"kind", "card", "outcome", "sent"}},
	})
	if names := append(s.Names("go_"), s.Names("process_")...); len(names) > 0 {
		t.Errorf("metrics registered on the caller's registry add %v", names)
	}
	defer func() {
		if recover() == nil {
			t.Error("a second Metrics on the same registry did not panic")
		}
	}()
	New(nil, worker.Config{}, WithRegistry(reg))
}

// Counting a delivery and timing a send must not allocate: the worker does both for every job.
func TestHotPathDoesNotAllocate(t *testing.T) {
	m := New(nil, worker.Config{})
	s := m.WrapSender(dispatcher.SenderFunc(func(context.Context, dispatcher.Job) error { return nil }))
	ctx, job := context.Background(), dispatcher.Job{Kind: schema.KindCard, ID: "alloc"}
	sent := worker.Outcome{Kind: "card", Result: worker.ResultSent}
	retried := worker.Outcome{Kind: "card", Result: worker.ResultRetried, Code: "systemBusy"}
	m.Outcome(retried) // the code's counter is made once
	if n := testing.AllocsPerRun(100, func() {
		_ = s.Send(ctx, job)
		m.Outcome(sent)
		m.Outcome(retried)
	}); n > 0 {
		t.Errorf("a send and two outcomes allocate %v times, want none", n)
	}
}

// The worker counts every delivery and times every send: both must stay far below a send's cost.
func BenchmarkHotPath(b *testing.B) {
	m := New(nil, worker.Config{})
	s := m.WrapSender(dispatcher.SenderFunc(func(context.Context, dispatcher.Job) error { return nil }))
	job := dispatcher.Job{Kind: schema.KindCard, ID: "bench"}
	sent := worker.Outcome{Kind: "card", Result: worker.ResultSent}
	retried := worker.Outcome{Kind: "card", Result: worker.ResultRetried, Code: "systemBusy"}
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Send(context.Background(), job)
		m.Outcome(sent)
		m.Outcome(retried)
	}
}

// fetchCounting is a sender that says how many token fetches it made.
type fetchCounting struct {
	dispatcher.SenderFunc
	fetches int64
}

func (f fetchCounting) TokenFetches() int64 { return f.fetches }

// scrape is one /metrics answer of the handler under test.
type scrape struct{ metricstest.Scrape }

// want is a value a scrape must hold: the sum of the series of name that carry labels.
type want struct {
	value  float64
	name   string
	labels []string
}

// scrapeHandler scrapes m's handler and parses the text format strictly, with classic names.
func scrapeHandler(t *testing.T, m *Metrics) scrape {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics = %d: %s", rec.Code, rec.Body)
	}
	return scrape{metricstest.Parse(t, rec.Body.String())}
}

func (s scrape) want(t *testing.T, wants []want) {
	t.Helper()
	for _, w := range wants {
		if got, ok := s.Value(w.name, w.labels...); !ok || got != w.value {
			t.Errorf("%s%v = %v (found: %v), want %v", w.name, w.labels, got, ok, w.value)
		}
	}
}
