package deadletters

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

var (
	// ErrNotJobSubject is returned for a dead letter whose Dingq-Original-Subject is not a job
	// subject of the store's names (dingq.send.card, ...): it cannot be replayed.
	ErrNotJobSubject = errors.New("original subject is not a job subject")
	// ErrTruncated is returned for a dead letter whose body was cut to fit (Dingq-Truncated): its
	// body is only the start of the job's, and a replay would send a broken job. It is kept.
	ErrTruncated = errors.New("its body was truncated to fit the dead-letter stream; replaying it would send a broken job")
	// ErrReplayUnverified is returned when the job stream reported the replay's publish as a
	// duplicate, and the message stored under its id is gone, so it cannot be checked to be an
	// earlier replay of this dead letter. The job stream is a work queue: a job is deleted once
	// a worker acks it (sent, or dead-lettered again), so an earlier replay that was interrupted
	// before its delete and whose job has since run is gone too, but so is anyone else's message
	// published with the same id. The dead letter is kept: deleting it on a guess could lose the
	// job, and an operator can purge it once `dingq status <msg id>` shows the replay ran.
	ErrReplayUnverified = errors.New("the job stream already had this replay's message id, and that job is gone (a work queue deletes a job once it ran), so it cannot be checked to be this dead letter's replay")
	// ErrReplayConflict is returned when the job stream reported the replay's publish as a
	// duplicate, and the message stored under its id is not this dead letter's replay: someone
	// published another message with that id. Nothing of the dead letter was published, and it
	// is kept.
	ErrReplayConflict = errors.New("the job stream already holds another message under this replay's message id")
)

// deleteTimeout bounds the deletion that follows a replay's publish. It is independent of the
// caller's context: once the job is back in the job stream, an interruption should still remove
// the dead letter rather than leave it for a second run.
const deleteTimeout = 10 * time.Second

// Replayed is what one replay did. ([Item] is what a replay of a selection reports of it.)
type Replayed struct {
	Seq     uint64      `json:"seq"` // the dead letter's sequence
	Kind    schema.Kind `json:"kind"`
	JobID   string      `json:"job_id"`  // the dead letter's job id
	Subject string      `json:"subject"` // the job subject it was published to
	MsgID   string      `json:"msg_id"`  // its new Nats-Msg-Id, the replayed job's id
	JobSeq  uint64      `json:"job_seq"` // its sequence in the job stream
	// Duplicate: the job stream already had MsgID, and nothing new was published. When [Store.Replay]
	// returns no error, the message stored under it was checked to be an earlier replay of this
	// dead letter, interrupted before the dead letter was deleted.
	Duplicate bool `json:"duplicate,omitempty"`
}

// ReplayID is the Nats-Msg-Id a replay of l is published with, and so the replayed job's id:
// "replay-<seq>-<job id>", or "replay-<seq>" when l has no job id. It is new, so the job stream's
// duplicate window (which still holds the original id) does not drop it; it is the same for
// every replay of l, so a second replay of l within that window is dropped; and it keeps the
// original job id to search logs by. A job id that is itself a replay's loses that prefix, so
// ids do not grow with each replay, and an app's job id loses its "<app>:" (the worker qualifies
// the replay's id with the app again, from its subject).
func ReplayID(l Letter) string {
	id := "replay-" + strconv.FormatUint(l.Seq, 10)
	if job := originalJobID(l.JobID); job != "" {
		id += "-" + job
	}
	return id
}

