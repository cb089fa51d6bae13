package console

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/dingq/dingq/dispatcher/fleet"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker/deadletters"
)

// tallyFresh is how long the overview reuses a tally of the dead letters.
const tallyFresh = 15 * time.Second

// queueRow is one kind's consumer on one app's job stream.
type queueRow struct {
	App, Stream, Kind string
	Pending           uint64 // not yet delivered to a worker
	InFlight          int    // delivered and not yet acked: being sent, or waiting out a retry or a turn
	Waiting           int    // pull requests of workers waiting for jobs
	Err               string
}

// streamRow is one app's job stream.
type streamRow struct {
	App, Stream string
	Jobs        uint64
	Bytes       uint64
	Oldest      time.Time // the oldest job still queued
	Err         string
}

// chart is one kind's last hour as SVG bars, stacked sent, retried, dead.
type chart struct {
	series
	Bars []bar
}

type bar struct {
	X, Y, H int
	Class   string
	Title   string
}

const (
	chartHeight = 60
	barWidth    = 8
	barStep     = 10
)

// overview is GET /: the queue, the last hour's outcomes, the dead letters and the workers.
func (c *Console) overview(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	streams, queues := c.queues(ctx)
	act, since := c.activity.snapshot(schema.KindNames())
	var tally deadletters.Tally
	var tallyAt time.Time
	store, tallyErr := c.deadLetters(ctx)
	if tallyErr == nil {
		tally, tallyAt, tallyErr = c.tally.get(ctx, store)
	}
	c.render(w, r, "overview", "Overview", struct {
		Streams  []streamRow
		Queues   []queueRow
		Charts   []chart
		Since    time.Time
		Tally    deadletters.Tally
		TallyAt  time.Time
		TallyErr string
		Workers  []workerRow
		Width    int
		Height   int
	}{streams, queues, charts(act), since, tally, tallyAt, errText(tallyErr), c.workers.list(time.Now()), window * barStep, chartHeight})
}

// queues reads each app's job stream and its consumers.
func (c *Console) queues(ctx context.Context) ([]streamRow, []queueRow) {
	var streams []streamRow
	var queues []queueRow
	for _, app := range append([]string{""}, c.cfg.Apps...) {
		name := c.cfg.Names.JobStreamFor(app)
		label := app
		if label == "" {
			label = fleet.DefaultAppLabel
		}
		sr := streamRow{App: label, Stream: name}
		if s, err := c.cfg.JS.Stream(ctx, name); err != nil {
			sr.Err = err.Error()
		} else {
			st := s.CachedInfo().State
			sr.Jobs, sr.Bytes = st.Msgs, st.Bytes
			if st.Msgs > 0 {
				sr.Oldest = st.FirstTime
			}
		}
		streams = append(streams, sr)
		for _, k := range schema.Kinds() {
			q := queueRow{App: label, Stream: name, Kind: string(k)}
			if cons, err := c.cfg.JS.Consumer(ctx, name, c.cfg.Names.ConsumerFor(k)); err != nil {
				q.Err = err.Error()
			} else {
				info := cons.CachedInfo()
				q.Pending, q.InFlight, q.Waiting = info.NumPending, info.NumAckPending, info.NumWaiting
			}
			queues = append(queues, q)
		}
	}
	return streams, queues
}

// charts draws each series, all on one scale.
func charts(all []series) []chart {
	peak := 1
	for _, s := range all {
		for i := range window {
			peak = max(peak, s.Sent[i]+s.Retried[i]+s.Dead[i])
		}
	}
	out := make([]chart, len(all))
	for i, s := range all {
		ch := chart{series: s}
		for j := range window {
			y := chartHeight
			for _, part := range []struct {
				n     int
				class string
			}{{s.Sent[j], "sent"}, {s.Retried[j], "retried"}, {s.Dead[j], "dead"}} {
				if part.n == 0 {
					continue
				}
				h := max(part.n*chartHeight/peak, 1)
				y -= h
				ago := window - 1 - j
				ch.Bars = append(ch.Bars, bar{X: j * barStep, Y: y, H: h, Class: part.class,
					Title: fmt.Sprintf("%d %s, %d min ago", part.n, part.class, ago)})
			}
		}
		out[i] = ch
	}
	return out
}

// tallyCache keeps the last tally of the dead letters for tallyFresh.
type tallyCache struct {
	mu  sync.Mutex
	t   deadletters.Tally
	at  time.Time
	err error
}

// get returns the tally, counted again when it is older than tallyFresh.
func (tc *tallyCache) get(ctx context.Context, store *deadletters.Store) (deadletters.Tally, time.Time, error) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if time.Since(tc.at) > tallyFresh {
		tc.t, tc.err = store.Tally(ctx)
		tc.at = time.Now()
	}
	return tc.t, tc.at, tc.err
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
