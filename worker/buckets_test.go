package worker_test

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
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

// A worker starting on streams and buckets that already match changes none of them: a fleet
// starting at once makes one change, not one per worker. A setting that differs is applied.
func TestProvisionLeavesMatchingStreamsAlone(t *testing.T) {
	e := newEnv(t)
	cfg := testConfig()
	ctx := context.Background()
	if _, err := worker.Provision(ctx, e.js, cfg); err != nil {
		t.Fatal(err)
	}
	var updated atomic.Int64
	var names []string
	var mu sync.Mutex
	sub, err := e.nc.Subscribe("$JS.EVENT.ADVISORY.STREAM.UPDATED.>", func(m *nats.Msg) {
		updated.Add(1)
		mu.Lock()
		names = append(names, m.Subject)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if _, err := worker.Provision(ctx, e.js, cfg); err != nil {
		t.Fatal(err)
	}
	cfg.JobStreamMaxBytes = 64 << 20 // one setting changed: only its stream is updated
	if _, err := worker.Provision(ctx, e.js, cfg); err != nil {
		t.Fatal(err)
	}
	e.waitFor(5*time.Second, "the update's advisory", func() bool { return updated.Load() >= 1 })
	if err := e.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(names) != 1 || !strings.HasSuffix(names[0], "."+cfg.Names.JobStream()) {
		t.Errorf("streams updated: %q; want only %s, once", names, cfg.Names.JobStream())
	}
	s, err := e.js.Stream(ctx, cfg.Names.JobStream())
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config.MaxBytes; got != 64<<20 {
		t.Errorf("job stream MaxBytes = %d, want the new %d", got, 64<<20)
	}
}
