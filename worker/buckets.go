package worker

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The key-value buckets of a dingq fleet, in one place. [Provision] creates them all, the
// watchdog provisions them again when one goes missing, and each subsystem is handed its bucket
// ready ([Resources]): none of them creates or configures storage of its own. Each keeps the
// latest value of a key only, on file, so that it outlives a NATS restart.
//
// A full bucket refuses writes: a full sent-record or status bucket loses records (logged and
// counted), a full limit bucket defers sends until it has room.
const (
	sentBucketMaxBytes   = 256 << 20
	statusBucketMaxBytes = 256 << 20
	limitBucketMaxBytes  = 16 << 20
	tokenBucketMaxBytes  = 1 << 20
	bucketsMaxBytes      = sentBucketMaxBytes + statusBucketMaxBytes + limitBucketMaxBytes + tokenBucketMaxBytes
)

const (
	// limitBucketTTL forgets a rate-limit target a day after its last use. A target's schedule
	// must not reach further ahead than that: at 20 a minute, a robot would need 28,800 queued
	// jobs.
	limitBucketTTL = 24 * time.Hour
	// tokenBucketTTL removes a shared access token 3 hours after it was written, past the 2 hours
	// DingTalk's tokens live.
	tokenBucketTTL = 3 * time.Hour
)

// bucketConfigs are the buckets cfg describes, with the field of [Resources] each one fills.
func bucketConfigs(cfg Config, res *Resources) []struct {
	kv           *jetstream.KeyValue
	cfg          jetstream.KeyValueConfig
	asyncPersist bool // see provisionBucket
} {
	bucket := func(name, desc string, ttl time.Duration, maxBytes int64) jetstream.KeyValueConfig {
		return jetstream.KeyValueConfig{
			Bucket:      name,
			Description: "dingq: " + desc,
			TTL:         ttl,
			MaxBytes:    maxBytes,
			History:     1,
			Storage:     jetstream.FileStorage,
			Replicas:    max(cfg.Replicas, 1),
		}
	}
	n := cfg.Names
	return []struct {
		kv           *jetstream.KeyValue
		cfg          jetstream.KeyValueConfig
		asyncPersist bool // see provisionBucket
	}{
		{&res.Sent, bucket(n.SentBucket(), "jobs sent, so a redelivery is not sent twice, and the deferrals of deferred ones",
			cfg.SentTTL, sentBucketMaxBytes), false},
		{&res.Limits, bucket(n.LimitBucket(), "each send target's next free turn and penalty, shared by the fleet",
			limitBucketTTL, limitBucketMaxBytes), false},
		{&res.Tokens, bucket(n.TokenBucket(), "DingTalk access tokens shared by the workers; secrets, restrict access",
			tokenBucketTTL, tokenBucketMaxBytes), false},
		// The status recorder only writes to it: it must exist before the first outcome. A
		// record older than SentTTL is gone, and its job reads as pending. A record per job
		// sent: written to disk in batches.
		{&res.Status, bucket(n.StatusBucket(), "each job's final outcome, for dingq status",
			cfg.SentTTL, statusBucketMaxBytes), true},
	}
}

// bucketNames are the names of the buckets cfg describes.
func bucketNames(cfg Config) []string {
	var out []string
	for _, b := range bucketConfigs(cfg, &Resources{}) {
		out = append(out, b.cfg.Bucket)
	}
	return out
}

// provisionBucket creates or updates the bucket kc describes. A bucket with asyncPersist lets
// the server write its records to disk in batches, not with a write call each (JetStream's async
// persist mode, server 2.12 and later): a record acknowledged in the moment before the server is
// killed hard may be lost, which suits a bucket that only reports. Replicated streams flush that
// way already. The mode is chosen at creation: a bucket created by an earlier dingq keeps the
// default, and works as before.
func provisionBucket(ctx context.Context, js jetstream.JetStream, kc jetstream.KeyValueConfig, asyncPersist bool) (jetstream.KeyValue, error) {
	sc := kvStreamConfig(kc)
	if asyncPersist {
		sc.PersistMode = jetstream.AsyncPersistMode
	}
	if err := ensureStream(ctx, js, sc); err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == errCodePersistModeFixed {
			return js.CreateOrUpdateKeyValue(ctx, kc)
		}
		return nil, err
	}
	return js.KeyValue(ctx, kc.Bucket)
}

// errCodePersistModeFixed is JetStream's error code for a stream update that changes the
// persist mode.
const errCodePersistModeFixed = 10052

// kvStreamConfig is the stream nats.go's CreateOrUpdateKeyValue makes for kc, as far as dingq's
// buckets set it.
func kvStreamConfig(kc jetstream.KeyValueConfig) jetstream.StreamConfig {
	dup := 2 * time.Minute
	if kc.TTL > 0 && kc.TTL < dup {
		dup = kc.TTL
	}
	maxBytes := kc.MaxBytes
	if maxBytes == 0 {
		maxBytes = -1
	}
	return jetstream.StreamConfig{
		Name:              "KV_" + kc.Bucket,
		Description:       kc.Description,
		Subjects:          []string{"$KV." + kc.Bucket + ".>"},
		MaxMsgsPerSubject: int64(max(kc.History, 1)),
		MaxBytes:          maxBytes,
		MaxAge:            kc.TTL,
		MaxMsgSize:        -1,
		Storage:           kc.Storage,
		Replicas:          max(kc.Replicas, 1),
		AllowRollup:       true,
		DenyDelete:        true,
		Duplicates:        dup,
		MaxMsgs:           -1,
		MaxConsumers:      -1,
		AllowDirect:       true,
		Discard:           jetstream.DiscardNew,
	}
}
