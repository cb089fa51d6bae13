// Package nats_test checks the sample NATS server configuration beside it: the server starts from
// the file as it is, and each user may do what its role needs and nothing more.
package nats_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
	"github.com/dingq/dingq/worker/workertest"
)

// Every server, worker and connection a test starts must be gone when it ends.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The sample's passwords, given through the environment as in production.
var passwords = map[string]string{
	"producer": "producer-pw-3a7c",
	"worker":   "worker-pw-91d0",
	"operator": "operator-pw-5be2",
}

var names = schema.NewNames("")

// testServer is a server started from the sample file. Its users see only what their permissions
// allow; the test reads stream state through the server itself.
type testServer struct {
	*server.Server
	url string
}

// startFromFile starts a server from nats-server.conf as it is, but on a free loopback port and
// with its store in a temporary directory.
func startFromFile(t *testing.T) *testServer {
	t.Helper()
	for user, pw := range passwords {
		t.Setenv("DINGQ_"+strings.ToUpper(user)+"_PASSWORD", pw)
	}
	opts, err := server.ProcessConfigFile("nats-server.conf")
	if err != nil {
		t.Fatal(err)
	}
	if opts.StoreDir != "/var/lib/nats/jetstream" || opts.Port != 4222 || !opts.JetStream {
		t.Errorf("the sample should enable JetStream, listen on 4222 and store in /var/lib/nats/jetstream: port %d, store %q, JetStream %v",
			opts.Port, opts.StoreDir, opts.JetStream)
	}
	opts.Host, opts.Port, opts.StoreDir = "127.0.0.1", server.RANDOM_PORT, t.TempDir()
	opts.NoSigs, opts.NoLog = true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	return &testServer{Server: s, url: s.ClientURL()}
}

// stream returns the state of a stream of the DINGQ account and its consumers.
func (s *testServer) stream(t *testing.T, name string) server.StreamDetail {
	t.Helper()
	info, err := s.Jsz(&server.JSzOptions{Account: "DINGQ", Streams: true, Consumer: true, Config: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, acc := range info.AccountDetails {
		for _, sd := range acc.Streams {
			if sd.Name == name {
				return sd
			}
		}
	}
	t.Fatalf("no stream %s", name)
	return server.StreamDetail{}
}

func (s *testServer) msgs(t *testing.T, stream string) uint64 {
	t.Helper()
	return s.stream(t, stream).State.Msgs
}

// client is one user's connection; asyncErrs receives the errors the server reports outside of
// a request's answer, permission violations among them.
type client struct {
	nc        *nats.Conn
	js        jetstream.JetStream
	asyncErrs chan error
}

func connect(t *testing.T, url, user string) *client {
	t.Helper()
	c := &client{asyncErrs: make(chan error, 64)}
	nc, err := nats.Connect(url, nats.UserInfo(user, passwords[user]),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case c.asyncErrs <- err:
			default:
			}
		}))
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	c.nc = nc
	if c.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	return c
}

// denied checks that the server refused a publish or subscribe on subject as a permissions
// violation.
func (c *client) denied(t *testing.T, subject string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case err := <-c.asyncErrs:
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), `"`+subject+`"`) {
				return
			}
			t.Logf("other async error: %v", err)
		case <-timeout:
			t.Fatalf("no permissions violation for %s", subject)
		}
	}
}

// refused drains the errors the server reported to c, for a failure message.
func (c *client) refused() []error {
	var errs []error
	for {
		select {
		case err := <-c.asyncErrs:
			errs = append(errs, err)
		default:
			return errs
		}
	}
}

