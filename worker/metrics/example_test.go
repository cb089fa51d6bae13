package metrics_test

import (
	"context"
	"net/http"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
	"github.com/dingq/dingq/worker/metrics"
)

// A worker with metrics: count its outcomes and repairs, measure its sender, serve /metrics.
func Example() {
	nc, err := nats.Connect(nats.DefaultURL)
	if err != nil {
		panic(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		panic(err)
	}
	validator, err := schema.NewValidator(schema.ValidatorConfig{})
	if err != nil {
		panic(err)
	}
	var sender dispatcher.Sender = dispatcher.SenderFunc(func(ctx context.Context, job dispatcher.Job) error {
		return nil // send job to DingTalk
	})

	cfg := worker.Config{Apps: []string{"sales"}}
	m := metrics.New(js, cfg)
	w, err := worker.New(js, cfg, worker.Deps{
		Sender:    m.WrapSender(sender),
		OnOutcome: m.Outcome,
		OnRepair:  m.Repair,
		Validator: validator,
	})
	if err != nil {
		panic(err)
	}
	http.Handle("/metrics", m.Handler())
	go func() { _ = http.ListenAndServe("127.0.0.1:9090", nil) }()
	_ = w.Run(context.Background())
}
