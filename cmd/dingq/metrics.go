package main

import (
	"net/http"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/cmd/internal/config"
	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/worker"
)

// metrics is the worker's Prometheus metrics. (Stub: to be built.)
type metrics struct{}

// newMetrics returns the metrics of a worker on js.
func newMetrics(js jetstream.JetStream, cfg config.Config) *metrics { return &metrics{} }

// outcome counts one delivery's outcome.
func (m *metrics) outcome(o worker.Outcome) {}

// wrap measures the sends of s.
func (m *metrics) wrap(s dispatcher.Sender) dispatcher.Sender { return s }

// handler serves /metrics; nil while there is none.
func (m *metrics) handler() http.Handler { return nil }
