package main

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dingq/dingq/deploy/observability"
	"github.com/dingq/dingq/dispatcher/sandbox"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker/metrics/metricstest"
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
	var s metricstest.Scrape
	waitFor(t, 20*time.Second, "every job decided and the queue drained", func() bool {
		s = getMetrics(t, url)
		return s.Is(cards-1, "dingq_jobs_total", "kind", "card", "outcome", "sent") &&
			s.Is(1, "dingq_jobs_total", "kind", "card", "outcome", "rejected") &&
			s.Is(0, "dingq_consumer_pending_jobs") && s.Is(0, "dingq_consumer_ack_pending_jobs") &&
			s.Is(0, "dingq_oldest_pending_job_age_seconds")
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
		if got, ok := s.Value(c.name, c.labels...); !ok || got != c.want {
			t.Errorf("%s%v = %v (found: %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if got, _ := s.Value("dingq_token_fetches_total"); got < 1 {
		t.Errorf("dingq_token_fetches_total = %v, want at least 1", got)
	}
	// dingq_reprovisioned_total has a series once something was provisioned again
	// (TestReadyzFollowsNATS sees it); every other metric is served from the start.
	want := slices.DeleteFunc(slices.Sorted(slices.Values(observability.MetricNames)), func(n string) bool { return n == "dingq_reprovisioned_total" })
	if got := s.Names("dingq_"); !slices.Equal(got, want) {
		t.Errorf("dingq metrics served:\n%v\nwant deploy/observability's MetricNames:\n%v", got, want)
	}
	if len(s.Names("go_")) == 0 || len(s.Names("process_")) == 0 {
		t.Error("Go's or the process's metrics are missing")
	}
	for _, secret := range []string{appSecret, kdocsToken, fetchToken(t, h.sbURL)} {
		if strings.Contains(s.Text, secret) {
			t.Errorf("/metrics shows the secret %q", secret)
		}
	}
}

// getMetrics scrapes url.
func getMetrics(t *testing.T, url string) metricstest.Scrape {
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
	return metricstest.Parse(t, string(body))
}
