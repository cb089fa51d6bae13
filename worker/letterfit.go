package worker

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
)

// A dead letter must always be storable: a job whose letter cannot be published is neither
// sent nor dead-lettered, and stays in the work queue forever. Two things can stop the publish
// of a letter that copies the job: a header name the job's producer could send but nats.go will
// not publish, and the Dingq-* headers pushing a job that filled the server's max payload over
// it. letterMsg and its fit below take both out of the way, and say so in the letter.

const (
	// maxDroppedList bounds Dingq-Dropped-Headers; names past it are only counted.
	maxDroppedList = 1024
	// maxJobIDHeader bounds Dingq-Job-Id. A job id is its producer's Nats-Msg-Id, of any length;
	// one longer is cut and ends in the hash of the whole id, so that it still names one job.
	maxJobIDHeader = 1024
	// freshIDRoom is the room a letter keeps for the suffix of a fresh message id (see
	// [Worker.storeLetter]), so that the letter fits under either id.
	freshIDRoom = len("-") + 26
)

// errLetterTooLarge is returned for a letter that cannot fit in the server's max payload even
// without the job's headers and body: a max payload of a few hundred bytes.
var errLetterTooLarge = errors.New("the dead letter's own headers exceed the server's max payload")

// letterMsg is a dead letter being built: the message, and which of its headers are the job's
// own (the ones it may leave out to fit).
type letterMsg struct {
	*nats.Msg
	own     []string // the job's header names the letter carries
	dropped []string // the job's header names the letter leaves out, in the order left out
}

// reservedHeader reports whether a job's header k is left out of its letter without notice:
// JetStream's own Nats-* headers, which would deduplicate or constrain the new publish, and the
// names the letter itself sets, which would pass a producer's value off as dingq's. (A replay
// removes them from the job the same way.)
func reservedHeader(k string) bool {
	if len(k) >= 5 && strings.EqualFold(k[:5], "Nats-") {
		return true
	}
	return slices.ContainsFunc(letterHeaders, func(h string) bool { return strings.EqualFold(h, k) })
}

// letterHeaders are the headers a dead letter sets.
var letterHeaders = []string{
	schema.HeaderJobID, schema.HeaderReason, schema.HeaderErrorCode, schema.HeaderError,
	schema.HeaderHTTPStatus, schema.HeaderAttempts, schema.HeaderOriginalSubject, schema.HeaderFailedAt,
	schema.HeaderDroppedHeaders, schema.HeaderTruncated,
}

// copyJobHeaders copies the job's headers into the letter, less the reserved ones, and leaves out
// (and notes) those whose name nats.go would refuse to publish.
func (l *letterMsg) copyJobHeaders(h nats.Header) {
	for k, vs := range h {
		switch {
		case reservedHeader(k):
		case !publishableKey(k):
			l.dropped = append(l.dropped, k)
		default:
			l.Header[k] = vs
			l.own = append(l.own, k)
		}
	}
	slices.Sort(l.dropped)
}

