package worker

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
)

// advisoryRetryDelay is how long a max-deliveries advisory waits before it is handled again
// after a failure (NATS trouble, dead-letter stream missing).
const advisoryRetryDelay = 5 * time.Second

// errMaxDeliveries explains a job moved to the dead letters from the max-deliveries advisory.
var errMaxDeliveries = errors.New("the job reached the consumer's max deliveries without an outcome; moved to the dead letters")

// maxDeliveriesAdvisory is the part of JetStream's io.nats.jetstream.advisory.v1.max_deliver
// event that dingq reads.
type maxDeliveriesAdvisory struct {
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
}

// onAdvisory moves a job that JetStream stopped delivering to the dead letters. A job that
// reaches MaxDeliver without an ack stays in a work-queue stream forever, undelivered; this copies
// it to the dead letters (as exhausted), waits for the publish ack, and only then deletes it from
// the job stream. The advisory is acked last, so any failure on the way leaves it to be handled
// again: the dead letter's message id makes a repeated move idempotent.
func (w *Worker) onAdvisory(msg jetstream.Msg) {
	var a maxDeliveriesAdvisory
	if err := json.Unmarshal(msg.Data(), &a); err != nil || a.StreamSeq == 0 {
		w.log.Error().Str("subject", msg.Subject()).Msg("unreadable max-deliveries advisory; dropped")
		_ = msg.Term()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadLetterTimeout)
	defer cancel()
	raw, err := w.res.JobStream.GetMsg(ctx, a.StreamSeq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		_ = msg.Ack() // already moved, or acked after all
		return
	}
	if err != nil {
		w.advisoryFailed(msg, a, "read stranded job", err)
		return
	}
	j := w.newJob(raw.Subject, raw.Data, raw.Header, raw.Sequence, raw.Time)
	if sent, _ := w.res.sentRecord().wasSent(j); sent {
		w.log.Info().Str("job_id", j.id).Str("kind", j.kindName).Msg("stranded job had been sent; removed without a dead letter")
	} else {
		f := failure{reason: schema.ReasonExhausted, err: errMaxDeliveries, attempts: min(int(a.Deliveries), w.cfg.MaxAttempts)}
		code, status, err := w.publishDeadLetter(j, f)
		if err != nil {
			w.advisoryFailed(msg, a, "publish dead letter", err)
			return
		}
		w.logDeadLettered(j, f, code, status)
		w.report(j, ResultExhausted, code, status, f.attempts, 0)
	}
	if err := w.res.JobStream.DeleteMsg(ctx, a.StreamSeq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		w.advisoryFailed(msg, a, "remove stranded job", err)
		return
	}
	_ = msg.Ack()
}

func (w *Worker) advisoryFailed(msg jetstream.Msg, a maxDeliveriesAdvisory, step string, err error) {
	_ = msg.NakWithDelay(advisoryRetryDelay)
	w.log.Error().Err(err).Uint64("stream_seq", a.StreamSeq).Str("step", step).
		Msg("moving a stranded job failed; will try again")
}
