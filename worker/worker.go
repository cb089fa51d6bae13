package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/schema"
)

// Validator checks a job's body before any send. [*schema.Validator] is the one dingq uses.
type Validator interface {
	Validate(kind schema.Kind, body []byte) error
}

// Deps are the parts a [Worker] is given rather than builds.
type Deps struct {
	// Sender sends a job to DingTalk. Required. A sender that shares state with the fleet
	// through its buckets (rate limits, access tokens: see package dispatcher/fleet) is built on
	// the [Resources] that [ProvisionWait] returns, which are then passed as Resources too.
	Sender dispatcher.Sender
	// Resources are the worker's resources, already provisioned by [ProvisionWait]: Run then
	// uses them instead of provisioning again. Default nil: Run provisions.
	Resources *Resources
	// Validator checks each job before it is sent. Required.
	Validator Validator
	// Logger receives one event per decision. Default: discard.
	Logger zerolog.Logger
	// OnOutcome, when set, is told what became of every delivery (for metrics and delivery
	// status events). It is called from the worker's goroutines, once the outcome is settled
	// (a dead letter once stored), and must not block. Default nil.
	OnOutcome func(Outcome)
	// OnRepair, when set, is told of each stream, bucket or consumer that went missing while
	// the worker ran and was provisioned again (for a metric). Default nil.
	OnRepair func(resource string)
}

// Worker pulls jobs from the shared consumer and sends them. Create one with [New]; a process
// runs one Worker, and a fleet of processes shares the work through the durable consumer.
type Worker struct {
	cfg       Config
	js        jetstream.JetStream
	sender    dispatcher.Sender
	validator Validator
	log       zerolog.Logger
	onOutcome func(Outcome)
	onRepair  func(resource string)
	id        string         // this process's, for heartbeats and logs (see ID)
	inFlight  atomic.Int64   // jobs being handled now, for heartbeats
	res       *Resources     // set by Run before any job is handled
	recorders sync.WaitGroup // acks awaiting their answers, and sent-records being written for unconfirmed ones

	states    stateCache    // job states this process wrote, until their jobs are done
	acker     acker         // acks sent jobs and has them confirmed
	recording recording     // sends whose sent-records are being written
	sentAge   bucketAge     // when the sent-record bucket was created
	ready     readiness     // what /readyz reports
	kick      chan struct{} // asks the watchdog to check the resources now
	stateWarn everyFew
	limitWarn everyFew
}

// InboxPrefix is the inbox prefix of a worker's NATS connection. Everything a worker reads comes
// to its inboxes: jobs it pulls (a robot job holds its webhook's access token and its sk) and
// key-value reads (the fleet's DingTalk access tokens). Under the default prefix "_INBOX", anyone
// in the account allowed to subscribe to "_INBOX.>" (operators, to browse dead letters) would see
// them; under this one, NATS permissions can allow "_INBOX_dingq_worker.>" to the worker user
// alone, as deploy/nats/nats-server.conf does.
const InboxPrefix = "_INBOX_dingq_worker"

// pullExpiry is how long each pull request waits on the server. pullHeartbeat is how often the
// server says a pull is alive: a client that hears nothing for two of them pulls again, which is
// also what ends a stall of nats.go's consume (v1.55 and v1.56). Its goroutine that sends a pull
// marks itself busy until it is scheduled again after the publish; a consume that meanwhile
// hands over every job it asked for skips its next pull, and the server holds no pull for it
// while jobs wait. make bench's bare loop, whose buffered hand-off drains faster, stalled that way
// in most runs of 100,000 jobs. The stall lasts two heartbeats: 5 s with the default, 1 s with
// this one, the shortest the server allows.
const (
	pullExpiry    = 5 * time.Second
	pullHeartbeat = 500 * time.Millisecond
)

