package main

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/cmd/internal/config"
	"github.com/dingq/dingq/worker"
)

// statusRecorder publishes each job's final outcome as an event and keeps it for `dingq status`.
// (Stub: to be built.)
type statusRecorder struct{}

func newStatusRecorder(js jetstream.JetStream, cfg config.Config, log zerolog.Logger) *statusRecorder {
	return &statusRecorder{}
}

// outcome records o if it is final.
func (s *statusRecorder) outcome(o worker.Outcome) {}

// statusCmd is `dingq status <job-id>`.
func statusCmd(ctx context.Context, args []string, io stdio) error {
	return errors.New("not built yet")
}