// noViolations fails the test if the server refused anything to c.
func (c *client) noViolations(t *testing.T, user string) {
	t.Helper()
	if err := c.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case err := <-c.asyncErrs:
			t.Errorf("%s: %v", user, err)
		default:
			return
		}
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestWorkerRunsWithItsPermissions runs the real worker as the worker user: it provisions every
// resource, sends a job a producer published, retries one (its redelivery reads the sent-record),
// dead-letters an invalid one, and the server refuses it nothing.
func TestWorkerRunsWithItsPermissions(t *testing.T) {
	srv := startFromFile(t)
	wc := connect(t, srv.url, "worker")
	ctx := ctxT(t)
	cfg := worker.Config{Concurrency: 4, BackoffInitial: 50 * time.Millisecond, ShutdownTimeout: 5 * time.Second}
	// Provision twice: the first call creates every resource, the second updates them.
	for range 2 {
		if _, err := worker.Provision(ctx, wc.js, cfg); err != nil {
			t.Fatalf("provision as the worker user: %v; refused: %v", err, wc.refused())
		}
	}
	sent := make(chan string, 8)
	var failedOnce sync.Once
	logs := runWorker(t, wc, cfg, func(_ context.Context, job dispatcher.Job) error {
		if job.ID == "perm-retry" {
			var err error
			failedOnce.Do(func() { err = errors.New("transient trouble") })
			if err != nil {
				return err
			}
		}
		sent <- job.ID
		return nil
	})

	pc := connect(t, srv.url, "producer")
	// A producer may listen on _INBOX.> for its publish acks; it must not see the jobs JetStream
	// delivers to the workers' inboxes.
	spy := connect(t, srv.url, "producer")
	inboxes, err := spy.nc.SubscribeSync("_INBOX.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := spy.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"perm-ok", "perm-retry"} {
		ack, err := pc.js.Publish(ctx, names.SendSubject(schema.KindCard), []byte(cardJob(id)))
		if err != nil {
			t.Fatalf("publish a job as the producer: %v", err)
		}
		if ack.Stream != names.JobStream() {
			t.Errorf("publish ack from stream %q", ack.Stream)
		}
	}
	got := map[string]bool{}
	for len(got) < 2 {
		select {
		case id := <-sent:
			got[id] = true
		case <-ctx.Done():
			t.Fatalf("sent %v, want perm-ok and perm-retry; worker log:\n%s", got, logs)
		}
	}
	if _, err := pc.js.Publish(ctx, names.SendSubject(schema.KindCard), []byte(`{"cardTemplateId":"x"}`)); err != nil {
		t.Fatal(err)
	}

	waitFor(t, "the job stream empty and one dead letter", func() bool {
		return srv.msgs(t, names.JobStream()) == 0 && srv.msgs(t, names.DeadStream()) == 1
	}, logs)
	if !strings.Contains(logs.String(), `"message":"retry"`) {
		t.Errorf("perm-retry was not retried:\n%s", logs)
	}
	// Every delivery to the worker happened before this round trip; anything the spy was sent
	// is now pending.
	if err := spy.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	pending, _, err := inboxes.Pending()
	if err != nil {
		t.Fatal(err)
	}
	for range pending {
		m, err := inboxes.NextMsg(time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(m.Data), "outTrackId") {
			t.Errorf("a producer listening on _INBOX.> read a job (subject %s)", m.Subject)
		}
	}
	wc.noViolations(t, "worker")
	pc.noViolations(t, "producer")
}

// TestWorkerMovesAStrandedJobWithItsPermissions strands a job at the consumer's last delivery
// and runs the real worker: on the max-deliveries advisory it reads the job, checks the
// sent-record, dead-letters the job and deletes it from the job stream.
func TestWorkerMovesAStrandedJobWithItsPermissions(t *testing.T) {
	srv := startFromFile(t)
	wc := connect(t, srv.url, "worker")
	ctx := ctxT(t)
	cfg := worker.Config{Concurrency: 4, MaxAttempts: 1, ShutdownTimeout: 5 * time.Second}
	res, err := worker.Provision(ctx, wc.js, cfg)
	if err != nil {
		t.Fatalf("provision as the worker user: %v; refused: %v", err, wc.refused())
	}
	pc := connect(t, srv.url, "producer")
	if _, err := pc.js.Publish(ctx, names.SendSubject(schema.KindCard), []byte(cardJob("stranded"))); err != nil {
		t.Fatal(err)
	}
	// A consumer as an older dingq provisioned it, with a MaxDeliver: every delivery JetStream
	// allows ends without a decision, as if each worker died mid-send.
	info, err := res.Jobs.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	legacy := info.Config
	legacy.MaxDeliver = 3
	if _, err := wc.js.UpdateConsumer(ctx, names.JobStream(), legacy); err != nil {
		t.Fatal(err)
	}
	for range legacy.MaxDeliver {
		batch, err := res.Jobs.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			if err := m.Nak(); err != nil {
				t.Fatal(err)
			}
		}
		if n != 1 {
			t.Fatalf("fetched %d jobs, want 1: %v", n, batch.Error())
		}
	}

	logs := runWorker(t, wc, cfg, func(context.Context, dispatcher.Job) error {
		return errors.New("a stranded job must not be sent")
	})
	waitFor(t, "the stranded job dead-lettered, the job and advisory streams empty", func() bool {
		return srv.msgs(t, names.DeadStream()) == 1 && srv.msgs(t, names.JobStream()) == 0 &&
			srv.msgs(t, names.AdvisoryStream()) == 0
	}, logs)
	wc.noViolations(t, "worker")
}

