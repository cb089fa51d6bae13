package main

import (
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/cmd/internal/config"
	"github.com/dingq/dingq/dispatcher/fleet"
	"github.com/dingq/dingq/worker/metrics"
)

// newMetrics returns the metrics of the worker cfg describes, consuming on js, served on
// DINGQ_HTTP_ADDR at /metrics beside Go's and the process's. deploy/observability lists their
// names for its dashboard and alerts.
func newMetrics(js jetstream.JetStream, cfg config.Config) *metrics.Metrics {
	return metrics.New(js, cfg.Worker())
}

// newSender's senders count their token fetches, for dingq_token_fetches_total.
var _ metrics.TokenCounter = (*fleet.Sender)(nil)
