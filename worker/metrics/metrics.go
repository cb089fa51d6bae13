package metrics

import (
	"context"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
)

// The metric names. deploy/observability lists those its dashboard and alerts read; keep the two
// in step. Labels hold kinds, outcomes and codes only: never a job id, token, secret or URL.
const (
	// dingq_jobs_total{kind,outcome}, counter: deliveries by what became of them, outcome one of
	// sent, retried, deferred, handed_back, rejected, exhausted, invalid (worker.Result*).
	metricJobs = "dingq_jobs_total"
	// dingq_send_duration_seconds{kind}, histogram: how long each send took, rate-limit waits
	// included; sends the rate limiter deferred without sending are left out.
	metricSendDuration = "dingq_send_duration_seconds"
	// dingq_dingtalk_codes_total{kind,code}, counter: the codes of failed deliveries (retried,
	// rejected, exhausted, invalid), DingTalk's ("systemBusy", "40035") or dingq's ("timeout").
	// At most maxCodes distinct codes per kind; later ones count as "other".
	metricCodes = "dingq_dingtalk_codes_total"
	// dingq_sends_in_flight, gauge: sends running now in this worker.
	metricInFlight = "dingq_sends_in_flight"
	// dingq_token_fetches_total, counter: refreshes of this worker's access-token caches, failed
	// ones included. Each reads the fleet's shared token and asks DingTalk only when none is live.
	metricTokenFetches = "dingq_token_fetches_total"
	// dingq_consumer_pending_jobs, gauge: jobs in the job stream not yet delivered to any worker.
	metricPending = "dingq_consumer_pending_jobs"
	// dingq_consumer_ack_pending_jobs, gauge: jobs delivered and not yet acknowledged: being
	// sent, or waiting out a retry's backoff or a rate-limit deferral.
	metricAckPending = "dingq_consumer_ack_pending_jobs"
	// dingq_oldest_pending_job_age_seconds, gauge: age of the oldest job still in the job stream
	// (pending, in flight or waiting to be retried); 0 when the stream is empty.
	metricOldestAge = "dingq_oldest_pending_job_age_seconds"
	// dingq_dead_letters, gauge: dead letters stored in the dead-letter stream (kept 14 days).
	metricDeadLetters = "dingq_dead_letters"
	// dingq_deferrals_total{code}, counter: deliveries deferred without a send, by why: waiting
	// for a turn (rate_limit_wait), a target DingTalk blocked (rate_limit_penalty), or the shared
	// rate-limit state unreadable (rate_limit_unavailable: the target's jobs are held, never sent
	// unlimited).
	metricDeferrals = "dingq_deferrals_total"
	// dingq_reprovisioned_total{resource}, counter: streams, buckets and consumers found missing
	// while the worker ran and provisioned again ("stream DINGQ_DEAD", "bucket DINGQ_SENT").
	metricReprovisioned = "dingq_reprovisioned_total"
	// dingq_scrape_errors_total, counter: reads of JetStream's state that failed or timed out
	// during a scrape; the gauge they would have given is left out of that scrape.
	metricScrapeErrors = "dingq_scrape_errors_total"
)

const (
	// maxCodes bounds the code label's values per kind: DingTalk may invent codes.
	maxCodes = 100
	// maxCodeLen is the longest code kept as a label value; longer ones count as "other".
	maxCodeLen = 64
	otherCode  = "other"
	// unknownKind labels jobs on a subject that names no known kind.
	unknownKind = "unknown"
)

// metricKinds are the kind label's values; the index of a kind is its place here.
var metricKinds = append(kindNames(), unknownKind)

// metricResults are the outcome label's values.
var metricResults = []string{worker.ResultSent, worker.ResultRetried, worker.ResultDeferred,
	worker.ResultHandBack, worker.ResultRejected, worker.ResultExhausted, worker.ResultInvalid}

// Metrics is a worker's Prometheus metrics. Every label value of the hot path is resolved once,
// up front, so that counting a delivery is an index and an atomic add. It is safe for concurrent
// use.
type Metrics struct {
	reg      *prometheus.Registry
	jobs     *prometheus.CounterVec
	jobsBy   [][]prometheus.Counter // [kind][result]
	duration []prometheus.Observer  // [kind]
	codes    []*codeCounts          // [kind]
	inFlight prometheus.Gauge
	tokens   tokenCounters
	deferred *prometheus.CounterVec
	repaired *prometheus.CounterVec
}

