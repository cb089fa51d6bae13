package worker_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
	"github.com/dingq/dingq/worker/embedded"
	"github.com/dingq/dingq/worker/workertest"
)

var names = schema.NewNames("")

// env is one test's NATS server, connection and JetStream context.
type env struct {
	t   testing.TB
	srv *embedded.Server
	nc  *nats.Conn
	js  jetstream.JetStream
	log *workertest.LogBuffer
}

// workerConn is how a worker connects: reconnecting forever.
var workerConn = []nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(100 * time.Millisecond)}

// newEnv starts a NATS server, opts changing it, and connects to it as a worker would.
func newEnv(t testing.TB, opts ...workertest.Option) *env {
	t.Helper()
	srv, nc, js := workertest.StartNATS(t, append([]workertest.Option{workertest.ConnOptions(workerConn...)}, opts...)...)
	return &env{t: t, srv: srv, nc: nc, js: js, log: &workertest.LogBuffer{}}
}

// restartable is a NATS server a test can stop and start again on the same address and store,
// as an operator restarting NATS would.
type restartable struct {
	t         testing.TB
	dir, addr string
	srv       *embedded.Server
}

func newRestartable(t testing.TB) *restartable {
	t.Helper()
	r := &restartable{t: t, dir: t.TempDir(), addr: "127.0.0.1:0"}
	r.start()
	r.addr = r.srv.Addr().String()
	return r
}

// stop shuts the server down; its file store stays.
func (r *restartable) stop() { r.srv.Shutdown() }

// start starts the server (again), on the same address and store.
func (r *restartable) start() {
	r.t.Helper()
	srv, err := embedded.Start(embedded.Config{Listen: r.addr, StoreDir: r.dir})
	if err != nil {
		r.t.Fatal(err)
	}
	r.srv = srv
	r.t.Cleanup(srv.Shutdown)
}

// envOn connects to srv, a server the test started itself, as a worker would; the connection is
// closed, and then srv shut down, when the test ends.
func envOn(t testing.TB, srv *embedded.Server) *env {
	t.Helper()
	t.Cleanup(srv.Shutdown)
	nc, js := workertest.Connect(t, srv.ClientURL(), workerConn...)
	return &env{t: t, srv: srv, nc: nc, js: js, log: &workertest.LogBuffer{}}
}

// testConfig keeps retries fast: the schedule is 100 ms, 200 ms, 400 ms ... (±25 %).
func testConfig() worker.Config {
	return worker.Config{
		Concurrency:     8,
		MaxAttempts:     4,
		BackoffInitial:  100 * time.Millisecond,
		BackoffMax:      2 * time.Second,
		ShutdownTimeout: 5 * time.Second,
	}
}

// run starts a worker; the returned stop cancels it and waits for Run to return, failing the test
// if Run returned an error.
func (e *env) run(cfg worker.Config, sender dispatcher.Sender) (stop func()) {
	e.t.Helper()
	return e.runWith(cfg, worker.Deps{Sender: sender})
}

// newWorker makes a worker with deps, filling in the validator and logger.
func (e *env) newWorker(cfg worker.Config, deps worker.Deps) *worker.Worker {
	e.t.Helper()
	v, err := schema.NewValidator(schema.ValidatorConfig{})
	if err != nil {
		e.t.Fatal(err)
	}
	deps.Validator, deps.Logger = v, zerolog.New(e.log)
	w, err := worker.New(e.js, cfg, deps)
	if err != nil {
		e.t.Fatal(err)
	}
	return w
}

// runWith runs a worker with deps, filling in the validator and logger.
func (e *env) runWith(cfg worker.Config, deps worker.Deps) (stop func()) {
	e.t.Helper()
	w := e.newWorker(cfg, deps)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	e.waitFor(10*time.Second, "worker started", func() bool { return e.log.Has("worker started") })
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				e.t.Errorf("Run: %v", err)
			}
		})
	}
	e.t.Cleanup(stop)
	return stop
}

func (e *env) publish(kind schema.Kind, body string, hdr nats.Header) {
	e.t.Helper()
	m := &nats.Msg{Subject: names.SendSubject(kind), Data: []byte(body), Header: hdr}
	if _, err := e.js.PublishMsg(context.Background(), m); err != nil {
		e.t.Fatalf("publish: %v", err)
	}
}

// waitFor polls cond until it holds; after timeout it fails the test with the worker's log.
func (e *env) waitFor(timeout time.Duration, what string, cond func() bool) {
	e.t.Helper()
	workertest.WaitFor(e.t, timeout, what, cond, e.log)
}

func (e *env) streamMsgs(name string) uint64 {
	e.t.Helper()
	s, err := e.js.Stream(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return info.State.Msgs
}

// deadLetters returns every message in the dead-letter stream.
func (e *env) deadLetters() []*jetstream.RawStreamMsg {
	e.t.Helper()
	s, err := e.js.Stream(context.Background(), names.DeadStream())
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil // deleted by the test, and not yet provisioned again: it holds no letter
	}
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(context.Background(), seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// script is a Sender that answers each job id from a list of results, then nil, and counts sends.
type script struct {
	mu      sync.Mutex
	results map[string][]error
	sends   map[string]int
	fn      func(ctx context.Context, job dispatcher.Job) error // optional, runs before the script
}

func newScript() *script {
	return &script{results: map[string][]error{}, sends: map[string]int{}}
}

func (s *script) on(id string, errs ...error) *script {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.results[id] = errs
	return s
}

func (s *script) Send(ctx context.Context, job dispatcher.Job) error {
	if s.fn != nil {
		if err := s.fn(ctx, job); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sends[job.ID]++
	rs := s.results[job.ID]
	if len(rs) == 0 {
		return nil
	}
	s.results[job.ID] = rs[1:]
	return rs[0]
}

func (s *script) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sends[id]
}

func (s *script) total() (jobs, sends int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.sends {
		jobs++
		sends += n
	}
	return jobs, sends
}

var (
	busy   = &dispatcher.Error{Decision: dispatcher.Retry, Code: "systemBusy", HTTPStatus: 500, Message: "system busy"}
	reject = &dispatcher.Error{Decision: dispatcher.Reject, Code: "chatbotNotInstall", HTTPStatus: 400, Message: "robot not in group"}
)

// card returns a valid card job whose id (its outTrackId) is id.
func card(id string) string {
	return `{"cardTemplateId":"StandardCard","openConversationId":"cid123","outTrackId":"` + id +
		`","robotCode":"dingrobot","cardData":"{\"cardParamMap\":{\"title\":\"hi\"}}"}`
}
