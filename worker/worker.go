package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

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
	// Sender sends a job to DingTalk. Required, unless NewSender is set.
	Sender dispatcher.Sender
	// NewSender builds the sender once Run has provisioned the resources, for senders that
	// share state with the fleet through its buckets (rate limits, access tokens). Used when
	// Sender is nil.
	NewSender func(res *Resources) (dispatcher.Sender, error)
	// Validator checks each job before it is sent. Required.
	Validator Validator
	// Logger receives one event per decision. Default: discard.
	Logger zerolog.Logger
	// OnOutcome, when set, is told what became of every delivery (for metrics and delivery
	// status events). It is called from the worker's goroutines, once the outcome is settled
	// (a dead letter once stored), and must not block. Default nil.
	OnOutcome func(Outcome)
}

// Worker pulls jobs from the shared consumer and sends them. Create one with [New]; a process
// runs one Worker, and a fleet of processes shares the work through the durable consumer.
type Worker struct {
	cfg       Config
	js        jetstream.JetStream
	sender    dispatcher.Sender
	validator Validator
	log       zerolog.Logger
	newSender func(res *Resources) (dispatcher.Sender, error)
	onOutcome func(Outcome)
	res       *Resources     // set by Run before any job is handled
	recorders sync.WaitGroup // sent-records being written for unconfirmed acks
}

// pullExpiry is how long each pull request waits on the server; heartbeats come every half of it.
const pullExpiry = 5 * time.Second

// New returns a Worker for the JetStream context js. It does not touch NATS until Run.
func New(js jetstream.JetStream, cfg Config, deps Deps) (*Worker, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("worker config: %w", err)
	}
	if js == nil || deps.Sender == nil && deps.NewSender == nil || deps.Validator == nil {
		return nil, errors.New("worker: JetStream, Sender (or NewSender) and Validator are required")
	}
	return &Worker{cfg: cfg, js: js, sender: deps.Sender, newSender: deps.NewSender, validator: deps.Validator, log: deps.Logger, onOutcome: deps.OnOutcome}, nil
}

// Run provisions the streams and consumer, then sends jobs until ctx ends. It then stops pulling,
// hands back jobs that were pulled but not started, waits up to ShutdownTimeout for in-flight
// sends, cancels those still running (their jobs are handed back for another worker), and
// returns nil. It returns an error only if it could not start.
func (w *Worker) Run(ctx context.Context) error {
	res, err := w.provision(ctx)
	if err != nil {
		return err
	}
	w.res = res
	if w.sender == nil {
		if w.sender, err = w.newSender(res); err != nil {
			return fmt.Errorf("build the sender: %w", err)
		}
	}
	p := newPool(w, ctx)
	cc, err := res.Jobs.Consume(p.offer,
		jetstream.PullMaxMessages(w.cfg.Concurrency),
		// Short pulls: when the node leading the consumer vanishes without a word (a network
		// partition), the client notices only after two missed heartbeats, half a pull's
		// expiry each. With the default 30 s expiry delivery stalled 30 s in the container tests.
		jetstream.PullExpiry(pullExpiry),
		jetstream.ConsumeErrHandler(w.onConsumeError))
	if err != nil {
		p.stop(0)
		return fmt.Errorf("consume %s: %w", w.cfg.Names.Consumer(), err)
	}
	acc, err := res.Advisories.Consume(w.onAdvisory, jetstream.PullMaxMessages(4),
		jetstream.ConsumeErrHandler(w.onConsumeError))
	if err != nil {
		cc.Stop()
		p.stop(0)
		return fmt.Errorf("consume %s: %w", schema.AdvisoryConsumer, err)
	}
	w.log.Info().Str("stream", w.cfg.Names.JobStream()).Str("consumer", w.cfg.Names.Consumer()).
		Int("concurrency", w.cfg.Concurrency).Int("max_attempts", w.cfg.MaxAttempts).Msg("worker started")

	<-ctx.Done()
	w.log.Info().Dur("timeout", w.cfg.ShutdownTimeout).Msg("worker stopping: no new jobs, finishing in-flight sends")
	p.beginStop()
	acc.Drain()
	cc.Drain()
	deadline := time.After(w.cfg.ShutdownTimeout)
	for _, closed := range []<-chan struct{}{cc.Closed(), acc.Closed()} {
		select {
		case <-closed:
		case <-deadline:
		}
	}
	p.stop(w.cfg.ShutdownTimeout)
	w.waitRecorders()
	w.log.Info().Msg("worker stopped")
	return nil
}

// provision calls [Provision] until it succeeds or ctx ends, so a worker started before NATS or
// JetStream is ready (a cluster electing its leaders) waits instead of exiting.
func (w *Worker) provision(ctx context.Context) (*Resources, error) {
	for attempt := 1; ; attempt++ {
		res, err := Provision(ctx, w.js, w.cfg)
		if err == nil {
			return res, nil
		}
		delay := min(time.Duration(attempt)*500*time.Millisecond, 5*time.Second)
		w.log.Warn().Err(err).Int("attempt", attempt).Int64("delay_ms", delay.Milliseconds()).
			Msg("provisioning streams failed; retrying")
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("provision: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(delay):
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
		w.log.Warn().Msg("stopping with sent-records unwritten; their jobs may be sent again if their acks were lost")
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
			p.w.handle(p.sendCtx, msg, p.stopping)
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
