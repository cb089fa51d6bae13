package worker_test

import (
	"context"
	"reflect"
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

// The status bucket is written to disk in batches (async persist), and is otherwise the stream
// nats.go makes for a bucket; one created by an earlier version, in the default mode, is kept.
func TestStatusBucketPersistsAsynchronously(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cfg := testConfig()
	if _, err := worker.Provision(ctx, e.js, cfg); err != nil {
		t.Fatal(err)
	}
	st, err := e.js.Stream(ctx, "KV_"+names.StatusBucket())
	if err != nil {
		t.Fatal(err)
	}
	got := st.CachedInfo().Config
	if got.PersistMode != jetstream.AsyncPersistMode {
		t.Errorf("persist mode %v, want async", got.PersistMode)
	}
	// The same bucket as nats.go would make it, under another name.
	twin, err := e.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "TWIN", Description: got.Description,
		TTL: got.MaxAge, MaxBytes: got.MaxBytes, History: 1, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := twin.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := ts.(*jetstream.KeyValueBucketStatus).StreamInfo().Config
	// The server notes in Metadata the API level a setting needs: async persist needs a newer one.
	want.Name, want.Subjects, want.PersistMode, want.Metadata = got.Name, got.Subjects, got.PersistMode, got.Metadata
	if !reflect.DeepEqual(got, want) {
		t.Errorf("status bucket stream\n%+v\nwant, as nats.go makes it,\n%+v", got, want)
	}

	// A bucket of an earlier version, in the default mode: provisioned again, and kept.
	if err := e.js.DeleteKeyValue(ctx, names.StatusBucket()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: names.StatusBucket(), History: 1,
		Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	res, err := worker.Provision(ctx, e.js, cfg)
	if err != nil {
		t.Fatalf("provision over a default-mode status bucket: %v", err)
	}
	if _, err := res.Status.Put(ctx, "card.x", []byte("{}")); err != nil {
		t.Errorf("write to the kept bucket: %v", err)
	}
}