// originalJobID strips the app qualifier of an app's job id (see [schema.QualifiedID]) and the
// "replay-<seq>-" prefixes of earlier replays.
func originalJobID(id string) string {
	if app, rest, ok := strings.Cut(id, ":"); ok && schema.ValidateApp(app) == nil {
		id = rest
	}
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
// ack leaves the dead letter in place; replaying it again is safe (see [ReplayID]). A publish the
// job stream reports as a duplicate deletes the dead letter only once the message stored under
// the replay's id is found to be this dead letter's replay; otherwise the dead letter is kept and
// the error wraps [ErrReplayConflict] or [ErrReplayUnverified]. A dead letter no longer there is
// an error wrapping [ErrNotFound]; a truncated one, [ErrTruncated].
func (s *Store) Replay(ctx context.Context, seq uint64) (Replayed, error) {
	l, err := s.Get(ctx, seq)
	if err != nil {
		return Replayed{}, err
	}
	r, err := s.Republish(ctx, l)
	if err != nil {
		return r, err
	}
	if r.Duplicate {
		if err := s.checkReplay(ctx, l, r); err != nil {
			return r, err
		}
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
	defer cancel()
	if err := s.Delete(dctx, seq); err != nil && !errors.Is(err, ErrNotFound) {
		return r, fmt.Errorf("dead letter %d was replayed (job %s) but not deleted: %w", seq, r.MsgID, err)
	}
	return r, nil
}

// Republish publishes l's body to its original job subject (see [Store.jobSubject]) with l's
// headers less the dead-letter ones (the producer's own stay), with Nats-Msg-Id [ReplayID] and with
// Dingq-Replay-Of naming l and its body's hash, and waits for the job stream's ack. It does not
// delete l: that is [Store.Replay]'s second step. A truncated l is refused ([ErrTruncated]).
func (s *Store) Republish(ctx context.Context, l Letter) (Replayed, error) {
	r := Replayed{Seq: l.Seq, Kind: l.Kind, JobID: l.JobID, MsgID: ReplayID(l)}
	if l.Truncated != nil {
		return r, fmt.Errorf("dead letter %d: %w (%s)", l.Seq, ErrTruncated, describeTruncation(l))
	}
	subject, app, err := s.jobSubject(l)
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
	m.Header.Set(schema.HeaderReplayOf, s.replayOf(l))
	ack, err := s.js.PublishMsg(ctx, m, jetstream.WithMsgID(r.MsgID), jetstream.WithExpectStream(s.names.JobStreamFor(app)))
	if err != nil {
		return r, fmt.Errorf("publish dead letter %d to %s: %w", l.Seq, subject, err)
	}
	r.JobSeq, r.Duplicate = ack.Sequence, ack.Duplicate
	return r, nil
}

// replayDrops reports whether a replay leaves header k out: the dead-letter headers, an earlier
// replay's Dingq-Replay-Of (the replay sets its own), JetStream's own Nats-* headers, which would
// deduplicate or constrain the publish, and Dingq-App, which the replay's subject carries instead.
func replayDrops(k string) bool {
	if len(k) >= 5 && strings.EqualFold(k[:5], "Nats-") || strings.EqualFold(k, schema.HeaderReplayOf) || strings.EqualFold(k, schema.HeaderApp) {
		return true
	}
	return slices.ContainsFunc(deadLetterHeaders, func(h string) bool { return strings.EqualFold(h, k) })
}

// replayOf is the Dingq-Replay-Of of l's replay: which dead letter, and its body's hash.
func (s *Store) replayOf(l Letter) string {
	sum := sha256.Sum256(l.Data)
	return "stream=" + s.names.DeadStream() + " seq=" + strconv.FormatUint(l.Seq, 10) + " sha256=" + hex.EncodeToString(sum[:])
}

// checkReplay decides whether a replay of l whose publish was a duplicate may delete l: only
// when the message the job stream holds under the replay's id is l's replay (same subject, so the
// same app, same body, and Dingq-Replay-Of when it has one: a replay by a dingq before that header has
// none). A message that is gone cannot be checked (see [ErrReplayUnverified]); one that is there
// and differs is someone else's ([ErrReplayConflict]). Either way l is kept.
func (s *Store) checkReplay(ctx context.Context, l Letter, r Replayed) error {
	_, app, err := s.names.ParseJobSubject(r.Subject)
	if err != nil {
		return fmt.Errorf("dead letter %d: %w: %q", l.Seq, ErrNotJobSubject, r.Subject)
	}
	jobs, err := s.js.Stream(ctx, s.names.JobStreamFor(app))
	if err != nil {
		return fmt.Errorf("dead letter %d: check the duplicate at job stream seq %d: %w", l.Seq, r.JobSeq, err)
	}
	m, err := jobs.GetMsg(ctx, r.JobSeq)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return fmt.Errorf("dead letter %d kept: %w (msg id %s, job stream seq %d); if `dingq status %s` shows it ran, purge the dead letter",
			l.Seq, ErrReplayUnverified, r.MsgID, r.JobSeq, r.MsgID)
	case errors.Is(err, nats.ErrBadHeaderMsg): // a replay's headers always decode
		return fmt.Errorf("dead letter %d kept: %w (msg id %s, job stream seq %d: its headers cannot be read)", l.Seq, ErrReplayConflict, r.MsgID, r.JobSeq)
	case err != nil:
		return fmt.Errorf("dead letter %d: check the duplicate at job stream seq %d: %w", l.Seq, r.JobSeq, err)
	}
	if why := s.replayDiffers(l, r, m); why != "" {
		return fmt.Errorf("dead letter %d kept: %w (msg id %s, job stream seq %d: %s)", l.Seq, ErrReplayConflict, r.MsgID, r.JobSeq, why)
	}
	return nil
}

// replayDiffers says how m, stored under l's replay id, is not l's replay, or "" when it is.
func (s *Store) replayDiffers(l Letter, r Replayed, m *jetstream.RawStreamMsg) string {
	if m.Subject != r.Subject {
		return "a message on " + m.Subject
	}
	if sha256.Sum256(m.Data) != sha256.Sum256(l.Data) {
		return "a message with another body"
	}
	if of := m.Header.Get(schema.HeaderReplayOf); of != "" && of != s.replayOf(l) {
		return "the replay of another dead letter (" + of + ")"
	}
	return ""
}

// describeTruncation says what a truncated letter's Dingq-Truncated says of the job's body.
func describeTruncation(l Letter) string {
	t := l.Truncated
	if t.Length == 0 && t.SHA256 == "" {
		return fmt.Sprintf("%d bytes kept; %s: %q", len(l.Data), schema.HeaderTruncated, l.Header.Get(schema.HeaderTruncated))
	}
	return fmt.Sprintf("%d of %d bytes kept, original sha256 %s", len(l.Data), t.Length, t.SHA256)
}

// jobSubject is where l is replayed, and the app that subject names: its Dingq-Original-Subject,
// or its kind's job subject when that header is missing. A job from before apps were in subjects
// picked its app with a Dingq-App header on the default app's subject: it is replayed to that
// app's subject.
func (s *Store) jobSubject(l Letter) (subject, app string, err error) {
	subject = l.OriginalSubject
	if subject == "" && l.Kind != "" {
		subject = s.names.SendSubject(l.Kind)
	}
	k, app, err := s.names.ParseJobSubject(subject)
	if err != nil || s.names.SendSubjectFor(k, app) != subject {
		return "", "", fmt.Errorf("dead letter %d: %w: %q", l.Seq, ErrNotJobSubject, subject)
	}
	if h := strings.ToLower(l.Header.Get(schema.HeaderApp)); app == "" && h != "" && h != schema.DefaultApp {
		if err := schema.ValidateApp(h); err != nil {
			return "", "", fmt.Errorf("dead letter %d: its %s header: %w", l.Seq, schema.HeaderApp, err)
		}
		app = h
		subject = s.names.SendSubjectFor(k, app)
	}
	return subject, app, nil
}
