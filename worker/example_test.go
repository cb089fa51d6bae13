package worker_test

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/fleet"
	"github.com/dingq/dingq/dispatcher/ratelimit"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
)

// A worker built as `dingq serve` builds one: provision, build the fleet's sender on the
// buckets, hand both to the worker, run until the context ends.
func Example() {
	ctx := context.Background()
	nc, err := nats.Connect(nats.DefaultURL)
	if err != nil {
		panic(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		panic(err)
	}
	log := zerolog.Nop()
	cfg := worker.Config{Apps: []string{"sales"}}

	res, err := worker.ProvisionWait(ctx, js, cfg, log)
	if err != nil {
		panic(err)
	}
	sender, err := fleet.New(fleet.Config{
		APIURL: "https://api.dingtalk.com", OAPIURL: "https://oapi.dingtalk.com", KdocsURL: "https://developer.kdocs.cn",
		Apps: map[string]fleet.App{
			"":      {Key: "default-app-key", Secret: "default-app-secret"},
			"sales": {Key: "sales-app-key", Secret: "sales-app-secret"},
		},
		RateAPI:   ratelimit.Rate{N: 20, Per: time.Second},
		RateRobot: ratelimit.Rate{N: 20, Per: time.Minute},
		Client:    dispatcher.NewHTTPClient(64, 10*time.Second),
		Tokens:    res.Tokens, Limits: res.Limits, Logger: log,
	})
	if err != nil {
		panic(err)
	}
	validator, err := schema.NewValidator(schema.ValidatorConfig{})
	if err != nil {
		panic(err)
	}
	w, err := worker.New(js, cfg, worker.Deps{Sender: sender, Resources: res, Validator: validator, Logger: log})
	if err != nil {
		panic(err)
	}
	_ = w.Run(ctx)
}
