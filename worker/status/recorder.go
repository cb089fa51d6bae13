package status

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/dispatcher/kv"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
)

// Defaults of [Config].
const (
	DefaultBuffer      = 4096
	DefaultMaxInFlight = 4096
)

const (
	// writeAckTimeout gives up on a bucket write's ack, so that a lost ack does not hold a place
	// in the in-flight window for ever.
	writeAckTimeout = 10 * time.Second
	// warnEvery spaces the warnings about dropped and failed records.
	warnEvery = time.Minute
)

// Config sets up a [Recorder]. The zero value of every field means its default.
type Config struct {
	// Names derives the event subjects and the bucket's name. Default prefix "dingq".
	Names schema.Names
	// Buffer is how many records may wait to be published; a record beyond it is dropped and
	// counted. Default 4096.
	Buffer int
	// MaxInFlight is how many bucket writes may wait for JetStream's ack; a write beyond it is
	// dropped and counted (its event is still published). Default 4096.
	MaxInFlight int
	// Logger receives a warning, at most once a minute, while records are dropped or fail.
	// Default: discard.
	Logger zerolog.Logger
}

func (c Config) withDefaults() Config {
	if c.Buffer <= 0 {
		c.Buffer = DefaultBuffer
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	return c
}

// Stats counts what a [Recorder] could not do.
type Stats struct {
	Dropped uint64 // records, or their bucket writes, dropped rather than waited for
	Failed  uint64 // events and bucket writes that NATS or JetStream refused or did not ack
}

// Recorder publishes records and writes them to the status bucket, off the caller's goroutine.
// [Recorder.Record] never blocks: records queue in a bounded buffer that one goroutine at a time
// drains, started when there is work and gone when there is none, so a Recorder needs no
// stopping.
//
// It does not create the bucket, and never holds a write back for want of having seen it: the
// worker provisions the bucket at start, with every other bucket (worker.Provision). Each write is simply published to the bucket's subject, so
// it is stored as soon as the bucket exists, however late that is; a write made while there is
// none (no JetStream, a cluster still electing its leaders, a NATS user that may not write) fails,
// is counted and warned about, and the event is published all the same. An earlier recorder
// confirmed the bucket itself first and, when that failed (as it does on a fresh cluster), dropped
// every record for a minute although the worker had provisioned the bucket meanwhile. Safe for
// concurrent use.
type Recorder struct {
	cfg      Config
	nc       *nats.Conn
	js       jetstream.JetStream // its own: its async-publish window is the status writes' alone
	kvPrefix string              // "$KV.DINGQ_STATUS."

	mu       sync.Mutex
	queue    []Record
	spare    []Record      // the last drained batch, reused for the next queue
	draining bool          // a drainer runs; it exits only once the queue is empty
	idle     chan struct{} // closed when the drainer exits, for Flush

	unwritten          atomic.Int64 // records queued or being drained, not yet published
	dropped, failed    atomic.Uint64
	dropWarn, failWarn warnLimiter
}

// NewRecorder returns a Recorder publishing on nc. It fails only on a configuration nats.go
// refuses.
func NewRecorder(nc *nats.Conn, cfg Config) (*Recorder, error) {
	cfg = cfg.withDefaults()
	r := &Recorder{cfg: cfg, nc: nc, kvPrefix: "$KV." + cfg.Names.StatusBucket() + "."}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(cfg.MaxInFlight),
		jetstream.WithPublishAsyncTimeout(writeAckTimeout),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, _ *nats.Msg, err error) { r.fail(err) }))
	if err != nil {
		return nil, fmt.Errorf("status recorder: %w", err)
	}
	r.js = js
	return r, nil
}

// Record hands rec over to be published and kept. It never blocks: when the buffer is full, rec
// is dropped and counted.
func (r *Recorder) Record(rec Record) {
	r.mu.Lock()
	if len(r.queue) >= r.cfg.Buffer {
		r.mu.Unlock()
		r.drop("the status buffer is full")
		return
	}
	r.queue = append(r.queue, rec)
	r.unwritten.Add(1)
	start := !r.draining
	r.draining = true
	r.mu.Unlock()
	if start {
		go r.drain()
	}
}

// Flush waits until every record handed over so far is published and its bucket write
// acknowledged or failed, or ctx ends.
func (r *Recorder) Flush(ctx context.Context) error {
	for {
		r.mu.Lock()
		if !r.draining {
			r.mu.Unlock()
			break
		}
		if r.idle == nil {
			r.idle = make(chan struct{})
		}
		idle := r.idle
		r.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case <-r.js.PublishAsyncComplete():
	case <-ctx.Done():
		return ctx.Err()
	}
	return r.nc.FlushWithContext(ctx)
}

