package status

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
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
	// batchEvery is how long records gather before the next batch is published: at most that
	// much later than one by one, and in batches of hundreds under load.
	batchEvery = 10 * time.Millisecond
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
// drains in batches, started when there is work and gone when there is none, so a Recorder needs
// no stopping.
//
// It does not create the bucket, and never holds a write back for want of having seen it: the
// worker provisions the bucket at start, with every other bucket (worker.Provision). Each write
// is simply published to the bucket's subject, so it is stored as soon as the bucket exists,
// however late that is; a write made while there is none (no JetStream, a cluster still electing
// its leaders, a NATS user that may not write) fails, is counted and warned about, and the event
// is published all the same. Safe for concurrent use.
type Recorder struct {
	cfg      Config
	nc       *nats.Conn
	kvPrefix string // "$KV.DINGQ_STATUS."
	acks     string // the inbox under which every batch's answer comes, as <acks>.<writes>
	sub      *nats.Subscription

	mu       sync.Mutex
	queue    []Record
	spare    []Record      // the last drained batch, reused for the next queue
	draining bool          // a drainer runs; it exits only once the queue is empty
	idle     chan struct{} // closed when the drainer exits, for Flush

	// The bucket writes JetStream has not answered yet. A batch's last write asks for the answer,
	// which comes under one inbox and counts the batch, not matched to its writes: a write costs
	// no reply subject, future or timer of its own. Writes unanswered for writeAckTimeout are
	// counted failed (see expireLocked).
	ackMu      sync.Mutex
	inFlight   int
	lastAnswer time.Time     // of the last answer, or the first write since the window was empty
	answered   chan struct{} // closed when inFlight drops to zero, for Flush

	enc    []byte              // the batch being published, encoded; the drainer's alone
	ends   []int               // where each record of the batch ends in enc
	events map[eventKey]string // event subjects by kind and outcome; the drainer's alone

	unwritten          atomic.Int64 // records queued or being drained, not yet published
	dropped, failed    atomic.Uint64
	dropWarn, failWarn warnLimiter
}

// NewRecorder returns a Recorder publishing on nc. It fails only when it cannot subscribe to its
// inbox for the bucket's answers.
func NewRecorder(nc *nats.Conn, cfg Config) (*Recorder, error) {
	cfg = cfg.withDefaults()
	r := &Recorder{cfg: cfg, nc: nc, kvPrefix: "$KV." + cfg.Names.StatusBucket() + ".", acks: nc.NewInbox()}
	sub, err := nc.Subscribe(r.acks+".*", r.onAnswer)
	if err != nil {
		return nil, fmt.Errorf("status recorder: %w", err)
	}
	r.sub = sub
	return r, nil
}

