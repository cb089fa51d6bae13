package console

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker/status"
)

// window is how far back the overview counts outcomes, a minute a bar.
const window = 60

// Groups of outcomes the overview counts.
const (
	groupSent    = "sent"
	groupRetried = "retried"
	groupDead    = "dead"
)

// activity counts outcome events per kind and minute over the last hour, and hands each event
// to the live page's listeners.
type activity struct {
	started time.Time // events before it come from the backfill

	mu        sync.Mutex
	minutes   [window]minute
	readBack  bool // the status stream was read back an hour
	listeners map[chan status.Record]struct{}
}

// minute is one minute's counts: kind → group → n.
type minute struct {
	at     int64 // Unix minute
	counts map[string]map[string]int
}

func newActivity() *activity {
	return &activity{started: time.Now(), listeners: map[chan status.Record]struct{}{}}
}

// event takes one outcome event off NATS.
func (a *activity) event(m *nats.Msg) {
	var rec status.Record
	if err := json.Unmarshal(m.Data, &rec); err != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.count(rec)
	for l := range a.listeners {
		select {
		case l <- rec:
		default: // a slow page misses events rather than hold the others
		}
	}
}

// count adds rec to its minute; the caller holds mu.
func (a *activity) count(rec status.Record) {
	group := groupSent
	switch {
	case rec.Outcome == status.OutcomeRetried:
		group = groupRetried
	case rec.Dead():
		group = groupDead
	}
	at := rec.At
	if at.IsZero() {
		at = time.Now()
	}
	unix := at.Unix() / 60
	if unix <= time.Now().Unix()/60-window {
		return
	}
	slot := &a.minutes[unix%window]
	if slot.at != unix {
		*slot = minute{at: unix, counts: map[string]map[string]int{}}
	}
	if slot.counts[rec.Kind] == nil {
		slot.counts[rec.Kind] = map[string]int{}
	}
	slot.counts[rec.Kind][group]++
}

// backfill counts the final outcomes of the hour before the console started from the status
// bucket's stream, which keeps each job's latest record: retries before the start are not
// known. It reads for at most 10 s.
func (a *activity) backfill(ctx context.Context, js jetstream.JetStream, names schema.Names, log zerolog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	start := a.started.Add(-window * time.Minute)
	cons, err := js.OrderedConsumer(ctx, "KV_"+names.StatusBucket(), jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &start})
	if err != nil {
		log.Info().Err(err).Msg("console: outcomes of the last hour not read back; counting from now")
		return
	}
	defer func() {
		if info := cons.CachedInfo(); info != nil {
			_ = js.DeleteConsumer(context.Background(), "KV_"+names.StatusBucket(), info.Name)
		}
	}()
	for {
		batch, err := cons.FetchNoWait(512)
		if err != nil {
			return
		}
		n := 0
		for m := range batch.Messages() {
			n++
			var rec status.Record
			if json.Unmarshal(m.Data(), &rec) != nil || !rec.At.Before(a.started) {
				continue
			}
			a.mu.Lock()
			a.count(rec)
			a.mu.Unlock()
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return
		}
		if n == 0 {
			a.mu.Lock()
			a.readBack = true
			a.mu.Unlock()
			return
		}
	}
}

// listen returns a channel of the events from now on, and a function that ends it.
func (a *activity) listen() (<-chan status.Record, func()) {
	ch := make(chan status.Record, 256)
	a.mu.Lock()
	a.listeners[ch] = struct{}{}
	a.mu.Unlock()
	return ch, func() {
		a.mu.Lock()
		delete(a.listeners, ch)
		a.mu.Unlock()
	}
}

// close ends every listener.
func (a *activity) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for l := range a.listeners {
		delete(a.listeners, l)
	}
}

// series is one kind's counts, a minute a bar, the oldest first.
type series struct {
	Kind                   string
	Sent, Retried, Dead    [window]int
	SentN, RetriedN, DeadN int // the hour's totals
}

// snapshot returns each kind's last hour, and since when the counts are complete.
func (a *activity) snapshot(kinds []string) ([]series, time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	nowMin := time.Now().Unix() / 60
	out := make([]series, len(kinds))
	for i, k := range kinds {
		s := series{Kind: k}
		for j := 0; j < window; j++ {
			unix := nowMin - window + 1 + int64(j)
			slot := a.minutes[unix%window]
			if slot.at != unix {
				continue
			}
			c := slot.counts[k]
			s.Sent[j], s.Retried[j], s.Dead[j] = c[groupSent], c[groupRetried], c[groupDead]
			s.SentN += c[groupSent]
			s.RetriedN += c[groupRetried]
			s.DeadN += c[groupDead]
		}
		out[i] = s
	}
	since := a.started.Add(-window * time.Minute)
	if !a.readBack {
		since = a.started
	}
	return out, since
}