// New returns a Worker for the JetStream context js. It does not touch NATS until Run.
func New(js jetstream.JetStream, cfg Config, deps Deps) (*Worker, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("worker config: %w", err)
	}
	if js == nil || deps.Sender == nil || deps.Validator == nil {
		return nil, errors.New("worker: JetStream, Sender and Validator are required")
	}
	w := &Worker{cfg: cfg, js: js, sender: deps.Sender, validator: deps.Validator, res: deps.Resources,
		log: deps.Logger, onOutcome: deps.OnOutcome, onRepair: deps.OnRepair, kick: make(chan struct{}, 1),
		id: newWorkerID()}
	w.acker.w, w.acker.slots, w.acker.timeout = w, make(chan struct{}, cfg.Concurrency), min(ackTimeout, cfg.AckWait/3)
	return w, nil
}

// Run provisions the streams and consumer, then sends jobs until ctx ends. It then stops pulling,
// hands back jobs that were pulled but not started, waits up to ShutdownTimeout for in-flight
// sends, cancels those still running (their jobs are handed back for another worker), and
// returns nil. It returns an error only if it could not start. While it consumes, it publishes
// the worker's [Heartbeat]s (see [Config.Heartbeat]).
func (w *Worker) Run(ctx context.Context) error {
	if w.res == nil {
		res, err := ProvisionWait(ctx, w.js, w.cfg, w.log)
		if err != nil {
			return err
		}
		w.res = res
	}
	p := newPool(w, ctx)
	sub := &subscriptions{w: w, pool: p}
	if err := sub.start(); err != nil {
		sub.stop()
		p.stop(0)
		return err
	}
	w.checkResources(ctx, sub) // readiness from the first moment (see watch)
	streams := make([]string, 0, len(w.cfg.apps()))
	for _, app := range w.cfg.apps() {
		streams = append(streams, w.cfg.Names.JobStreamFor(app))
	}
	beats := w.startHeartbeats()
	w.log.Info().Str("worker_id", w.id).Strs("streams", streams).Int("consumers", len(w.res.Queues)).
		Int("concurrency", w.cfg.Concurrency).Int("max_attempts", w.cfg.MaxAttempts).Msg("worker started")
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() { defer close(watched); w.watch(watchCtx, sub) }()

	<-ctx.Done()
	stopWatch()
	<-watched
	consumes := sub.current()
	w.log.Info().Dur("timeout", w.cfg.ShutdownTimeout).Msg("worker stopping: no new jobs, finishing in-flight sends")
	p.beginStop()
	beats.markStopping()
	for _, cc := range consumes {
		if cc != nil {
			cc.Drain()
		}
	}
	w.waitDrained(consumes...)
	p.stop(w.cfg.ShutdownTimeout)
	w.waitRecorders()
	w.acker.stop()
	beats.stop()
	w.log.Info().Msg("worker stopped")
	return nil
}

// ProvisionWait calls [Provision] until it succeeds or ctx ends, so a worker started before NATS
// or JetStream is ready (a cluster electing its leaders) waits instead of exiting. Each try gets
// provisionTry: on a fresh cluster JetStream sometimes answers neither of two workers creating
// the same replicated stream, and a prompt second try converges. The first provisionQuiet of
// failures are what a fresh cluster does and are logged at info level; only then do they warn.
func ProvisionWait(ctx context.Context, js jetstream.JetStream, cfg Config, log zerolog.Logger) (*Resources, error) {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		tryCtx, cancel := context.WithTimeout(ctx, provisionTry)
		res, err := Provision(tryCtx, js, cfg)
		cancel()
		if err == nil {
			if attempt > 1 {
				log.Info().Int("attempts", attempt).Dur("took", time.Since(start)).Msg("streams and buckets provisioned")
			}
			return res, nil
		}
		delay := min(time.Duration(attempt)*250*time.Millisecond, 5*time.Second)
		ev := log.Warn()
		if time.Since(start) < provisionQuiet {
			ev = log.Info()
		}
		ev.Err(err).Int("attempt", attempt).Int64("delay_ms", delay.Milliseconds()).
			Msg("waiting for JetStream to provision the streams and buckets")
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("provision: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(delay):
		}
	}
}

