package deadletters

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
)

// ErrNotJobSubject is returned for a dead letter whose Dingq-Original-Subject is not a job subject
// of the store's names (dingq.send.card, ...): it cannot be replayed.
var ErrNotJobSubject = errors.New("original subject is not a job subject")

// deleteTimeout bounds the deletion that follows a replay's publish. It is independent of the
// caller's context: once the job is back in the job stream, an interruption should still remove
// the dead letter rather than leave it for a second run.
const deleteTimeout = 10 * time.Second

// Replayed is what one replay did. Its JSON form is a line of `dingq dlq replay --json`.
type Replayed struct {
	Seq     uint64      `json:"seq"` // the dead letter's sequence
	Kind    schema.Kind `json:"kind"`
	JobID   string      `json:"job_id"`  // the dead letter's job id
	Subject string      `json:"subject"` // the job subject it was published to
	MsgID   string      `json:"msg_id"`  // its new Nats-Msg-Id, the replayed job's id
	JobSeq  uint64      `json:"job_seq"` // its sequence in the job stream
	// Duplicate: the job stream already had MsgID, from an earlier replay of this dead letter
	// that was interrupted before the dead letter was deleted. Nothing new was published.
	Duplicate bool `json:"duplicate,omitempty"`
}

// ReplayID is the Nats-Msg-Id a replay of l is published with, and so the replayed job's id:
// "replay-<seq>-<job id>", or "replay-<seq>" when l has no job id. It is new, so the job stream's
// duplicate window (which still holds the original id) does not drop it; it is the same for
// every replay of l, so a second replay of l within that window is dropped; and it keeps the
// original job id to search logs by. A job id that is itself a replay's loses that prefix, so
// ids do not grow with each replay.
func ReplayID(l Letter) string {
	id := "replay-" + strconv.FormatUint(l.Seq, 10)
	if job := originalJobID(l.JobID); job != "" {
		id += "-" + job
	}
	return id
}

// originalJobID strips the "replay-<seq>-" prefixes of earlier replays.
func originalJobID(id string) string {
	for {
		rest, ok := strings.CutPrefix(id, "replay-")
		if !ok {
			return id
		}
		digits := len(rest) - len(strings.TrimLeft(rest, "0123456789"))
		if digits == 0 || digits == len(rest) || rest[digits] != '-' {
			return id
		}
		id = rest[digits+1:]
	}
}

// Replay puts the dead letter at seq back on its job subject and removes it: it publishes (see
// [Store.Republish]), waits for the publish ack, then deletes the dead letter. An error before the
// ack leaves the dead letter in place; replaying it again is safe (see [ReplayID]). A dead letter
// no longer there is an error wrapping [ErrNotFound].
func (s *Store) Replay(ctx context.Context, seq uint64) (Replayed, error) {
	l, err := s.Get(ctx, seq)
	if err != nil {
		return Replayed{}, err
	}
	r, err := s.Republish(ctx, l)
	if err != nil {
		return r, err
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
	defer cancel()
	if err := s.Delete(dctx, seq); err != nil && !errors.Is(err, ErrNotFound) {
		return r, fmt.Errorf("dead letter %d was replayed (job %s) but not deleted: %w", seq, r.MsgID, err)
	}
	return r, nil
}

// Republish publishes l's body to its original job subject with l's headers less the dead-letter
// ones (Dingq-App and the producer's own stay) and with Nats-Msg-Id [ReplayID], and waits for the
// job stream's ack. It does not delete l: that is [Store.Replay]'s second step.
func (s *Store) Republish(ctx context.Context, l Letter) (Replayed, error) {
	r := Replayed{Seq: l.Seq, Kind: l.Kind, JobID: l.JobID, MsgID: ReplayID(l)}
	subject, err := s.jobSubject(l)
	if err != nil {
		return r, err
	}
	r.Subject = subject
	m := nats.NewMsg(subject)
	m.Data = l.Data
	for k, vs := range l.Header {
		if !replayDrops(k) {
			m.Header[k] = slices.Clone(vs)
		}
	}
	ack, err := s.js.PublishMsg(ctx, m, jetstream.WithMsgID(r.MsgID), jetstream.WithExpectStream(s.names.JobStream()))
	if err != nil {
		return r, fmt.Errorf("publish dead letter %d to %s: %w", l.Seq, subject, err)
	}
	r.JobSeq, r.Duplicate = ack.Sequence, ack.Duplicate
	return r, nil
}

// replayDrops reports whether a replay leaves header k out: the dead-letter headers, and
// JetStream's own Nats-* headers, which would deduplicate or constrain the publish.
func replayDrops(k string) bool {
	if len(k) >= 5 && strings.EqualFold(k[:5], "Nats-") {
		return true
	}
	return slices.ContainsFunc(deadLetterHeaders, func(h string) bool { return strings.EqualFold(h, k) })
}

// jobSubject is where l is replayed: its Dingq-Original-Subject, or its kind's job subject when
// that header is missing.
func (s *Store) jobSubject(l Letter) (string, error) {
	subject := l.OriginalSubject
	if subject == "" && l.Kind != "" {
		subject = s.names.SendSubject(l.Kind)
	}
	if k, err := s.names.KindOf(subject); err != nil || s.names.SendSubject(k) != subject {
		return "", fmt.Errorf("dead letter %d: %w: %q", l.Seq, ErrNotJobSubject, subject)
	}
	return subject, nil
}
