package producer_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/schema/producer"
	"github.com/dingq/dingq/worker"
	"github.com/dingq/dingq/worker/embedded"
)

// A service publishes a card, publishes it again (a retry, say), and tries an invalid one.
func Example() {
	ctx := context.Background()

	// An embedded NATS server stands in for the real one; in production, connect to your NATS
	// and let the dingq workers create the streams.
	dir, err := os.MkdirTemp("", "dingq-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	srv, err := embedded.Start(embedded.Config{Listen: "127.0.0.1:0", StoreDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := worker.Provision(ctx, js, worker.Config{Apps: []string{"sales"}}); err != nil {
		log.Fatal(err)
	}

	p, err := producer.New(js)
	if err != nil {
		log.Fatal(err)
	}
	job := producer.Card(schema.Card{
		CardTemplateID:     "StandardCard",
		OpenConversationID: "cidXXXX==",
		RobotCode:          "dingXXXX",
		OutTrackID:         "order-8812-shipped",
		CardData:           producer.CardData(map[string]string{"title": "Shipped"}),
	})
	for range 2 {
		res, err := p.Publish(ctx, job, producer.WithApp("sales"))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("job %s: stream %s, seq %d, duplicate %v\n", res.JobID, res.Stream, res.Sequence, res.Duplicate)
	}

	// cardData must be JSON in a string (producer.CardData makes it): nothing is published.
	_, err = p.Publish(ctx, producer.Card(schema.Card{
		CardTemplateID:     "StandardCard",
		OpenConversationID: "cidXXXX==",
		RobotCode:          "dingXXXX",
		OutTrackID:         "order-8813-shipped",
		CardData:           "title=Shipped",
	}))
	var invalid *schema.ValidationError
	if errors.As(err, &invalid) {
		fmt.Printf("refused: field %s, rule %s\n", invalid.Field, invalid.Rule)
	}
	// Output:
	// job sales:order-8812-shipped: stream DINGQ_JOBS_SALES, seq 1, duplicate false
	// job sales:order-8812-shipped: stream DINGQ_JOBS_SALES, seq 1, duplicate true
	// refused: field cardData, rule contentMediaType
}