// Option changes how [New] builds the metrics.
type Option func(*options)

type options struct {
	reg *prometheus.Registry
}

// WithRegistry registers the metrics on reg, beside whatever it holds, instead of on a registry of
// their own with Go's and the process's metrics; [Metrics.Handler] then serves reg. [New] panics if
// reg already holds a family of the same name, as [prometheus.Registry.MustRegister] does: one
// Metrics per registry.
func WithRegistry(reg *prometheus.Registry) Option {
	return func(o *options) { o.reg = reg }
}

// New returns the metrics of a worker that consumes on js the job streams, consumers and dead
// letters cfg describes (cfg.Names and cfg.Apps, as given to [worker.New]). With a nil js the
// queue's state is not read and its gauges are left out.
func New(js jetstream.JetStream, cfg worker.Config, opts ...Option) *Metrics {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	m := &Metrics{
		reg: o.reg,
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricJobs,
			Help: "Deliveries of jobs by kind and outcome (sent, retried, deferred, handed_back, rejected, exhausted, invalid)."},
			[]string{"kind", "outcome"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: metricInFlight,
			Help: "Sends running now in this worker."}),
		deferred: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricDeferrals,
			Help: "Deliveries deferred without a send, by code (rate_limit_wait, rate_limit_penalty, rate_limit_unavailable)."},
			[]string{"code"}),
		repaired: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricReprovisioned,
			Help: "Streams, buckets and consumers found missing while running and provisioned again."},
			[]string{"resource"}),
	}
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: metricSendDuration,
		Help:    "Duration of sends, rate-limit waits included; deferred sends left out.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}},
		[]string{"kind"})
	codes := prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricCodes,
		Help: "Codes of failed deliveries, DingTalk's or dingq's, by kind; at most 100 codes per kind, the rest as \"other\"."},
		[]string{"kind", "code"})
	for _, kind := range metricKinds {
		row := make([]prometheus.Counter, len(metricResults))
		for i, result := range metricResults {
			row[i] = m.jobs.WithLabelValues(kind, result)
		}
		m.jobsBy = append(m.jobsBy, row)
		m.duration = append(m.duration, duration.WithLabelValues(kind))
		m.codes = append(m.codes, newCodeCounts(codes, kind))
	}
	// Known codes start at 0, so that rate() sees the first deferral.
	for _, code := range []string{dispatcher.CodeRateLimitWait, dispatcher.CodeRateLimitPenalty, dispatcher.CodeRateLimitUnavailable} {
		m.deferred.WithLabelValues(code)
	}
	tokens := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: metricTokenFetches,
		Help: "Refreshes of this worker's access-token caches, failed ones included."}, m.tokens.fetches)
	cs := []prometheus.Collector{m.jobs, duration, codes, m.inFlight, tokens, m.deferred, m.repaired}
	if js != nil {
		cs = append(cs, newQueueCollector(js, cfg.Names, cfg.Apps))
	}
	if m.reg == nil {
		m.reg = prometheus.NewRegistry()
		cs = append(cs, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m.reg.MustRegister(cs...)
	return m
}

// Repair counts a stream, bucket or consumer found missing and provisioned again while the worker
// ran; it fits [worker.Deps.OnRepair].
func (m *Metrics) Repair(resource string) { m.repaired.WithLabelValues(resource).Inc() }

// Outcome counts one delivery's outcome, and its code if it failed or was deferred; it fits
// [worker.Deps.OnOutcome].
func (m *Metrics) Outcome(o worker.Outcome) {
	if o.Result == worker.ResultDeferred && len(o.Code) <= maxCodeLen {
		m.deferred.WithLabelValues(o.Code).Inc() // the limiter's few codes
	}
	k := kindIndex(o.Kind)
	if r := resultIndex(o.Result); r >= 0 {
		m.jobsBy[k][r].Inc()
	} else {
		m.jobs.WithLabelValues(metricKinds[k], o.Result).Inc() // a result added since; still bounded
	}
	switch o.Result {
	case worker.ResultRetried, worker.ResultRejected, worker.ResultExhausted, worker.ResultInvalid:
		if o.Code != "" {
			m.codes[k].inc(o.Code)
		}
	}
}

// WrapSender returns s measured: its sends in flight and their durations. If s is a
// [TokenCounter], the metrics report its token fetches too. A nil s stays nil.
func (m *Metrics) WrapSender(s dispatcher.Sender) dispatcher.Sender {
	if s == nil {
		return nil
	}
	if tc, ok := s.(TokenCounter); ok {
		m.tokens.add(tc)
	}
	return measuredSender{next: s, m: m}
}

// Handler serves the metrics' registry in Prometheus's formats, for /metrics. A collector that
// fails leaves its metrics out rather than fail the scrape.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// measuredSender is a sender under measure.
type measuredSender struct {
	next dispatcher.Sender
	m    *Metrics
}

func (s measuredSender) Send(ctx context.Context, job dispatcher.Job) error {
	s.m.inFlight.Inc()
	defer s.m.inFlight.Dec()
	start := time.Now()
	err := s.next.Send(ctx, job)
	if err == nil || dispatcher.DecisionOf(err) != dispatcher.Defer {
		s.m.duration[kindIndex(string(job.Kind))].Observe(time.Since(start).Seconds())
	}
	return err
}

// TokenCounter is a sender that counts the access-token fetches behind it: the refreshes of its
// token caches, failed ones included. [Metrics.WrapSender] reports the fetches of a sender that
// implements it as dingq_token_fetches_total, summed over every sender it wrapped.
type TokenCounter interface {
	// TokenFetches returns how many fetches there have been so far; it must be safe to call
	// concurrently with sends.
	TokenFetches() int64
}

// tokenCounters adds up the token fetches of the senders the metrics wrapped.
type tokenCounters struct {
	mu       sync.Mutex
	counters []TokenCounter
}

func (t *tokenCounters) add(tc TokenCounter) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counters = append(t.counters, tc)
}