// Record hands rec over to be published and kept. It never blocks: when the buffer is full, rec
// is dropped and counted.
func (r *Recorder) Record(rec Record) {
	r.mu.Lock()
	if len(r.queue) >= r.cfg.Buffer {
		r.mu.Unlock()
		r.drop("the status buffer is full", 1)
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
// answered or given up on, or ctx ends.
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
	if err := r.nc.FlushWithContext(ctx); err != nil {
		return err
	}
	for {
		r.ackMu.Lock()
		r.expireLocked(time.Now())
		if r.inFlight == 0 {
			r.ackMu.Unlock()
			return nil
		}
		if r.answered == nil {
			r.answered = make(chan struct{})
		}
		answered, wait := r.answered, writeAckTimeout-time.Since(r.lastAnswer)
		r.ackMu.Unlock()
		t := time.NewTimer(max(wait, time.Millisecond))
		select {
		case <-answered:
		case <-t.C: // the writes still unanswered are given up on at the next turn
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		t.Stop()
	}
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
// JetStream has not yet answered: what would be lost if the connection closed now. Records
// dropped or failed are not among them.
func (r *Recorder) Unflushed() int {
	r.ackMu.Lock()
	defer r.ackMu.Unlock()
	return int(r.unwritten.Load()) + r.inFlight
}

// Stats returns the counts so far.
func (r *Recorder) Stats() Stats {
	return Stats{Dropped: r.dropped.Load(), Failed: r.failed.Load()}
}

// drain publishes queued records until the queue is empty, then exits. After each batch it
// lets records gather for batchEvery: a batch goes out in a write call or two, where records
// published one by one would cost this process and the NATS server a write and a read each.
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
		r.write(batch)
		clear(batch)
		done = batch
		time.Sleep(batchEvery)
	}
}

// write publishes the events of batch and, when the in-flight window has room, its records'
// bucket writes, without waiting for any. Only the last write asks for JetStream's answer: a
// stream takes one connection's writes in order, so that answer stands for the batch, which its
// reply subject counts (see onAnswer).
func (r *Recorder) write(batch []Record) {
	r.enc, r.ends = r.enc[:0], r.ends[:0]
	writes := 0
	for i := range batch {
		rec := &batch[i]
		rec.At = rec.At.UTC().Truncate(time.Millisecond)
		r.enc = rec.appendJSON(r.enc)
		r.ends = append(r.ends, len(r.enc))
		if rec.Outcome != OutcomeRetried { // a retried attempt is an event only: a job's status is its final outcome
			writes++
		}
	}
	start := 0
	for i, rec := range batch {
		if err := r.nc.Publish(r.eventSubject(rec.Kind, rec.Outcome), r.enc[start:r.ends[i]]); err != nil {
			r.fail(err)
		}
		start = r.ends[i]
	}
	if writes == 0 || !r.admit(writes, len(batch)) {
		r.unwritten.Add(-int64(len(batch)))
		return
	}
	start, left := 0, writes
	for i, rec := range batch {
		data := r.enc[start:r.ends[i]]
		start = r.ends[i]
		if rec.Outcome == OutcomeRetried {
			continue
		}
		subject := r.kvPrefix + kv.Token(rec.Kind) + "." + kv.Token(rec.JobID) // Key, in one allocation
		var err error
		if left--; left > 0 {
			err = r.nc.Publish(subject, data)
		} else {
			err = r.nc.PublishRequest(subject, r.acks+"."+strconv.Itoa(writes), data)
		}
		if err != nil && left == 0 {
			r.answer(writes)
			r.failN(err, writes)
		}
	}
}

// eventKey is what an event's subject depends on.
type eventKey struct{ kind, outcome string }

// maxEventSubjects bounds the drainer's cache of event subjects: there are a few kinds and four
// outcomes.
const maxEventSubjects = 64

// eventSubject returns the subject of the event of an outcome of kind, from the drainer's cache.
func (r *Recorder) eventSubject(kind, outcome string) string {
	k := eventKey{kind, outcome}
	if s, ok := r.events[k]; ok {
		return s
	}
	s := r.cfg.Names.EventSubject(subjectToken(kind), outcome)
	if r.events == nil {
		r.events = make(map[eventKey]string)
	}
	if len(r.events) < maxEventSubjects {
		r.events[k] = s
	}
	return s
}

// admit takes n bucket writes into the in-flight window, and the batch of records they are in
// off the unwritten count at the same moment (see Unflushed), or drops the writes when the window
// is full.
func (r *Recorder) admit(n, records int) bool {
	r.ackMu.Lock()
	now := time.Now()
	r.expireLocked(now)
	if r.inFlight+n > r.cfg.MaxInFlight {
		r.ackMu.Unlock()
		r.drop("too many status writes wait for JetStream", n)
		return false
	}
	if r.inFlight == 0 {
		r.lastAnswer = now // the window's clock starts with its first write
	}
	r.inFlight += n
	r.unwritten.Add(-int64(records))
	r.ackMu.Unlock()
	return true
}

// onAnswer counts JetStream's answer to a batch's last bucket write, which stands for the batch:
// a stored record, an error, or no responders (no bucket, or no JetStream). The batch's size is
// the last token of the reply subject.
func (r *Recorder) onAnswer(m *nats.Msg) {
	n, err := strconv.Atoi(m.Subject[strings.LastIndexByte(m.Subject, '.')+1:])
	if err != nil || n <= 0 {
		return
	}
	if !r.answer(n) {
		return // writes already given up on
	}
	if m.Header.Get("Status") == "503" {
		r.failN(nats.ErrNoResponders, n)
		return
	}
	if bytes.Contains(m.Data, []byte(`"error"`)) {
		var a struct {
			Error *struct {
				Description string `json:"description"`
			} `json:"error"`
		}
		if json.Unmarshal(m.Data, &a) == nil && a.Error != nil {
			r.failN(errors.New(a.Error.Description), n)
		}
	}
}

// answer takes n writes off the in-flight window; it reports false when there were none.
func (r *Recorder) answer(n int) bool {
	r.ackMu.Lock()
	defer r.ackMu.Unlock()
	if r.inFlight == 0 {
		return false
	}
	r.inFlight = max(r.inFlight-n, 0)
	r.lastAnswer = time.Now()
	if r.inFlight == 0 && r.answered != nil {
		close(r.answered)
		r.answered = nil
	}
	return true
}

// expireLocked gives up on the writes in flight when JetStream has answered none for
// writeAckTimeout (answers lost in a reconnect), so that they do not hold the window for ever: they
// are counted failed.
func (r *Recorder) expireLocked(now time.Time) {
	if r.inFlight == 0 || now.Sub(r.lastAnswer) < writeAckTimeout {
		return
	}
	n := r.inFlight
	r.inFlight = 0
	if r.answered != nil {
		close(r.answered)
		r.answered = nil
	}
	r.failN(nats.ErrTimeout, n)
}

// drop counts count records, or their bucket writes, dropped rather than waited for.
func (r *Recorder) drop(cause string, count int) {
	n := r.dropped.Add(uint64(count))
	if r.dropWarn.allow() {
		r.cfg.Logger.Warn().Str("cause", cause).Uint64("dropped", n).
			Msg("status records dropped: their jobs read as pending and have no event")
	}
}

// fail counts a refused event or write. The warning names the bucket: a write refused with no
// stream response means that it does not exist (yet).
func (r *Recorder) fail(err error) { r.failN(err, 1) }

// failN counts n refused events or writes, as fail does.
func (r *Recorder) failN(err error, count int) {
	n := r.failed.Add(uint64(count))
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
