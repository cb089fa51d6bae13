// Package observability holds dingq's Grafana dashboard and Prometheus alert rules, and the names
// of the metrics a worker serves, against which its tests check both files. cmd/dingq's tests
// check that a worker serves exactly these names.
package observability

// MetricNames are the metric families `dingq serve` exports on DINGQ_HTTP_ADDR at /metrics, beside
// Go's (go_*) and the process's (process_*). A histogram's series add _bucket, _sum and _count.
var MetricNames = []string{
	"dingq_jobs_total",
	"dingq_send_duration_seconds",
	"dingq_dingtalk_codes_total",
	"dingq_sends_in_flight",
	"dingq_token_fetches_total",
	"dingq_consumer_pending_jobs",
	"dingq_consumer_ack_pending_jobs",
	"dingq_oldest_pending_job_age_seconds",
	"dingq_dead_letters",
	"dingq_scrape_errors_total",
	"dingq_deferrals_total",
	"dingq_reprovisioned_total",
}