const (
	// provisionTry bounds one try at provisioning every resource.
	provisionTry = 10 * time.Second
	// provisionQuiet is how long failing to provision is normal (a cluster forming).
	provisionQuiet = 30 * time.Second
)

// waitDrained waits, up to the shutdown timeout, for the consume contexts to drain: the client
// hands the jobs it still buffers to the stopping pool, which hands them back, and the server
// stops delivering. A drain ends only when the server answers, so while NATS is unreachable it is
// not waited for: an idle worker then stops at once rather than after the shutdown timeout, and
// the buffered jobs, whose naks could not reach the server anyway, come back after the ack wait.
// In-flight sends do not depend on the drain; the pool waits for them.
func (w *Worker) waitDrained(ccs ...jetstream.ConsumeContext) {
	nc := w.js.Conn()
	lost := nc.StatusChanged(nats.DISCONNECTED, nats.RECONNECTING, nats.CLOSED)
	defer nc.RemoveStatusListener(lost)
	deadline := time.NewTimer(w.cfg.ShutdownTimeout)
	defer deadline.Stop()
	for _, cc := range ccs {
		if !nc.IsConnected() {
			w.log.Debug().Msg("NATS unreachable: not waiting for the consumers to drain; jobs buffered in the client come back after the ack wait")
			return
		}
		select {
		case <-cc.Closed():
		case <-lost: // checked at the top
		case <-deadline.C:
			w.log.Info().Msg("the consumers did not drain within the shutdown timeout; jobs buffered in the client come back after the ack wait")
			return
		}
	}
}

// waitRecorders gives sent-records still being written the shutdown timeout to land.
func (w *Worker) waitRecorders() {
	done := make(chan struct{})
	go func() { w.recorders.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(w.cfg.ShutdownTimeout):
		w.log.Warn().Msg("stopping with acks unconfirmed or sent-records unwritten; their jobs may be sent again if their acks were lost")
	}
}

func (w *Worker) onConsumeError(_ jetstream.ConsumeContext, err error) {
	w.log.Warn().Err(err).Msg("consume error; the client keeps pulling")
}

// pool is a fixed set of goroutines, Concurrency of them, that handle jobs one at a time.
type pool struct {
	w        *Worker
	jobs     chan jetstream.Msg
	stopping chan struct{}
	sendCtx  context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

func newPool(w *Worker, ctx context.Context) *pool {
	// Sends outlive ctx: they are cancelled only when the shutdown timeout runs out.
	sendCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p := &pool{w: w, jobs: make(chan jetstream.Msg), stopping: make(chan struct{}), sendCtx: sendCtx, cancel: cancel}
	w.acker.quit = p.stopping // a stopping worker's acks wait for no place
	for range w.cfg.Concurrency {
		p.wg.Go(p.loop)
	}
	return p
}

func (p *pool) loop() {
	for {
		select {
		case <-p.stopping:
			return
		case msg := <-p.jobs:
			p.w.inFlight.Add(1)
			p.w.handle(p.sendCtx, msg, p.stopping)
			p.w.inFlight.Add(-1)
		}
	}
}

// offer is the consume callback: it blocks until a goroutine of the pool takes the job, or hands
// the job straight back once the pool is stopping.
func (p *pool) offer(msg jetstream.Msg) {
	select {
	case p.jobs <- msg:
	case <-p.stopping:
		_ = msg.Nak()
	}
}

func (p *pool) beginStop() { close(p.stopping) }

// stop waits up to timeout for in-flight jobs, then cancels the sends still running and waits for
// their jobs to be handed back.
func (p *pool) stop(timeout time.Duration) {
	select {
	case <-p.stopping:
	default:
		close(p.stopping)
	}
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		p.w.log.Warn().Msg("shutdown timeout: cancelling in-flight sends and handing their jobs back")
		p.cancel()
		<-done
	}
	p.cancel()
}
