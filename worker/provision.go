package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/dispatcher/ratelimit"
	"github.com/dingq/dingq/dispatcher/token"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker/status"
)

// Resources are the JetStream resources a worker uses, as [Provision] leaves them.
type Resources struct {
	// Jobs is the durable consumer of the job stream, shared by every worker.
	Jobs jetstream.Consumer
	// JobStream is the job stream, for moving a stranded job to the dead letters.
	JobStream jetstream.Stream
	// Advisories is the durable consumer of the max-deliveries advisories.
	Advisories jetstream.Consumer
	// Sent is the bucket that remembers sent jobs, and the deferrals of deferred ones.
	Sent jetstream.KeyValue
	// Limits is the bucket where the fleet shares its rate limits' schedules.
	Limits jetstream.KeyValue
	// Tokens is the bucket where the fleet shares the DingTalk apps' access tokens.
	Tokens jetstream.KeyValue
	// Status is the bucket of jobs' final outcomes, for `dingq status`.
	Status jetstream.KeyValue
}

func (r *Resources) sentRecord() sentRecord { return sentRecord{kv: r.Sent} }

// Provision creates or updates the job stream, the dead-letter stream, the advisory stream, the
// sent-record, rate-limit, token and status buckets, and the durable consumers that cfg describes. It is idempotent: every worker
// calls it at start, and a changed setting (attempts, ack wait, retention) updates the resources
// in place. A change JetStream cannot make in place (a stream's retention or storage) is returned
// as an error that names the resource.
func Provision(ctx context.Context, js jetstream.JetStream, cfg Config) (*Resources, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var res Resources
	for _, sc := range []jetstream.StreamConfig{jobStreamConfig(cfg), deadStreamConfig(cfg), advisoryStreamConfig(cfg)} {
		s, err := js.CreateOrUpdateStream(ctx, sc)
		if err != nil {
			return nil, fmt.Errorf("provision stream %s: %w", sc.Name, err)
		}
		if sc.Name == cfg.Names.JobStream() {
			res.JobStream = s
		}
	}
	buckets := []struct {
		kv  *jetstream.KeyValue
		cfg jetstream.KeyValueConfig
	}{
		{&res.Sent, sentBucketConfig(cfg)},
		{&res.Limits, ratelimit.BucketConfig(cfg.Names.LimitBucket(), cfg.Replicas)},
		{&res.Tokens, token.SharedBucketConfig(cfg.Names.TokenBucket(), cfg.Replicas)},
		// The status recorder only writes to it: it must exist before the first outcome.
		{&res.Status, status.BucketConfig(cfg.Names, cfg.SentTTL, cfg.Replicas)},
	}
	var err error
	for _, b := range buckets {
		if *b.kv, err = js.CreateOrUpdateKeyValue(ctx, b.cfg); err != nil {
			return nil, fmt.Errorf("provision key-value bucket %s: %w", b.cfg.Bucket, err)
		}
	}
	if res.Jobs, err = js.CreateOrUpdateConsumer(ctx, cfg.Names.JobStream(), consumerConfig(cfg)); err != nil {
		return nil, fmt.Errorf("provision consumer %s on %s: %w", cfg.Names.Consumer(), cfg.Names.JobStream(), err)
	}
	if res.Advisories, err = js.CreateOrUpdateConsumer(ctx, cfg.Names.AdvisoryStream(), advisoryConsumerConfig()); err != nil {
		return nil, fmt.Errorf("provision consumer %s on %s: %w", schema.AdvisoryConsumer, cfg.Names.AdvisoryStream(), err)
	}
	return &res, nil
}

// jobStreamConfig is the work queue producers publish to. DiscardNew makes a full stream refuse
// new jobs (the producer sees the error) rather than silently drop queued ones.
func jobStreamConfig(cfg Config) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        cfg.Names.JobStream(),
		Description: "dingq jobs waiting to be sent to DingTalk",
		Subjects:    []string{cfg.Names.SendSubjects()},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardNew,
		Duplicates:  cfg.DuplicateWindow,
		Replicas:    cfg.Replicas,
	}
}

// deadStreamConfig keeps dead letters browsable (limits retention) for DeadLetterMaxAge.
func deadStreamConfig(cfg Config) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        cfg.Names.DeadStream(),
		Description: "dingq jobs that were rejected, invalid or out of attempts",
		Subjects:    []string{cfg.Names.DeadSubjects()},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		MaxAge:      cfg.DeadLetterMaxAge,
		Replicas:    cfg.Replicas,
	}
}

// consumerConfig deliberately sets no BackOff list: retries are driven by NakWithDelay, and a
// BackOff list would replace AckWait and skew those delays. Nor does it set MaxDeliver: JetStream
// counts every delivery, deferrals under a rate limit included, and a job it stopped delivering
// would be stranded. The worker dead-letters a job whose attempts are used up itself, without
// another send, whatever number of deliveries that takes.
func consumerConfig(cfg Config) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       cfg.Names.Consumer(),
		Description:   "dingq workers, shared",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    -1, // the worker counts attempts (see Worker.readState); JetStream counts deferrals too
		MaxAckPending: cfg.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
}

// advisoryStreamConfig captures the job consumer's max-deliveries advisories, which JetStream
// publishes once on core NATS: stored, they reach a worker even if none was listening when the
// advisory fired.
func advisoryStreamConfig(cfg Config) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        cfg.Names.AdvisoryStream(),
		Description: "dingq: jobs stranded at the consumer's max deliveries, to be dead-lettered",
		Subjects:    []string{cfg.Names.MaxDeliveriesSubject()},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		MaxAge:      cfg.DeadLetterMaxAge,
		Replicas:    cfg.Replicas,
	}
}

func advisoryConsumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:     schema.AdvisoryConsumer,
		Description: "dingq workers: move stranded jobs to the dead letters",
		AckPolicy:   jetstream.AckExplicitPolicy,
		AckWait:     30 * time.Second,
	}
}