// runWorker runs a worker with send as its sender until the test ends, and returns its log.
func runWorker(t *testing.T, c *client, cfg worker.Config, send dispatcher.SenderFunc) *workertest.LogBuffer {
	t.Helper()
	validator, err := schema.NewValidator(schema.ValidatorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &workertest.LogBuffer{}
	w, err := worker.New(c.js, cfg, worker.Deps{Sender: send, Validator: validator, Logger: zerolog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("worker.Run: %v", err)
		}
	})
	return logs
}

// TestProducerMayOnlyPublishJobs checks the producer's publish ack, and that it may neither
// forge a dead letter, nor delete a stream, nor read jobs.
func TestProducerMayOnlyPublishJobs(t *testing.T) {
	srv := startFromFile(t)
	wc := connect(t, srv.url, "worker")
	ctx := ctxT(t)
	if _, err := worker.Provision(ctx, wc.js, worker.Config{}); err != nil {
		t.Fatalf("provision as the worker user: %v; refused: %v", err, wc.refused())
	}
	pc := connect(t, srv.url, "producer")
	for i, dup := range []bool{false, true} {
		ack, err := pc.js.Publish(ctx, "dingq.send.card", []byte(cardJob("p-1")), jetstream.WithMsgID("p-1"))
		if err != nil || ack.Stream != "DINGQ_JOBS" || ack.Duplicate != dup {
			t.Fatalf("publish %d of job p-1: ack %+v, %v; want duplicate %v", i+1, ack, err, dup)
		}
	}

	if err := pc.nc.Publish("dingq.dead.card", []byte(cardJob("forged"))); err != nil {
		t.Fatal(err)
	}
	pc.denied(t, "dingq.dead.card")

	if err := pc.nc.Publish("$JS.API.STREAM.DELETE.DINGQ_JOBS", nil); err != nil {
		t.Fatal(err)
	}
	pc.denied(t, "$JS.API.STREAM.DELETE.DINGQ_JOBS")

	if _, err := pc.nc.SubscribeSync("dingq.send.>"); err != nil {
		t.Fatal(err)
	}
	pc.denied(t, "dingq.send.>")

	if err := pc.nc.Publish("$JS.API.CONSUMER.MSG.NEXT.DINGQ_JOBS.dingq-worker", []byte(`{"batch":1}`)); err != nil {
		t.Fatal(err)
	}
	pc.denied(t, "$JS.API.CONSUMER.MSG.NEXT.DINGQ_JOBS.dingq-worker")

	if n := srv.msgs(t, "DINGQ_JOBS"); n != 1 {
		t.Errorf("DINGQ_JOBS holds %d jobs, want the one published", n)
	}
	if n := srv.msgs(t, "DINGQ_DEAD"); n != 0 {
		t.Errorf("DINGQ_DEAD holds %d messages, want none", n)
	}
}

