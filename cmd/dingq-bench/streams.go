package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
)

// resetStreams deletes dingq's streams and buckets and provisions them afresh, as a
// worker would at start, so that each run starts from an empty queue and both sides pull from an
// identical consumer. The worker's own provisioning at start then changes nothing.
func (l *lab) resetStreams(ctx context.Context) error {
	for _, s := range []string{l.names.JobStream(), l.names.DeadStream()} {
		if err := l.js.DeleteStream(ctx, s); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("delete stream %s: %w", s, err)
		}
	}
	// Every bucket too: a token left by the previous run's sandbox would be refused, an old
	// schedule would hold turns, and a million status records would weigh on the store.
	for _, b := range []string{l.names.SentBucket(), l.names.LimitBucket(), l.names.TokenBucket(), l.names.StatusBucket()} {
		if err := l.js.DeleteKeyValue(ctx, b); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
			return fmt.Errorf("delete bucket %s: %w", b, err)
		}
	}
	// The defaults match a `dingq serve` that sets none of the consumer's settings.
	if _, err := worker.Provision(ctx, l.js, worker.Config{Names: l.names}); err != nil {
		return err
	}
	return nil
}

// consumerInfo returns the job consumers' state, summed over the kinds: jobs waiting, pending an
// ack, and pull requests waiting (the least of any kind's, so that each worker pulls from each).
func (l *lab) consumerInfo(ctx context.Context) (*jetstream.ConsumerInfo, error) {
	var sum jetstream.ConsumerInfo
	for i, k := range schema.Kinds() {
		c, err := l.js.Consumer(ctx, l.names.JobStream(), l.names.ConsumerFor(k))
		if err != nil {
			return nil, err
		}
		ci, err := c.Info(ctx)
		if err != nil {
			return nil, err
		}
		sum.NumPending += ci.NumPending
		sum.NumAckPending += ci.NumAckPending
		if i == 0 || ci.NumWaiting < sum.NumWaiting {
			sum.NumWaiting = ci.NumWaiting
		}
	}
	return &sum, nil
}

// streamMsgs returns how many messages a stream holds.
func (l *lab) streamMsgs(ctx context.Context, name string) (uint64, error) {
	s, err := l.js.Stream(ctx, name)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}

// waitDrained waits until the job stream is empty and nothing is pending an ack: the last acks
// and dead letters of a run have landed.
func (l *lab) waitDrained(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		msgs, err := l.streamMsgs(ctx, l.names.JobStream())
		if err == nil && msgs == 0 {
			if ci, err := l.consumerInfo(ctx); err == nil && ci.NumAckPending == 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("job stream not drained within %v (%d messages left, err %v)", timeout, msgs, err)
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}
