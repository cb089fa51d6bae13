package metrics

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dingq/dingq/schema"
)

// scrapeTimeout bounds the JetStream reads of one scrape.
const scrapeTimeout = 2 * time.Second

// queueCollector reads the queue's state from JetStream at each scrape: the consumers' pending
// and unacknowledged jobs, the oldest job's age and the dead letters. Each scrape's reads share
// scrapeTimeout; a read that fails leaves its gauges out and counts a scrape error, so that a
// NATS outage never holds up the scrape.
type queueCollector struct {
	js      jetstream.JetStream
	names   schema.Names
	apps    []string // "" for the default app
	timeout time.Duration
	errors  atomic.Uint64

	pending, ackPending, oldest, dead, scrapeErrors *prometheus.Desc
}

func newQueueCollector(js jetstream.JetStream, names schema.Names, apps []string) *queueCollector {
	return &queueCollector{js: js, names: names, apps: append([]string{""}, apps...), timeout: scrapeTimeout,
		pending: prometheus.NewDesc(metricPending,
			"Jobs in an app's job stream of one kind not yet delivered to any worker.", []string{"app", "kind"}, nil),
		ackPending: prometheus.NewDesc(metricAckPending,
			"Jobs of an app and kind delivered and not yet acknowledged: being sent, or waiting out a retry's backoff or a rate-limit deferral.", []string{"app", "kind"}, nil),
		oldest: prometheus.NewDesc(metricOldestAge,
			"Age of the oldest job in an app's job stream; 0 when it is empty.", []string{"app"}, nil),
		dead: prometheus.NewDesc(metricDeadLetters,
			"Dead letters stored in the dead-letter stream.", nil, nil),
		scrapeErrors: prometheus.NewDesc(metricScrapeErrors,
			"Reads of JetStream's state that failed during a scrape.", nil, nil),
	}
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.pending, c.ackPending, c.oldest, c.dead, c.scrapeErrors} {
		ch <- d
	}
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	for _, app := range c.apps {
		label := app
		if label == "" {
			label = schema.DefaultApp
		}
		stream := c.names.JobStreamFor(app)
		for _, k := range schema.Kinds() {
			if cons, err := c.js.Consumer(ctx, stream, c.names.ConsumerFor(k)); c.ok(err) {
				info := cons.CachedInfo()
				ch <- gauge(c.pending, float64(info.NumPending), label, string(k))
				ch <- gauge(c.ackPending, float64(info.NumAckPending), label, string(k))
			}
		}
		if jobs, err := c.js.Stream(ctx, stream); c.ok(err) {
			age := 0.0
			if st := jobs.CachedInfo().State; st.Msgs > 0 {
				age = max(0, time.Since(st.FirstTime).Seconds())
			}
			ch <- gauge(c.oldest, age, label)
		}
	}
	if dead, err := c.js.Stream(ctx, c.names.DeadStream()); c.ok(err) {
		ch <- gauge(c.dead, float64(dead.CachedInfo().State.Msgs))
	}
	ch <- prometheus.MustNewConstMetric(c.scrapeErrors, prometheus.CounterValue, float64(c.errors.Load()))
}

// ok counts err, if any, as a scrape error.
func (c *queueCollector) ok(err error) bool {
	if err != nil {
		c.errors.Add(1)
	}
	return err == nil
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}
