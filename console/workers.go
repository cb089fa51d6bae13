package console

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/dingq/dingq/worker"
)

// workers keeps the latest heartbeat of each worker.
type workers struct {
	mu   sync.Mutex
	seen map[string]seenWorker
}

type seenWorker struct {
	worker.Heartbeat
	received time.Time // by the console's clock: the workers' may differ
}

// workerRow is a worker as the overview lists it.
type workerRow struct {
	worker.Heartbeat
	LastSeen   time.Time
	State      string // "ready", "not ready", "stopping"
	StateClass string // the same as one CSS class name: "ready", "not-ready", "stopping"
}

func newWorkers() *workers { return &workers{seen: map[string]seenWorker{}} }

// beat takes one heartbeat off NATS.
func (ws *workers) beat(m *nats.Msg) {
	hb, err := worker.ParseHeartbeat(m.Data)
	if err != nil {
		return
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.seen[hb.ID] = seenWorker{hb, time.Now()}
}

// list returns the workers heard from within three of their intervals, by id; a worker that
// said it stops is listed until then as stopping.
func (ws *workers) list(now time.Time) []workerRow {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	var out []workerRow
	for id, w := range ws.seen {
		if now.Sub(w.received) > worker.MissedHeartbeats*w.Every { // by the console's clock, not the worker's
			delete(ws.seen, id)
			continue
		}
		row := workerRow{Heartbeat: w.Heartbeat, LastSeen: w.received, State: "ready", StateClass: "ready"}
		switch {
		case w.Stopping:
			row.State, row.StateClass = "stopping", "stopping"
		case !w.Ready:
			row.State, row.StateClass = "not ready", "not-ready"
		}
		out = append(out, row)
	}
	slices.SortFunc(out, func(a, b workerRow) int { return strings.Compare(a.ID, b.ID) })
	return out
}
