package ratelimit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/dispatcher"
)

// Inspect shows a penalized robot first with its penalty's end, a target's reserved turns as its
// next free turn, a hashed key without a target, and an unreadable value as such.
func TestInspect(t *testing.T) {
	url := startNATS(t)
	start := time.Now()
	now := start // the limiter's clock, so that the times it writes are known exactly
	l, bucket := newLimiter(t, url, Config{Now: func() time.Time { return now }})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// A robot DingTalk blocked.
	const blocked = "robot.webhook.0123456789abcdef"
	if err := l.Penalize(ctx, blocked, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	// An API whose first send took the turn at now and whose second reserved the next, a minute on.
	const api = "api.fedcba9876543210.card"
	r := Rate{N: 1, Per: time.Minute}
	if err := l.Wait(ctx, api, r); err != nil {
		t.Fatalf("first send: %v", err)
	}
	err := l.Wait(ctx, api, r)
	var de *dispatcher.Error
	if !errors.As(err, &de) || de.Decision != dispatcher.Defer || de.Turn.IsZero() {
		t.Fatalf("second send: %v, want a deferral with a reserved turn", err)
	}
	// A target whose key is hashed.
	const odd = "robot.robot.ops alerts"
	if err := l.Wait(ctx, odd, r); err != nil {
		t.Fatal(err)
	}
	// A value the limiter cannot read.
	if _, err := bucket.Put(ctx, "garbled", []byte("not a schedule")); err != nil {
		t.Fatal(err)
	}

	got, err := Inspect(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now()
	keys := make([]string, len(got))
	for i, s := range got {
		keys[i] = s.Key
		if s.Updated.Before(start.Add(-time.Second)) || s.Updated.After(end.Add(time.Second)) || s.Revision == 0 {
			t.Errorf("%s: updated %v, revision %d; want a write between %v and %v", s.Key, s.Updated, s.Revision, start, end)
		}
	}
	if want := []string{blocked, api, "garbled", BucketKey(odd)}; strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Fatalf("keys %q, want %q: the penalized target first, then by key", keys, want)
	}

	pen := got[0]
	if pen.Target != blocked || !pen.Penalty.Equal(start.Add(10*time.Minute)) || !pen.Penalized(end) || !pen.Next.IsZero() {
		t.Errorf("penalized robot: %+v, want penalty until %v and no turn taken", pen, start.Add(10*time.Minute))
	}
	limited := got[1]
	if limited.Target != api || !limited.Next.Equal(de.Turn.Add(l.interval(r))) || !limited.Penalty.IsZero() || limited.Penalized(end) {
		t.Errorf("api: %+v, want its next free turn one interval after the reserved %v", limited, de.Turn)
	}
	if g := got[2]; !g.Unreadable || !g.Next.IsZero() {
		t.Errorf("unreadable value: %+v", g)
	}
	hashed := got[3]
	if !strings.HasPrefix(hashed.Key, "sha256-") || hashed.Target != "" || !hashed.Next.After(start) {
		t.Errorf("hashed key: %+v, want no target read back and a turn taken", hashed)
	}

	// Printed and marshalled, the state shows its times.
	if s := pen.String(); !strings.Contains(s, blocked) || !strings.Contains(s, "penalty until "+pen.Penalty.Format(time.RFC3339Nano)) {
		t.Errorf("String() = %q", s)
	}
	b, err := json.Marshal(limited)
	if err != nil {
		t.Fatal(err)
	}
	var back TargetState
	if err := json.Unmarshal(b, &back); err != nil || !back.Next.Equal(limited.Next) || strings.Contains(string(b), `"penalty"`) {
		t.Errorf("json %s: read back %+v, %v; want next and no penalty", b, back, err)
	}
}

func TestInspectEmptyAndMissingBucket(t *testing.T) {
	url := startNATS(t)
	_, bucket := newLimiter(t, url, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	got, err := Inspect(ctx, bucket)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("empty bucket: %v, %v; want an empty slice", got, err)
	}

	// A key deleted is no target.
	if _, err := bucket.Put(ctx, "robot.webhook.x", []byte("0 0")); err != nil {
		t.Fatal(err)
	}
	if err := bucket.Delete(ctx, "robot.webhook.x"); err != nil {
		t.Fatal(err)
	}
	if got, err := Inspect(ctx, bucket); err != nil || len(got) != 0 {
		t.Errorf("bucket with a deleted key: %v, %v; want an empty slice", got, err)
	}

	if err := jetStream(t, url).DeleteKeyValue(ctx, bucket.Bucket()); err != nil {
		t.Fatal(err)
	}
	_, err = Inspect(ctx, bucket)
	if !errors.Is(err, jetstream.ErrBucketNotFound) || !strings.Contains(err.Error(), bucket.Bucket()) {
		t.Errorf("missing bucket: %v, want an error that matches ErrBucketNotFound and names the bucket", err)
	}
}

// More entries than the watcher buffers are all read, and the watch ends cleanly.
func TestInspectManyTargets(t *testing.T) {
	url := startNATS(t)
	_, bucket := newLimiter(t, url, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const n = 600
	for i := range n {
		if _, err := bucket.Put(ctx, fmt.Sprintf("robot.webhook.%04d", i), []byte("0 0")); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Inspect(ctx, bucket)
	if err != nil || len(got) != n {
		t.Fatalf("Inspect() = %d targets, %v; want %d", len(got), err, n)
	}
	for i, s := range got {
		if want := fmt.Sprintf("robot.webhook.%04d", i); s.Key != want || s.Target != want {
			t.Fatalf("target %d is %+v, want %s", i, s, want)
		}
	}
}