func (t *tokenCounters) fetches() float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n int64
	for _, tc := range t.counters {
		n += tc.TokenFetches()
	}
	return float64(n)
}

// codeCounts counts one kind's failure codes: the first maxCodes distinct ones each under its own
// label, any later one as "other", so that codes DingTalk invents cannot grow the label set
// without bound.
type codeCounts struct {
	vec   *prometheus.CounterVec
	kind  string
	other prometheus.Counter

	mu   sync.RWMutex
	seen map[string]prometheus.Counter
}

func newCodeCounts(vec *prometheus.CounterVec, kind string) *codeCounts {
	return &codeCounts{vec: vec, kind: kind, other: vec.WithLabelValues(kind, otherCode), seen: map[string]prometheus.Counter{}}
}

func (c *codeCounts) inc(code string) {
	c.mu.RLock()
	ctr, ok := c.seen[code]
	full := len(c.seen) >= maxCodes
	c.mu.RUnlock()
	switch {
	case ok:
	case full || len(code) > maxCodeLen || !utf8.ValidString(code):
		ctr = c.other
	default:
		ctr = c.add(code)
	}
	ctr.Inc()
}

// add returns the counter of a code not seen yet, or "other"'s if another caller filled the set.
func (c *codeCounts) add(code string) prometheus.Counter {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ctr, ok := c.seen[code]; ok {
		return ctr
	}
	if len(c.seen) >= maxCodes {
		return c.other
	}
	ctr := c.vec.WithLabelValues(c.kind, code)
	c.seen[code] = ctr
	return ctr
}

func kindNames() []string {
	var names []string
	for _, k := range schema.Kinds() {
		names = append(names, string(k))
	}
	return names
}

// kindIndex is kind's place in metricKinds; a kind not known there is "unknown".
func kindIndex(kind string) int {
	for i, k := range metricKinds[:len(metricKinds)-1] {
		if k == kind {
			return i
		}
	}
	return len(metricKinds) - 1
}

// resultIndex is result's place in metricResults, or -1.
func resultIndex(result string) int {
	for i, r := range metricResults {
		if r == result {
			return i
		}
	}
	return -1
}
