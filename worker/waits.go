package worker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// maxDeferrals is how many deliveries beyond MaxAttempts (and deadLetterGrace) the consumer allows
// for deferrals: a job waiting for its turn under a rate limit is handed back to JetStream, which
// counts a delivery each time. A deferred job holds a reserved turn and comes back once, shortly
// before it, so a handful is normal; this bound only matters when the shared state stays
// unreachable.
const maxDeferrals = 100

// waitRecord remembers, in the sent-record bucket, how many of a message's deliveries were
// deferrals rather than attempts, and the send turn its last deferral reserved. JetStream's
// NumDelivered counts every delivery; the attempt number is NumDelivered minus the deferrals, so
// waiting for a turn does not use up a job's attempts. Only deferred jobs have a record.
type waitRecord struct {
	deferrals int
	turn      time.Time
}

// waitKey is keyed by the message's stream sequence, which a redelivery keeps.
func waitKey(streamSeq uint64) string { return "waits.seq-" + strconv.FormatUint(streamSeq, 10) }

func (w waitRecord) encode() []byte {
	return []byte(strconv.Itoa(w.deferrals) + " " + strconv.FormatInt(w.turn.UnixNano(), 10))
}

func decodeWaitRecord(b []byte) (waitRecord, error) {
	n, t, ok := strings.Cut(string(b), " ")
	deferrals, err1 := strconv.Atoi(n)
	turn, err2 := strconv.ParseInt(t, 10, 64)
	if !ok || err1 != nil || err2 != nil || deferrals < 0 {
		return waitRecord{}, fmt.Errorf("unreadable wait record %q", b)
	}
	return waitRecord{deferrals: deferrals, turn: time.Unix(0, turn)}, nil
}

// waits reads the wait record of the message at streamSeq; none is the zero record.
func (r sentRecord) waits(streamSeq uint64) (waitRecord, error) {
	ctx, cancel := context.WithTimeout(context.Background(), sentRecordTimeout)
	defer cancel()
	e, err := r.kv.Get(ctx, waitKey(streamSeq))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return waitRecord{}, nil
	}
	if err != nil {
		return waitRecord{}, err
	}
	return decodeWaitRecord(e.Value())
}

// markWait stores the wait record of the message at streamSeq.
func (r sentRecord) markWait(streamSeq uint64, w waitRecord) error {
	ctx, cancel := context.WithTimeout(context.Background(), sentRecordTimeout)
	defer cancel()
	_, err := r.kv.Put(ctx, waitKey(streamSeq), w.encode())
	return err
}
