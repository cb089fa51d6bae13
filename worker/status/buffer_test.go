package status

import (
	"testing"
	"time"
)

// A full buffer drops the record at once and counts it, rather than block the worker.
func TestRecordDropsWhenTheBufferIsFull(t *testing.T) {
	r := &Recorder{cfg: Config{Buffer: 2}.withDefaults()}
	r.draining = true // as if a drainer were busy: nothing leaves the queue
	for i := range 3 {
		r.Record(Record{JobID: "j", Kind: "card", Outcome: OutcomeSent, Attempts: i, At: time.Now()})
	}
	if len(r.queue) != 2 || r.Stats().Dropped != 1 {
		t.Errorf("queued %d, stats %+v; want 2 queued and 1 dropped", len(r.queue), r.Stats())
	}
}

func TestWarnLimiterAllowsOneWarningAMinute(t *testing.T) {
	var w warnLimiter
	if !w.allow() || w.allow() {
		t.Error("want the first warning allowed and the second not")
	}
	w.last.Store(time.Now().Add(-warnEvery - time.Second).UnixNano())
	if !w.allow() {
		t.Error("want a warning allowed a minute later")
	}
}
