package worker

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// readState reads a redelivered job's state and works out which attempt this delivery is:
// NumDelivered less the deliveries that were not attempts. The rule errs towards more attempts,
// never fewer: a job is never exhausted because its state was lost or could not be read.
//
//   - State found: deliveries less its deferrals.
//   - No state, bucket older than the job: nothing was ever deferred, so every delivery was an
//     attempt (a retry, or a worker that died mid-send).
//   - No state, bucket younger than the job (deleted and created again under the fleet): the
//     state, if there was one, is gone. The earlier deliveries are forgiven and that is recorded,
//     so that a worker dying on this job again is still counted.
//   - State unreadable: the delivery is sent as an attempt that is never the last one.
//
// What this process wrote of a job's state is also kept in its memory, and merged in: a job that
// returns to the same worker keeps its count and its progress even if the bucket lost them.
func (w *Worker) readState(d *delivery) {
	s, err := w.res.sentRecord().state(d.job)
	mem, inMemory := w.states.load(d.job)
	switch {
	case err == nil:
		d.state = merge(s, mem)
	case inMemory:
		d.state = mem
	case errors.Is(err, errNoState):
		if w.stateMayBeLost(d.job) {
			w.log.Warn().Str("job_id", d.id).Str("kind", d.kindName).Int("deliveries", d.deliveries).
				Msg("job state lost with its bucket; earlier deliveries are not counted as attempts")
			w.saveState(d, jobState{Deferrals: d.deliveries - 1}, "recount")
		}
	default:
		w.stateWarn.event(w.log).Err(err).Str("job_id", d.id).
			Msg("could not read the job state; sending, and not as a last attempt")
		d.attempt = max(1, min(d.deliveries, w.cfg.MaxAttempts-1))
		return
	}
	d.attempt = max(1, d.deliveries-d.state.Deferrals)
}

// stateMayBeLost reports whether j was stored before the sent-record bucket was created, so that
// its state may have gone with an earlier bucket. When the bucket's age is unknown, it may have.
func (w *Worker) stateMayBeLost(j job) bool {
	born, err := w.sentAge.born(w.res.Sent)
	return err != nil || j.published.IsZero() || !born.Before(j.published)
}

// saveState stores d's new state, and keeps it in this process's memory too; when the bucket does
// not take it, the watchdog is asked to check the bucket.
func (w *Worker) saveState(d *delivery, s jobState, what string) {
	d.state = s
	w.states.store(d.job, s)
	if err := w.res.sentRecord().setState(d.job, s); err != nil {
		w.kickWatchdog()
		w.stateWarn.event(w.log).Err(err).Str("job_id", d.id).Str("what", what).
			Msg("could not store the job state; this worker keeps it in memory")
	}
}

// settled forgets what this process kept of a job that is done.
func (w *Worker) settled(j job) { w.states.remove(j) }

// merge combines two records of one job's state. A state only grows (deferrals and posted
// messages add up, a decision is made once), so the larger of each is the later.
func merge(a, b jobState) jobState {
	if b.Deferrals > a.Deferrals || b.Deferrals == a.Deferrals && b.Turn.After(a.Turn) {
		a.Deferrals, a.Turn = b.Deferrals, b.Turn
	}
	a.Posted = max(a.Posted, b.Posted)
	if a.Decision == nil {
		a.Decision = b.Decision
	}
	return a
}

// stateCache holds the job states this process wrote, by job instance, until their jobs are
// done here. A job finished by another worker leaves its entry behind; past stateCacheMax entries
// the cache starts afresh, since it is only a fallback for the bucket: a worker deferring a flood
// of jobs keeps at most that many (a few MiB). It costs one atomic load per settled job while
// empty.
type stateCache struct {
	n atomic.Int64
	m sync.Map // instance -> jobState
}

const stateCacheMax = 16384

func (c *stateCache) store(j job, s jobState) {
	if c.n.Load() > stateCacheMax {
		c.m.Clear()
		c.n.Store(0)
	}
	if _, loaded := c.m.Swap(j.instance(), s); !loaded {
		c.n.Add(1)
	}
}

func (c *stateCache) load(j job) (jobState, bool) {
	if c.n.Load() == 0 {
		return jobState{}, false
	}
	v, ok := c.m.Load(j.instance())
	if !ok {
		return jobState{}, false
	}
	return v.(jobState), true
}

func (c *stateCache) remove(j job) {
	if c.n.Load() == 0 {
		return
	}
	if _, ok := c.m.LoadAndDelete(j.instance()); ok {
		c.n.Add(-1)
	}
}

// bucketAge caches when a bucket was created.
type bucketAge struct {
	mu      sync.Mutex
	asked   time.Time
	created time.Time
	err     error
}

// warnEvery spaces warnings about one recurring trouble, so that a thousand jobs meeting it make
// one line every few seconds, not a thousand; the rest go out at debug level.
const warnEvery = 5 * time.Second

// everyFew picks the level of the next event about a recurring trouble. Safe for concurrent use.
type everyFew struct{ last atomic.Int64 }

func (e *everyFew) event(log zerolog.Logger) *zerolog.Event {
	now, last := time.Now().UnixNano(), e.last.Load()
	if now-last >= int64(warnEvery) && e.last.CompareAndSwap(last, now) {
		return log.Warn()
	}
	return log.Debug()
}
