package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
)

// Resources are the JetStream resources a worker uses, as [Provision] leaves them.
type Resources struct {
	// Queues are the job consumers: one per kind on each app's job stream, shared by every
	// worker.
	Queues []Queue
	// Sent is the bucket that remembers sent jobs, and the deferrals of deferred ones.
	Sent jetstream.KeyValue
	// Limits is the bucket where the fleet shares its rate limits' schedules.
	Limits jetstream.KeyValue
	// Tokens is the bucket where the fleet shares the DingTalk apps' access tokens.
	Tokens jetstream.KeyValue
	// Status is the bucket of jobs' final outcomes, for `dingq status`.
	Status jetstream.KeyValue
}

// Queue is one kind's jobs for one app: a durable consumer on the app's job stream.
type Queue struct {
	App      string // "" for the default app
	Kind     schema.Kind
	Stream   string
	Consumer jetstream.Consumer
}

func (r *Resources) sentRecord() sentRecord { return sentRecord{kv: r.Sent} }

// Provision creates or updates the job streams (one per app), the dead-letter stream, the
// sent-record, rate-limit, token and status buckets, and the durable consumers that cfg describes.
// It is idempotent: every worker calls it at start, and a changed setting (attempts, ack wait,
// sizes) updates the resources in place. A change JetStream cannot make in place (a stream's
// retention or storage) is returned as an error that names the resource.
//
// A job stream that still has the consumer every worker shared before consumers were per kind
// ([schema.ConsumerName]) loses it: on a work queue its deliveries would overlap the per-kind
// consumers'. Its jobs stay in the stream and go to the new consumers; a job waiting out a retry
// or a turn there is delivered again at once, and its attempts are counted afresh.
func Provision(ctx context.Context, js jetstream.JetStream, cfg Config) (*Resources, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var res Resources
	if err := ensureStream(ctx, js, deadStreamConfig(cfg)); err != nil {
		return nil, fmt.Errorf("provision stream %s: %w%s", cfg.Names.DeadStream(), err, storageHint(cfg, err))
	}
	for _, app := range cfg.apps() {
		sc := jobStreamConfig(cfg, app)
		if err := ensureStream(ctx, js, sc); err != nil {
			return nil, fmt.Errorf("provision stream %s: %w%s", sc.Name, err, storageHint(cfg, err))
		}
		if err := js.DeleteConsumer(ctx, sc.Name, schema.ConsumerName); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil, fmt.Errorf("remove the shared consumer %s of an earlier version from %s: %w", schema.ConsumerName, sc.Name, err)
		}
		for _, k := range schema.Kinds() {
			cc := consumerConfig(cfg, k, app)
			c, err := js.CreateOrUpdateConsumer(ctx, sc.Name, cc)
			if err != nil {
				return nil, fmt.Errorf("provision consumer %s on %s: %w", cc.Durable, sc.Name, err)
			}
			res.Queues = append(res.Queues, Queue{App: app, Kind: k, Stream: sc.Name, Consumer: c})
		}
	}
	var err error
	for _, b := range bucketConfigs(cfg, &res) {
		if *b.kv, err = provisionBucket(ctx, js, b.cfg, b.asyncPersist); err != nil {
			return nil, fmt.Errorf("provision key-value bucket %s: %w%s", b.cfg.Bucket, err, storageHint(cfg, err))
		}
	}
	return &res, nil
}

// storageHint explains a refusal for want of storage: every stream and bucket reserves its
// MaxBytes on each server that holds a replica, against the server's and the account's JetStream
// limits. For any other error it is "".
func storageHint(cfg Config, err error) string {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || !strings.Contains(strings.ToLower(apiErr.Description), "insufficient") {
		return ""
	}
	total := int64(len(cfg.apps()))*cfg.JobStreamMaxBytes + cfg.DeadStreamMaxBytes + bucketsMaxBytes
	return fmt.Sprintf(" (the streams and buckets reserve %d MiB per replica: DINGQ_JOBS_MAX_BYTES for each of %d job streams, DINGQ_DEAD_MAX_BYTES, and %d MiB of buckets; lower those, or raise the JetStream max_file_store of the servers or the account)",
		total>>20, len(cfg.apps()), bucketsMaxBytes>>20)
}

// apps lists the apps with a job stream: the default one ("") first.
func (c Config) apps() []string { return append([]string{""}, c.Apps...) }

// jobStreamConfig is the work queue app's producers publish to: one subject per kind, so that a
// job of a kind no consumer takes is refused at its publish. DiscardNew makes a full stream refuse
// new jobs (the producer sees the error) rather than silently drop queued ones.
func jobStreamConfig(cfg Config, app string) jetstream.StreamConfig {
	desc := "dingq jobs waiting to be sent to DingTalk"
	if app != "" {
		desc += ", for the app " + app
	}
	return jetstream.StreamConfig{
		Name:        cfg.Names.JobStreamFor(app),
		Description: desc,
		Subjects:    cfg.Names.JobSubjects(app),
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardNew,
		MaxBytes:    cfg.JobStreamMaxBytes,
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
		Discard:     jetstream.DiscardNew, // a full stream refuses a letter; it never drops one stored
		MaxBytes:    cfg.DeadStreamMaxBytes,
		MaxAge:      cfg.DeadLetterMaxAge,
		Replicas:    cfg.Replicas,
	}
}

// consumerConfig is kind k's consumer on app's job stream. It deliberately sets no BackOff list:
// retries are driven by NakWithDelay, and a BackOff list would replace AckWait and skew those
// delays. Nor does it set MaxDeliver: JetStream counts every delivery, deferrals under a rate
// limit included, and a job it stopped delivering would be stranded; the worker dead-letters a
// job whose attempts are used up itself, without another send, whatever number of deliveries
// that takes.
//
// And it sets no MaxAckPending (-1, no limit). A job waiting for its turn under a rate limit, or
// out a retry delay, is pending on the consumer; with a limit, a flood to one robot (25,000
// alerts at 20 a minute wait for hours) would fill the window and hold every other job of the
// kind back. What a worker holds at once is bounded by its pull size and concurrency instead;
// what the server holds per pending job is a few dozen bytes.
func consumerConfig(cfg Config, k schema.Kind, app string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       cfg.Names.ConsumerFor(k),
		Description:   "dingq workers, shared: " + string(k) + " jobs",
		FilterSubject: cfg.Names.SendSubjectFor(k, app),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    -1, // the worker counts attempts (see Worker.readState); JetStream counts deferrals too
		MaxAckPending: -1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
}

// Queue returns the queue of kind k's jobs for app ("" for the default app), or nil.
func (r *Resources) Queue(app string, k schema.Kind) *Queue {
	for i := range r.Queues {
		if q := &r.Queues[i]; q.App == app && q.Kind == k {
			return q
		}
	}
	return nil
}