// TestOperatorMayBrowseReplayAndRemoveDeadLetters plays `dingq dlq`: list, show, replay with a
// new id, delete; and checks the operator cannot forge dead letters or delete a stream.
func TestOperatorMayBrowseReplayAndRemoveDeadLetters(t *testing.T) {
	srv := startFromFile(t)
	wc := connect(t, srv.url, "worker")
	ctx := ctxT(t)
	if _, err := worker.Provision(ctx, wc.js, worker.Config{}); err != nil {
		t.Fatalf("provision as the worker user: %v; refused: %v", err, wc.refused())
	}
	dead := nats.NewMsg("dingq.dead.card")
	dead.Data = []byte(cardJob("dl-1"))
	dead.Header.Set(schema.HeaderJobID, "dl-1")
	dl, err := wc.js.PublishMsg(ctx, dead)
	if err != nil {
		t.Fatal(err)
	}

	oc := connect(t, srv.url, "operator")
	stream, err := oc.js.Stream(ctx, "DINGQ_DEAD")
	if err != nil {
		t.Fatalf("stream info: %v", err)
	}
	if _, err := oc.js.Stream(ctx, "DINGQ_JOBS"); err != nil {
		t.Fatalf("job stream info: %v", err)
	}
	msg, err := stream.GetMsg(ctx, dl.Sequence)
	if err != nil || msg.Header.Get(schema.HeaderJobID) != "dl-1" {
		t.Fatalf("show a dead letter: %v", err)
	}
	browse, err := oc.js.OrderedConsumer(ctx, "DINGQ_DEAD", jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("browse: %v", err)
	}
	batch, err := browse.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range batch.Messages() {
		n++
	}
	if n != 1 {
		t.Fatalf("browsed %d dead letters, want 1: %v", n, batch.Error())
	}
	if _, err := oc.js.Publish(ctx, "dingq.send.card", msg.Data, jetstream.WithMsgID("replay-dl-1")); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if err := stream.DeleteMsg(ctx, dl.Sequence); err != nil {
		t.Fatalf("remove the dead letter: %v", err)
	}
	if err := stream.Purge(ctx); err != nil {
		t.Fatalf("purge: %v", err)
	}
	sent, err := oc.js.KeyValue(ctx, "DINGQ_SENT")
	if err != nil {
		t.Fatalf("open the sent-record bucket: %v", err)
	}
	if _, err := sent.Get(ctx, "card.dl-1"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("look a job up in the sent-record: %v", err)
	}
	oc.noViolations(t, "operator")

	if err := oc.nc.Publish("$JS.API.CONSUMER.MSG.NEXT.DINGQ_JOBS.dingq-worker", []byte(`{"batch":1}`)); err != nil {
		t.Fatal(err)
	}
	oc.denied(t, "$JS.API.CONSUMER.MSG.NEXT.DINGQ_JOBS.dingq-worker")

	if err := oc.nc.Publish("dingq.dead.card", msg.Data); err != nil {
		t.Fatal(err)
	}
	oc.denied(t, "dingq.dead.card")
	if err := oc.nc.Publish("$JS.API.STREAM.DELETE.DINGQ_DEAD", nil); err != nil {
		t.Fatal(err)
	}
	oc.denied(t, "$JS.API.STREAM.DELETE.DINGQ_DEAD")
	srv.stream(t, "DINGQ_DEAD") // still there
}

// TestUnsetPasswordStopsTheServer: a password variable that is not set is a start-up error
// naming it, not a user without a password.
func TestUnsetPasswordStopsTheServer(t *testing.T) {
	for user, pw := range passwords {
		t.Setenv("DINGQ_"+strings.ToUpper(user)+"_PASSWORD", pw)
	}
	os.Unsetenv("DINGQ_WORKER_PASSWORD") // t.Setenv above restores it after the test
	_, err := server.ProcessConfigFile("nats-server.conf")
	if err == nil || !strings.Contains(err.Error(), "DINGQ_WORKER_PASSWORD") {
		t.Errorf("ProcessConfigFile with DINGQ_WORKER_PASSWORD unset: %v", err)
	}
}

// waitFor polls cond until it holds, for up to 15 s.
func waitFor(t *testing.T, what string, cond func() bool, logs *workertest.LogBuffer) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(15 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; worker log:\n%s", what, logs)
		}
	}
}

func cardJob(id string) string {
	return `{"cardTemplateId":"StandardCard","openConversationId":"cid1","outTrackId":"` + id +
		`","robotCode":"robot1","cardData":"{\"cardParamMap\":{\"title\":\"t\"}}"}`
}