// publishableKey reports whether nats.go publishes a header named k. It refuses the whole
// message otherwise ("message could not decode headers"). Its rule (nats.go 1.55), a little
// stricter than the protocol's (ADR-4: printable ASCII but ':'): printable ASCII, none of
// `"()/,:;<=>?@[\]{}`. The NATS server itself stores any name, so a producer in another
// language, or on the raw protocol, can send one; TestPublishableKeyMatchesNATSGo keeps this
// rule and the client's together.
func publishableKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c < 33 || c > 126 || strings.IndexByte(`"()/,:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// wireValue is v as nats.go writes a header value: trimmed of surrounding white space, with CR
// and LF made spaces. The stored letter holds this form, so a comparison with it must use it too.
func wireValue(v string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(textproto.TrimString(v))
}

// letterJobID is the Dingq-Job-Id of a job with id: the id, or, for one over maxJobIDHeader,
// its start and the hash of the whole.
func letterJobID(id string) string {
	id = wireValue(id)
	if len(id) <= maxJobIDHeader {
		return id
	}
	tail := "..." + schema.BodyHash([]byte(id))
	return strings.ToValidUTF8(id[:maxJobIDHeader-len(tail)], "") + tail
}

// setDropped writes Dingq-Dropped-Headers: each name quoted in ASCII (a name may hold any byte
// but LF and ':'), so the list is one safe header value whatever the names; at most
// maxDroppedList bytes, the rest counted.
func (l *letterMsg) setDropped() {
	if len(l.dropped) == 0 {
		l.Header.Del(schema.HeaderDroppedHeaders)
		return
	}
	var b strings.Builder
	for i, k := range l.dropped {
		q := strconv.QuoteToASCII(k)
		if i > 0 && b.Len()+len(q)+2 > maxDroppedList {
			fmt.Fprintf(&b, ", +%d more", len(l.dropped)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(q)
	}
	l.Header.Set(schema.HeaderDroppedHeaders, b.String())
}

// payloadSize is what the server counts against its max payload: the header block and body,
// as nats.go encodes them.
func payloadSize(m *nats.Msg) int64 {
	return int64(m.Size() - len(m.Subject) - len(m.Reply))
}

// fit makes the letter fit in maxPayload bytes, keeping freshIDRoom to spare. A letter that
// fits is left as it is. Otherwise its body is cut, and marked Dingq-Truncated with the
// original's length and hash; the job's own headers are left out too, largest first, only
// while they alone leave no room for any body (and the body is then kept whole if it fits).
func (l *letterMsg) fit(maxPayload int64) error {
	limit := maxPayload - int64(freshIDRoom)
	if payloadSize(l.Msg) <= limit {
		return nil
	}
	body := l.Data
	sum := sha256.Sum256(body)
	l.Header.Set(schema.HeaderTruncated, "length="+strconv.Itoa(len(body))+" sha256="+hex.EncodeToString(sum[:]))
	l.Data = nil
	l.dropLargestUntil(limit)
	room := limit - payloadSize(l.Msg)
	if room < 0 {
		return fmt.Errorf("%w (%d bytes over %d, with %d to spare for a fresh id)", errLetterTooLarge, -room, maxPayload, freshIDRoom)
	}
	if room >= int64(len(body)) { // leaving headers out made room for the whole body
		l.Header.Del(schema.HeaderTruncated)
		l.Data = body
		return nil
	}
	l.Data = cutBody(body, int(room))
	return nil
}

// dropLargestUntil leaves out the job's headers, largest first, until the letter (without a
// body) fits in limit or none is left. It counts sizes as it goes: a job may carry thousands.
func (l *letterMsg) dropLargestUntil(limit int64) {
	slices.SortFunc(l.own, func(a, b string) int {
		if c := headerEntrySize(b, l.Header[b]) - headerEntrySize(a, l.Header[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	size := payloadSize(l.Msg)
	for size > limit && len(l.own) > 0 {
		k := l.own[0]
		l.own = l.own[1:]
		size -= int64(headerEntrySize(k, l.Header[k]) + l.droppedSize())
		l.Header.Del(k)
		l.dropped = append(l.dropped, k)
		l.setDropped()
		size += int64(l.droppedSize())
	}
}

// droppedSize is what Dingq-Dropped-Headers takes in the header block.
func (l *letterMsg) droppedSize() int {
	return headerEntrySize(schema.HeaderDroppedHeaders, l.Header[schema.HeaderDroppedHeaders])
}

// headerEntrySize is what k's values take in the header block: "k: v\r\n" each.
func headerEntrySize(k string, vs []string) int {
	n := 0
	for _, v := range vs {
		n += len(k) + len(textproto.TrimString(v)) + 4
	}
	return n
}

// cutBody returns the first n bytes of body, less a rune cut in half when the body is UTF-8:
// `dlq show` prints a UTF-8 body as text, and would print a cut rune's body in base64.
func cutBody(body []byte, n int) []byte {
	if utf8.Valid(body) {
		for n > 0 && !utf8.RuneStart(body[n]) {
			n--
		}
	}
	return body[:n]
}

// storeLetter publishes the letter m under its Nats-Msg-Id and waits for the ack. A duplicate
// ack says the dead-letter stream already holds a message with that id, inside its duplicate
// window: normally this very letter, stored by an earlier move whose Term was lost, or by the
// advisory path. But anyone may publish that id, and a duplicate ack stores nothing: so the
// message stored at the ack's sequence is read back, and unless it is this letter (or it is gone
// and cannot be checked) the letter is stored again under a fresh id. A job is never terminated
// without its letter stored; at worst, after a foreign duplicate, its letter is stored twice.
func (w *Worker) storeLetter(ctx context.Context, m *nats.Msg) error {
	id := m.Header.Get(jetstream.MsgIDHeader)
	ack, err := w.js.PublishMsg(ctx, m)
	if err != nil {
		return fmt.Errorf("publish dead letter %s: %w", id, err)
	}
	if !ack.Duplicate {
		return nil
	}
	same, err := w.storedLetterIs(ctx, ack.Sequence, m)
	if err != nil || same {
		return err
	}
	fresh := id + "-" + rand.Text()
	w.log.Warn().Str("msg_id", id).Uint64("stored_seq", ack.Sequence).Str("fresh_msg_id", fresh).
		Str("job_id", m.Header.Get(schema.HeaderJobID)).
		Msg("the dead-letter id is taken by another message; storing the letter under a fresh id")
	m.Header.Set(jetstream.MsgIDHeader, fresh)
	if ack, err = w.js.PublishMsg(ctx, m); err != nil {
		return fmt.Errorf("publish dead letter %s: %w", fresh, err)
	}
	if ack.Duplicate {
		return fmt.Errorf("publish dead letter %s: %w", fresh, errFreshIDTaken)
	}
	return nil
}

// errFreshIDTaken reports a random message id that JetStream had already seen: the job is kept
// and tried again rather than terminated without its letter.
var errFreshIDTaken = errors.New("the fresh message id was reported as a duplicate too")

// storedLetterIs reports whether the dead letter stored at seq is the letter m. One that is gone
// (deleted, purged, expired) or that cannot even be decoded is not: it cannot stand in for m.
func (w *Worker) storedLetterIs(ctx context.Context, seq uint64, m *nats.Msg) (bool, error) {
	dead, err := w.js.Stream(ctx, w.cfg.Names.DeadStream())
	if err != nil {
		return false, fmt.Errorf("check duplicate dead letter %d: %w", seq, err)
	}
	stored, err := dead.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) || errors.Is(err, nats.ErrBadHeaderMsg) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check duplicate dead letter %d: %w", seq, err)
	}
	return sameLetter(stored, m), nil
}

// sameLetter reports whether stored is a letter of the same job instance as m: same subject, job
// id and original subject, and the same body, or, for cut bodies, the same Dingq-Truncated (the
// original's length and hash: a cut depends on the max payload at the time). The other Dingq-*
// headers may differ between two moves of one job (Dingq-Failed-At does).
func sameLetter(stored *jetstream.RawStreamMsg, m *nats.Msg) bool {
	h := stored.Header
	if stored.Subject != m.Subject ||
		h.Get(schema.HeaderJobID) != m.Header.Get(schema.HeaderJobID) ||
		h.Get(schema.HeaderOriginalSubject) != m.Header.Get(schema.HeaderOriginalSubject) {
		return false
	}
	if cut := m.Header.Get(schema.HeaderTruncated); cut != "" || h.Get(schema.HeaderTruncated) != "" {
		return cut == h.Get(schema.HeaderTruncated)
	}
	return bytes.Equal(stored.Data, m.Data)
}

// logFitted says what a letter left out to be storable. Names are quoted, values never logged.
func (w *Worker) logFitted(j job, l letterMsg) {
	cut := l.Header.Get(schema.HeaderTruncated)
	if len(l.dropped) == 0 && cut == "" {
		return
	}
	ev := w.log.Warn().Str("job_id", j.id).Str("kind", j.kindName)
	if len(l.dropped) > 0 {
		ev = ev.Str("dropped_headers", l.Header.Get(schema.HeaderDroppedHeaders))
	}
	if cut != "" {
		ev = ev.Int("body_bytes", len(j.data)).Int("kept_bytes", len(l.Data))
	}
	ev.Msg("dead letter trimmed to be storable: headers a NATS client cannot publish, or a body past the max payload, left out")
}
