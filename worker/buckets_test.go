package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/worker"
)

// Provision is the one registry of the fleet's buckets: each is bounded, on file, keeps one value
// per key, and outlives what it holds (a shared token its 2 hours, a job record SentTTL).
func TestProvisionCreatesEveryBucketToItsPurpose(t *testing.T) {
	e := newEnv(t)
	cfg := testConfig()
	cfg.SentTTL = 90 * time.Minute
	res, err := worker.Provision(context.Background(), e.js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []struct {
		kv     jetstream.KeyValue
		name   string
		minTTL time.Duration
	}{
		{res.Sent, names.SentBucket(), 90 * time.Minute},
		{res.Status, names.StatusBucket(), 90 * time.Minute},
		{res.Tokens, names.TokenBucket(), 2*time.Hour + time.Minute},
		{res.Limits, names.LimitBucket(), 24 * time.Hour},
	} {
		if b.kv == nil {
			t.Errorf("bucket %s: not in the resources", b.name)
			continue
		}
		st, err := b.kv.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		c := st.(*jetstream.KeyValueBucketStatus).StreamInfo().Config
		if st.Bucket() != b.name || st.TTL() < b.minTTL || st.History() != 1 || c.Storage != jetstream.FileStorage || c.MaxBytes <= 0 {
			t.Errorf("bucket %s: name %s, ttl %v (want at least %v), history %d, storage %v, max bytes %d",
				b.name, st.Bucket(), st.TTL(), b.minTTL, st.History(), c.Storage, c.MaxBytes)
		}
	}
}
