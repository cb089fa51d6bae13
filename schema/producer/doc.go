// Package producer publishes dingq jobs from Go services: it builds a job body from the schema
// package's types, validates it with the same rules the workers apply, and publishes it to
// JetStream with its job id as Nats-Msg-Id, so that a retried publish is deduplicated.
//
// A job that fails validation never reaches NATS: Publish returns a *[schema.ValidationError]
// naming the field and rule, where a worker would have dead-lettered the job as invalid.
//
// Usage:
//
//	p, err := producer.New(js) // js is a jetstream.JetStream; create one Producer and share it
//	if err != nil { ... }
//	job := producer.Card(schema.Card{
//		CardTemplateID:     "StandardCard",
//		OpenConversationID: "cidXXXX==",
//		RobotCode:          "dingXXXX",
//		OutTrackID:         "order-8812-shipped",
//		CardData:           producer.CardData(map[string]string{"title": "Shipped"}),
//	})
//	res, err := p.Publish(ctx, job, producer.WithApp("sales"))
//	var invalid *schema.ValidationError
//	switch {
//	case errors.As(err, &invalid):
//		// the job is wrong: invalid.Field and invalid.Rule say where; do not retry
//	case err != nil:
//		// NATS did not confirm the publish: retry; the job id makes a retry safe
//	case res.Duplicate:
//		// JetStream already had this job id within its duplicate window and dropped this copy
//	}
//
// [Read] reads a file of jobs (one JSON job per line, as `dingq send` takes) with each job's
// position, for [Producer.PublishBatch]; [Lines] names the lines of those a full stream refused.
//
// The workers create the streams (see worker.Provision); a Producer only publishes.
package producer