// Observe records o, a worker's outcome, if it is final (sent or dead-lettered), and publishes
// the event of a retried attempt: pass it to worker.Deps.OnOutcome. It never blocks the worker.
func (r *Recorder) Observe(o worker.Outcome) {
	if !o.Final() && o.Result != worker.ResultRetried {
		return
	}
	r.Record(Record{JobID: o.JobID, Kind: o.Kind, Outcome: o.Result, Code: o.Code,
		HTTPStatus: o.HTTPStatus, Attempts: o.Attempt, At: o.At, StreamSeq: o.StreamSeq})
}

// Stop waits up to timeout for the records still queued to be published and stored, so that a
// stopping worker keeps the outcomes of its last sends, and returns how many are not. While NATS
// is unreachable it does not wait: nothing could be stored, and a stopping worker must not be
// held up for that.
func (r *Recorder) Stop(timeout time.Duration) int {
	if r.nc.IsConnected() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		_ = r.Flush(ctx)
	}
	return r.Unflushed()
}

// Unflushed returns how many records handed over are not yet published, or whose bucket write
// JetStream has not yet acknowledged: what would be lost if the connection closed now. Records
// dropped or failed are not among them.
func (r *Recorder) Unflushed() int {
	return int(r.unwritten.Load()) + r.js.PublishAsyncPending()
}

// Stats returns the counts so far.
func (r *Recorder) Stats() Stats {
	return Stats{Dropped: r.dropped.Load(), Failed: r.failed.Load()}
}

// drain publishes queued records until the queue is empty, then exits.
func (r *Recorder) drain() {
	var done []Record
	for {
		r.mu.Lock()
		if done != nil {
			r.spare = done[:0]
		}
		batch := r.queue
		if len(batch) == 0 {
			r.draining = false
			if r.idle != nil {
				close(r.idle)
				r.idle = nil
			}
			r.mu.Unlock()
			return
		}
		r.queue, r.spare = r.spare, nil
		r.mu.Unlock()
		for _, rec := range batch {
			r.write(rec)
			r.unwritten.Add(-1)
		}
		clear(batch)
		done = batch
	}
}

// write publishes rec's event and, when the in-flight window has room, its bucket write, without
// waiting for either. A write the bucket cannot take fails later, in the publisher's error
// handler.
func (r *Recorder) write(rec Record) {
	rec.At = rec.At.UTC().Truncate(time.Millisecond)
	data, err := json.Marshal(rec)
	if err != nil { // a Record always encodes
		r.fail(err)
		return
	}
	if err := r.nc.Publish(r.cfg.Names.EventSubject(subjectToken(rec.Kind), rec.Outcome), data); err != nil {
		r.fail(err)
	}
	if rec.Outcome == OutcomeRetried {
		return // an event only: a job's status is its final outcome
	}
	if r.js.PublishAsyncPending() >= r.cfg.MaxInFlight {
		r.drop("too many status writes wait for JetStream")
		return
	}
	m := &nats.Msg{Subject: r.kvPrefix + kv.Token(rec.Kind) + "." + kv.Token(rec.JobID), Data: data} // Key, in one allocation
	if _, err := r.js.PublishMsgAsync(m); err != nil {
		r.fail(err)
	}
}

func (r *Recorder) drop(cause string) {
	n := r.dropped.Add(1)
	if r.dropWarn.allow() {
		r.cfg.Logger.Warn().Str("cause", cause).Uint64("dropped", n).
			Msg("status records dropped: their jobs read as pending and have no event")
	}
}

// fail counts a refused event or write. The warning names the bucket: a write refused with no
// stream response means that it does not exist (yet).
func (r *Recorder) fail(err error) {
	n := r.failed.Add(1)
	if r.failWarn.allow() {
		r.cfg.Logger.Warn().Err(err).Uint64("failed", n).Str("bucket", r.cfg.Names.StatusBucket()).
			Msg("status events or writes failed")
	}
}

// warnLimiter allows one warning per warnEvery. Safe for concurrent use.
type warnLimiter struct{ last atomic.Int64 }

func (w *warnLimiter) allow() bool {
	now, last := time.Now().UnixNano(), w.last.Load()
	if last != 0 && now-last < int64(warnEvery) {
		return false
	}
	return w.last.CompareAndSwap(last, now)
}
