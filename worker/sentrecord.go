package worker

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/dingq/dingq/dispatcher/kv"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// sentRecordTimeout bounds one read of the sent-record.
	sentRecordTimeout = 5 * time.Second
	// ackTimeout bounds the wait for JetStream to confirm an ack.
	ackTimeout = 5 * time.Second
	// markSentFor is how long a worker keeps trying to store a record while NATS is away.
	markSentFor = 2 * time.Minute
)

// sentRecord remembers, for SentTTL, the stream sequence of each job that was sent but whose ack
// JetStream did not confirm. Such a job may come back (its ack was lost in a disconnect); it is
// then recognised by its id *and* sequence and acked without a second send. Keying on the sequence
// too means two separate publishes of the same job id (two identical robot messages) are both
// sent: only a redelivery of one message is suppressed.
//
// Records are written only for unconfirmed acks, not before every ack: a write per job doubled
// NATS's work per job (the benchmark's overhead scenario), and a confirmed ack is the stronger
// evidence that a job will not come back.
type sentRecord struct {
	kv jetstream.KeyValue
}

// sentKey is the record's key for j: its kind and id, the id hashed when it is empty, long, or
// holds characters a key may not (see [kv.Token]).
func sentKey(j job) string { return j.kindName + "." + kv.Token(j.id) }

// wasSent reports whether this very message (same id, same stream sequence) was sent.
func (r sentRecord) wasSent(j job) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), sentRecordTimeout)
	defer cancel()
	e, err := r.kv.Get(ctx, sentKey(j))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return string(e.Value()) == strconv.FormatUint(j.streamSeq, 10), nil
}

// markSent records that j was sent, retrying for markSentFor while NATS is unreachable (the
// connection buffers the write and reconnects by itself), and waits for the record to be stored.
func (r sentRecord) markSent(j job) error {
	deadline := time.Now().Add(markSentFor)
	value := []byte(strconv.FormatUint(j.streamSeq, 10))
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 2*time.Second) {
		ctx, cancel := context.WithTimeout(context.Background(), sentRecordTimeout)
		_, err := r.kv.Put(ctx, sentKey(j), value)
		cancel()
		if err == nil || time.Now().Add(delay).After(deadline) {
			return err
		}
		time.Sleep(delay)
	}
}

// recording is the sends of this process whose records are being written (see
// Worker.unconfirmed). A lost ack's job may come back before its record is stored (a new
// consumer leader delivers it again at once, while the bucket still elects its own); when it
// comes back to this process, it is recognised here. Safe for concurrent use.
type recording struct {
	mu   sync.Mutex
	jobs map[string]struct{} // job instances
}

func (r *recording) add(j job) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.jobs == nil {
		r.jobs = make(map[string]struct{})
	}
	r.jobs[j.instance()] = struct{}{}
}

func (r *recording) remove(j job) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.jobs, j.instance())
}

func (r *recording) has(j job) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.jobs[j.instance()]
	return ok
}
