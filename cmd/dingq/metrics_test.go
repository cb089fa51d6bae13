package main

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/dingq/dingq/deploy/observability"
	"github.com/dingq/dingq/dispatcher/sandbox"
	"github.com/dingq/dingq/schema"
)

func TestMetricsCountAWorkersJobs(t *testing.T) {
	const cards = 10
	h := newHarness(t)
	env := h.env()
	for id, preset := range map[string]string{"metrics-00001": sandbox.PresetBusy, "metrics-00002": sandbox.PresetReject} {
		if err := h.sb.AddFault(sandbox.Fault{Kind: schema.KindCard, Contains: `"` + id + `"`, Preset: preset, Times: 1}); err != nil {
			t.Fatal(err)
		}
	}
	h.start(env)
	publishCards(t, h.js, "metrics", cards)

	url := "http://" + env["DINGQ_HTTP_ADDR"] + "/metrics"
	var s metricsScrape
	waitFor(t, 20*time.Second, "every job decided and the queue drained", func() bool {
		s = getMetrics(t, url)
		return s.is(cards-1, "dingq_jobs_total", "kind", "card", "outcome", "sent") &&
			s.is(1, "dingq_jobs_total", "kind", "card", "outcome", "rejected") &&
			s.is(0, "dingq_consumer_pending_jobs") && s.is(0, "dingq_consumer_ack_pending_jobs") &&
			s.is(0, "dingq_oldest_pending_job_age_seconds")
	}, h.out)

	for _, c := range []struct {
		want   float64
		name   string
		labels []string
	}{
		{1, "dingq_jobs_total", []string{"kind", "card", "outcome", "retried"}},
		{0, "dingq_jobs_total", []string{"outcome", "exhausted"}},
		{0, "dingq_jobs_total", []string{"outcome", "invalid"}},
		{1, "dingq_dead_letters", nil},
		// Every send is timed: the cards sent, the busy one's failed first try, the rejected one.
		{cards + 1, "dingq_send_duration_seconds", []string{"kind", "card"}},
		{1, "dingq_dingtalk_codes_total", []string{"kind", "card", "code", "systemBusy"}},
		{1, "dingq_dingtalk_codes_total", []string{"kind", "card", "code", "chatbotNotInstall"}},
		{0, "dingq_sends_in_flight", nil},
		{0, "dingq_scrape_errors_total", nil},
	} {
		if got, ok := s.value(c.name, c.labels...); !ok || got != c.want {
			t.Errorf("%s%v = %v (found: %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if got, _ := s.value("dingq_token_fetches_total"); got < 1 {
		t.Errorf("dingq_token_fetches_total = %v, want at least 1", got)
	}
	// dingq_reprovisioned_total has a series once something was provisioned again
	// (TestReadyzFollowsNATS sees it); every other metric is served from the start.
	want := slices.DeleteFunc(slices.Sorted(slices.Values(observability.MetricNames)), func(n string) bool { return n == "dingq_reprovisioned_total" })
	if got := s.names("dingq_"); !slices.Equal(got, want) {
		t.Errorf("dingq metrics served:\n%v\nwant deploy/observability's MetricNames:\n%v", got, want)
	}
	if len(s.names("go_")) == 0 || len(s.names("process_")) == 0 {
		t.Error("Go's or the process's metrics are missing")
	}
	for _, secret := range []string{appSecret, kdocsToken, fetchToken(t, h.sbURL)} {
		if strings.Contains(s.body, secret) {
			t.Errorf("/metrics shows the secret %q", secret)
		}
	}
}

// metricsScrape is one /metrics answer: the families' series, and the text.
type metricsScrape struct {
	body     string
	families map[string][]metricSeries
}

type metricSeries struct {
	labels map[string]string
	value  float64 // a counter's or gauge's value, a histogram's count
}

func getMetrics(t *testing.T, url string) metricsScrape {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return parseMetrics(t, string(body))
}

// parseMetrics parses the text format strictly, with classic metric names.
func parseMetrics(t *testing.T, body string) metricsScrape {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	s := metricsScrape{body: body, families: map[string][]metricSeries{}}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			// Only the field of the family's type is set; the others read as zero.
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue() + m.GetUntyped().GetValue() +
				float64(m.GetHistogram().GetSampleCount())
			s.families[name] = append(s.families[name], metricSeries{labels: labels, value: v})
		}
	}
	return s
}

// value sums the series of the family name that carry every label name and value of kv; ok is
// false when there is none.
func (s metricsScrape) value(name string, kv ...string) (v float64, ok bool) {
	for _, sr := range s.families[name] {
		if sr.has(kv) {
			v, ok = v+sr.value, true
		}
	}
	return v, ok
}

func (s metricsScrape) is(want float64, name string, kv ...string) bool {
	v, ok := s.value(name, kv...)
	return ok && v == want
}

// names lists the families whose names start with prefix, sorted.
func (s metricsScrape) names(prefix string) []string {
	var names []string
	for name := range s.families {
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func (sr metricSeries) has(kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		if sr.labels[kv[i]] != kv[i+1] {
			return false
		}
	}
	return true
}
