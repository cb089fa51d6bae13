// Package nats_test checks the sample NATS server configuration beside it: the server starts from
// the file as it is, and each user may do what its role needs and nothing more.
package nats_test

import (
	"context"
	"errors"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/kv"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
	"github.com/dingq/dingq/worker/status"
	"github.com/dingq/dingq/worker/workertest"
)

// Every server, worker and connection a test starts must be gone when it ends.
func TestMain(m *testing.M) { workertest.VerifyNoLeaks(m) }

// The sample's passwords, given through the environment as in production: user u's is
// $DINGQ_<U>_PASSWORD.
var passwords = map[string]string{
	"producer": "producer-pw-3a7c",
	"orders":   "orders-pw-0e41",
	"sales":    "sales-pw-77b9",
	"worker":   "worker-pw-91d0",
	"operator": "operator-pw-5be2",
	"console":  "console-pw-c4f8",
}

var names = schema.NewNames("")

// apps are the tenants of the sample file: each has an account of its own, whose user is named
// after it.
var apps = []string{"orders", "sales"}

// workerConfig is a worker of every app of the sample file.
func workerConfig() worker.Config {
	return worker.Config{Apps: apps, Concurrency: 4, BackoffInitial: 50 * time.Millisecond, ShutdownTimeout: 5 * time.Second}
}

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
	return startFromFileWith(t, t.TempDir(), nil)
}

// startFromFileWith starts a server from nats-server.conf with its store in dir, after edit (when
// not nil) changed its options.
func startFromFileWith(t *testing.T, dir string, edit func(*server.Options)) *testServer {
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
	opts.Host, opts.Port, opts.StoreDir = "127.0.0.1", server.RANDOM_PORT, dir
	opts.NoSigs, opts.NoLog = true, true
	if edit != nil {
		edit(opts)
	}
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

// allowPublish is an edit for startFromFileWith: user may also publish to subjects.
func allowPublish(t *testing.T, user string, subjects ...string) func(*server.Options) {
	return func(o *server.Options) {
		for _, u := range o.Users {
			if u.Username == user {
				u.Permissions.Publish.Allow = append(u.Permissions.Publish.Allow, subjects...)
				return
			}
		}
		t.Fatalf("no user %s in the sample", user)
	}
}

// stream returns the state of a stream of the DINGQ account and its consumers.
func (s *testServer) stream(t *testing.T, name string) server.StreamDetail {
	t.Helper()
	sd, ok := s.findStream(t, name)
	if !ok {
		t.Fatalf("no stream %s", name)
	}
	return sd
}

func (s *testServer) findStream(t *testing.T, name string) (server.StreamDetail, bool) {
	t.Helper()
	info, err := s.Jsz(&server.JSzOptions{Account: "DINGQ", Streams: true, Consumer: true, Config: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, acc := range info.AccountDetails {
		for _, sd := range acc.Streams {
			if sd.Name == name {
				return sd, true
			}
		}
	}
	return server.StreamDetail{}, false
}

func (s *testServer) msgs(t *testing.T, stream string) uint64 {
	t.Helper()
	return s.stream(t, stream).State.Msgs
}

// consumers returns the consumers of a stream of the DINGQ account by name.
func (s *testServer) consumers(t *testing.T, stream string) map[string]*server.ConsumerInfo {
	t.Helper()
	out := map[string]*server.ConsumerInfo{}
	for _, ci := range s.stream(t, stream).Consumer {
		out[ci.Name] = ci
	}
	return out
}

// client is one user's connection; asyncErrs receives the errors the server reports outside of
// a request's answer, permission violations among them.
type client struct {
	nc        *nats.Conn
	js        jetstream.JetStream
	asyncErrs chan error
}

func connect(t *testing.T, url, user string, opts ...nats.Option) *client {
	t.Helper()
	c := &client{asyncErrs: make(chan error, 64)}
	opts = append([]nats.Option{nats.UserInfo(user, passwords[user]),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case c.asyncErrs <- err:
			default:
			}
		})}, opts...)
	nc, err := nats.Connect(url, opts...)
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

// connectWorker connects as the worker user, as `dingq serve` does: with the worker's inbox prefix.
func connectWorker(t *testing.T, url string) *client {
	t.Helper()
	return connect(t, url, "worker", nats.CustomInboxPrefix(worker.InboxPrefix))
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

// publishDenied publishes to each subject on core NATS and checks that the server refused each.
func (c *client) publishDenied(t *testing.T, data []byte, subjects ...string) {
	t.Helper()
	for _, subject := range subjects {
		if err := c.nc.Publish(subject, data); err != nil {
			t.Fatalf("publish to %s: %v", subject, err)
		}
		c.denied(t, subject)
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

// fleetWithToken starts a server from the file with the worker's streams and buckets, and an
// access token in the token bucket, stored as the worker stores it.
func fleetWithToken(t *testing.T, appToken string) (*testServer, *client, worker.Config, *worker.Resources, context.Context) {
	t.Helper()
	srv := startFromFile(t)
	wc := connectWorker(t, srv.url)
	cfg := workerConfig()
	res := provision(t, wc, cfg)
	ctx := ctxT(t)
	if _, err := res.Tokens.Put(ctx, "orders", []byte(appToken)); err != nil {
		t.Fatalf("put an access token as the worker: %v", err)
	}
	return srv, wc, cfg, res, ctx
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// provision provisions every resource of cfg as the worker user c.
func provision(t *testing.T, c *client, cfg worker.Config) *worker.Resources {
	t.Helper()
	res, err := worker.Provision(ctxT(t), c.js, cfg)
	if err != nil {
		t.Fatalf("provision as the worker user: %v; refused: %v", err, c.refused())
	}
	return res
}

// sentJob is what a test's sender was asked to send.
type sentJob struct {
	id, app string
	kind    schema.Kind
}

// TestWorkerRunsWithItsPermissions runs the real worker of every app as the worker user: it
// provisions every resource, sends jobs the producers of each app published, retries one (its
// redelivery reads the sent-record), dead-letters an invalid one, and the server refuses it
// nothing. No producer listening on its inboxes sees a job.
func TestWorkerRunsWithItsPermissions(t *testing.T) {
	srv := startFromFile(t)
	wc := connectWorker(t, srv.url)
	cfg := workerConfig()
	// Provision twice: the first call creates every resource, the second updates them.
	for range 2 {
		provision(t, wc, cfg)
	}
	sent := make(chan sentJob, 16)
	var failedOnce sync.Once
	logs := runWorker(t, wc, cfg, func(_ context.Context, job dispatcher.Job) error {
		if job.ID == "perm-retry" {
			var err error
			failedOnce.Do(func() { err = errors.New("transient trouble") })
			if err != nil {
				return err
			}
		}
		sent <- sentJob{id: job.ID, app: job.App, kind: job.Kind}
		return nil
	})

	ctx := ctxT(t)
	pc := connect(t, srv.url, "producer")
	oc := connect(t, srv.url, "orders")
	sc := connect(t, srv.url, "sales")
	// A producer may listen on _INBOX.> for its publish acks; it must not see the jobs JetStream
	// delivers to the workers' inboxes.
	type spy struct {
		c   *client
		sub *nats.Subscription
	}
	var spies []spy
	for _, user := range []string{"producer", "orders", "sales"} {
		c := connect(t, srv.url, user)
		sub, err := c.nc.SubscribeSync("_INBOX.>")
		if err != nil {
			t.Fatal(err)
		}
		if err := c.nc.Flush(); err != nil {
			t.Fatal(err)
		}
		spies = append(spies, spy{c, sub})
	}
	publish := func(c *client, id, stream string) {
		t.Helper()
		ack, err := c.js.Publish(ctx, names.SendSubject(schema.KindCard), []byte(cardJob(id)))
		if err != nil {
			t.Fatalf("publish job %s: %v", id, err)
		}
		if ack.Stream != stream {
			t.Errorf("job %s: publish ack from stream %q, want %s", id, ack.Stream, stream)
		}
	}
	publish(pc, "perm-ok", names.JobStream())
	publish(pc, "perm-retry", names.JobStream())
	publish(oc, "perm-orders", names.JobStreamFor("orders"))
	publish(sc, "perm-sales", names.JobStreamFor("sales"))
	want := map[string]string{"perm-ok": "", "perm-retry": "", "orders:perm-orders": "orders", "sales:perm-sales": "sales"}
	got := map[string]string{}
	for len(got) < len(want) {
		select {
		case j := <-sent:
			got[j.id] = j.app
		case <-ctx.Done():
			t.Fatalf("sent %v, want %v; worker log:\n%s", got, want, logs)
		}
	}
	for id, app := range want {
		if a, ok := got[id]; !ok || a != app {
			t.Errorf("job %s: sent %v, with app %q; want app %q", id, ok, a, app)
		}
	}
	if _, err := pc.js.Publish(ctx, names.SendSubject(schema.KindCard), []byte(`{"cardTemplateId":"x"}`)); err != nil {
		t.Fatal(err)
	}

	workertest.WaitFor(t, 15*time.Second, "the job streams empty and one dead letter", func() bool {
		for _, app := range append([]string{""}, apps...) {
			if srv.msgs(t, names.JobStreamFor(app)) != 0 {
				return false
			}
		}
		return srv.msgs(t, names.DeadStream()) == 1
	}, logs)
	if !strings.Contains(logs.String(), `"message":"retry"`) {
		t.Errorf("perm-retry was not retried:\n%s", logs)
	}
	for _, spy := range spies {
		// Every delivery to the worker happened before this round trip; anything the spy was
		// sent is now pending.
		if err := spy.c.nc.Flush(); err != nil {
			t.Fatal(err)
		}
		for _, m := range drain(t, spy.sub) {
			if strings.Contains(string(m.Data), "outTrackId") {
				t.Errorf("a producer listening on _INBOX.> read a job (subject %s)", m.Subject)
			}
		}
	}
	wc.noViolations(t, "worker")
	pc.noViolations(t, "producer")
	oc.noViolations(t, "orders")
	sc.noViolations(t, "sales")
}

// drain returns the messages pending on sub.
func drain(t *testing.T, sub *nats.Subscription) []*nats.Msg {
	t.Helper()
	pending, _, err := sub.Pending()
	if err != nil {
		t.Fatal(err)
	}
	var msgs []*nats.Msg
	for range pending {
		m, err := sub.NextMsg(time.Second)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// runWorker runs a worker with send as its sender until the test ends, and returns its log.
func runWorker(t *testing.T, c *client, cfg worker.Config, send dispatcher.SenderFunc) *workertest.LogBuffer {
	t.Helper()
	return runWorkerDeps(t, c, cfg, worker.Deps{Sender: send})
}

// runWorkerDeps runs a worker with deps, its validator and logger added, until the test ends.
func runWorkerDeps(t *testing.T, c *client, cfg worker.Config, deps worker.Deps) *workertest.LogBuffer {
	t.Helper()
	validator, err := schema.NewValidator(schema.ValidatorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &workertest.LogBuffer{}
	deps.Validator, deps.Logger = validator, zerolog.New(logs)
	w, err := worker.New(c.js, cfg, deps)
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
// forge a dead letter, nor delete a stream, nor read jobs, nor send with a tenant's app.
func TestProducerMayOnlyPublishJobs(t *testing.T) {
	srv := startFromFile(t)
	wc := connectWorker(t, srv.url)
	ctx := ctxT(t)
	provision(t, wc, workerConfig())
	pc := connect(t, srv.url, "producer")
	for i, dup := range []bool{false, true} {
		ack, err := pc.js.Publish(ctx, "dingq.send.card", []byte(cardJob("p-1")), jetstream.WithMsgID("p-1"))
		if err != nil || ack.Stream != "DINGQ_JOBS" || ack.Duplicate != dup {
			t.Fatalf("publish %d of job p-1: ack %+v, %v; want duplicate %v", i+1, ack, err, dup)
		}
	}
	for _, k := range []string{"crossdomain", "robot"} {
		if ack, err := pc.js.Publish(ctx, "dingq.send."+k, []byte(cardJob("p-"+k))); err != nil || ack.Stream != "DINGQ_JOBS" {
			t.Fatalf("publish a %s job: ack %+v, %v", k, ack, err)
		}
	}

	pc.publishDenied(t, []byte(cardJob("forged")), "dingq.dead.card",
		// The tenants' subjects, and every wildcard that would reach them.
		"dingq.send.card.orders", "dingq.send.robot.sales", "dingq.send.>", "dingq.send.*", "dingq.send.card.>")
	pc.publishDenied(t, nil, "$JS.API.STREAM.DELETE.DINGQ_JOBS")
	pc.publishDenied(t, []byte(`{"batch":1}`), "$JS.API.CONSUMER.MSG.NEXT.DINGQ_JOBS.dingq-worker-card")

	if _, err := pc.nc.SubscribeSync("dingq.send.>"); err != nil {
		t.Fatal(err)
	}
	pc.denied(t, "dingq.send.>")

	if n := srv.msgs(t, "DINGQ_JOBS"); n != 3 {
		t.Errorf("DINGQ_JOBS holds %d jobs, want the three published", n)
	}
	for _, s := range []string{"DINGQ_JOBS_ORDERS", "DINGQ_JOBS_SALES", "DINGQ_DEAD"} {
		if n := srv.msgs(t, s); n != 0 {
			t.Errorf("%s holds %d messages, want none", s, n)
		}
	}
}

// TestTenantJobsAreSentWithTheirApp: a tenant's producer publishes to plain dingq.send.card in
// its account; the job is stored in its app's stream under its app's subject, and the worker
// sends it with the app's credentials under the app's id.
func TestTenantJobsAreSentWithTheirApp(t *testing.T) {
	srv := startFromFile(t)
	wc := connectWorker(t, srv.url)
	cfg := workerConfig()
	provision(t, wc, cfg)
	ctx := ctxT(t)
	oc := connect(t, srv.url, "orders")
	ack, err := oc.js.Publish(ctx, "dingq.send.card", []byte(cardJob("o-1")), jetstream.WithMsgID("o-1"))
	if err != nil {
		t.Fatalf("publish as orders: %v", err)
	}
	if ack.Stream != "DINGQ_JOBS_ORDERS" || ack.Duplicate {
		t.Fatalf("publish ack %+v: want a new job in DINGQ_JOBS_ORDERS", ack)
	}
	// The card consumer of the orders stream takes dingq.send.card.orders alone: the job is
	// pending there, on that subject.
	card := srv.consumers(t, "DINGQ_JOBS_ORDERS")["dingq-worker-card"]
	if card == nil || card.Config.FilterSubject != "dingq.send.card.orders" || card.NumPending != 1 {
		t.Fatalf("consumer dingq-worker-card of DINGQ_JOBS_ORDERS: %+v; want dingq.send.card.orders with the job pending", card)
	}
	for _, s := range []string{"DINGQ_JOBS", "DINGQ_JOBS_SALES"} {
		if n := srv.msgs(t, s); n != 0 {
			t.Errorf("%s holds %d jobs, want none", s, n)
		}
	}

	sent := make(chan dispatcher.Job, 4)
	logs := runWorker(t, wc, cfg, func(_ context.Context, job dispatcher.Job) error {
		sent <- job
		return nil
	})
	select {
	case job := <-sent:
		if job.App != "orders" || job.ID != "orders:o-1" || job.Kind != schema.KindCard {
			t.Errorf("sent %s job %s with app %q; want card job orders:o-1 with app orders", job.Kind, job.ID, job.App)
		}
	case <-ctx.Done():
		t.Fatalf("the orders job was not sent; worker log:\n%s", logs)
	}
	workertest.WaitFor(t, 15*time.Second, "the orders stream empty", func() bool { return srv.msgs(t, "DINGQ_JOBS_ORDERS") == 0 }, logs)
	wc.noViolations(t, "worker")
	oc.noViolations(t, "orders")
}

// TestTenantCannotSendAsAnotherApp: a tenant's user may publish its own mapped subjects only, and
// even a tenant user allowed to publish anything reaches no other app's stream: its account
// imports its own app's subjects alone.
func TestTenantCannotSendAsAnotherApp(t *testing.T) {
	t.Run("permissions", func(t *testing.T) {
		srv := startFromFile(t)
		provision(t, connectWorker(t, srv.url), workerConfig())
		ctx := ctxT(t)
		oc := connect(t, srv.url, "orders")
		oc.publishDenied(t, []byte(cardJob("x")),
			"dingq.send.card.sales", "dingq.send.card.orders", "dingq.send.card.default",
			"dingq.send.>", "dingq.send.*", "dingq.send.card.>", "dingq.send.*.sales", "dingq.send.*.*", ">",
			"dingq.dead.card")
		oc.publishDenied(t, nil, "$JS.API.STREAM.INFO.DINGQ_JOBS_SALES", "$JS.API.INFO")
		for _, k := range schema.Kinds() {
			ack, err := oc.js.Publish(ctx, names.SendSubject(k), []byte(cardJob("o-"+string(k))))
			if err != nil || ack.Stream != "DINGQ_JOBS_ORDERS" {
				t.Fatalf("publish a %s job as orders: ack %+v, %v; want it in DINGQ_JOBS_ORDERS", k, ack, err)
			}
		}
		for _, k := range schema.Kinds() {
			c := srv.consumers(t, "DINGQ_JOBS_ORDERS")[names.ConsumerFor(k)]
			if c == nil || c.NumPending != 1 {
				t.Errorf("consumer %s of DINGQ_JOBS_ORDERS: %+v; want the one %s job pending", names.ConsumerFor(k), c, k)
			}
		}
		for _, s := range []string{"DINGQ_JOBS", "DINGQ_JOBS_SALES", "DINGQ_DEAD"} {
			if n := srv.msgs(t, s); n != 0 {
				t.Errorf("%s holds %d messages, want none", s, n)
			}
		}
	})
	t.Run("imports", func(t *testing.T) {
		srv := startFromFileWith(t, t.TempDir(), allowPublish(t, "orders", ">"))
		provision(t, connectWorker(t, srv.url), workerConfig())
		ctx := ctxT(t)
		oc := connect(t, srv.url, "orders")
		for _, subject := range []string{"dingq.send.card.sales", "dingq.send.card.orders", "dingq.send.robot.sales", "dingq.send.card.sales.orders"} {
			_, err := oc.js.Publish(ctx, subject, []byte(cardJob("x")))
			if !errors.Is(err, jetstream.ErrNoStreamResponse) && !errors.Is(err, nats.ErrNoResponders) {
				t.Errorf("publish to %s from ORDERS: %v; want no stream to answer", subject, err)
			}
		}
		if ack, err := oc.js.Publish(ctx, "dingq.send.card", []byte(cardJob("o-1"))); err != nil || ack.Stream != "DINGQ_JOBS_ORDERS" {
			t.Fatalf("publish a job as orders: ack %+v, %v", ack, err)
		}
		for s, want := range map[string]uint64{"DINGQ_JOBS": 0, "DINGQ_JOBS_SALES": 0, "DINGQ_JOBS_ORDERS": 1} {
			if n := srv.msgs(t, s); n != want {
				t.Errorf("%s holds %d jobs, want %d", s, n, want)
			}
		}
	})
}

// TestEachAppsSubjectsAreExportedToItsAccountOnly: DINGQ exports an app's job subjects to the
// app's account alone, so no other account could import them, whatever its configuration.
func TestEachAppsSubjectsAreExportedToItsAccountOnly(t *testing.T) {
	srv := startFromFile(t)
	dingq, err := srv.LookupAccount("DINGQ")
	if err != nil {
		t.Fatal(err)
	}
	owner := map[string]string{
		"dingq.send.card": "PRODUCERS", "dingq.send.crossdomain": "PRODUCERS", "dingq.send.robot": "PRODUCERS",
		"dingq.send.card.orders": "ORDERS", "dingq.send.robot.orders": "ORDERS",
		"dingq.send.card.sales": "SALES", "dingq.send.crossdomain.sales": "SALES",
	}
	for _, name := range []string{"PRODUCERS", "ORDERS", "SALES"} {
		acc, err := srv.LookupAccount(name)
		if err != nil {
			t.Fatal(err)
		}
		if acc.JetStreamEnabled() {
			t.Errorf("account %s has JetStream: producers' accounts store nothing", name)
		}
		for subject, own := range owner {
			err := acc.AddServiceImport(dingq, "probe."+subject, subject)
			if own == name {
				// The probe tells accounts apart: the owner may import its subject again.
				if errors.Is(err, server.ErrServiceImportAuthorization) {
					t.Errorf("account %s may not import its own %s", name, subject)
				}
				continue
			}
			if !errors.Is(err, server.ErrServiceImportAuthorization) {
				t.Errorf("account %s importing %s, %s's subject: %v; want it unauthorized", name, subject, own, err)
			}
		}
	}
}

// TestTenantsCannotPreemptEachOthersIDs: each app's job stream has its own duplicate window, so an
// id one tenant published does not make another's publish of it a duplicate.
func TestTenantsCannotPreemptEachOthersIDs(t *testing.T) {
	srv := startFromFile(t)
	provision(t, connectWorker(t, srv.url), workerConfig())
	ctx := ctxT(t)
	oc := connect(t, srv.url, "orders")
	sc := connect(t, srv.url, "sales")
	for _, p := range []struct {
		c      *client
		stream string
		dup    bool
	}{
		{oc, "DINGQ_JOBS_ORDERS", false},
		{sc, "DINGQ_JOBS_SALES", false},
		{oc, "DINGQ_JOBS_ORDERS", true}, // within an app, the window still drops a copy
	} {
		ack, err := p.c.js.Publish(ctx, "dingq.send.card", []byte(cardJob("inv-1")), jetstream.WithMsgID("inv-1"))
		if err != nil || ack.Stream != p.stream || ack.Duplicate != p.dup {
			t.Fatalf("publish inv-1 to %s: ack %+v, %v; want duplicate %v", p.stream, ack, err, p.dup)
		}
	}
	for s, want := range map[string]uint64{"DINGQ_JOBS_ORDERS": 1, "DINGQ_JOBS_SALES": 1, "DINGQ_JOBS": 0} {
		if n := srv.msgs(t, s); n != want {
			t.Errorf("%s holds %d jobs, want %d", s, n, want)
		}
	}
}

// TestOperatorSeesNoSecretsInFlight runs the worker on robot jobs holding their webhooks' tokens
// and sks, and card jobs for which it reads an app's access token from DINGQ_TOKENS, while an
// operator listens wherever it may and tries where it may not: it receives none of them. Nor does
// the console, listening on its inboxes, events and heartbeats: it may read DINGQ_TOKENS itself,
// but not what the workers receive.
func TestOperatorSeesNoSecretsInFlight(t *testing.T) {
	const appToken = "app-token-secret-5d1e"
	srv, wc, cfg, res, ctx := fleetWithToken(t, appToken)

	oc := connect(t, srv.url, "operator")
	inboxes, err := oc.nc.SubscribeSync("_INBOX.>")
	if err != nil {
		t.Fatal(err)
	}
	var forbidden []*nats.Subscription
	for _, subject := range []string{worker.InboxPrefix + ".>", "$KV.DINGQ_TOKENS.>", "$KV.>", "dingq.send.>", ">"} {
		sub, err := oc.nc.SubscribeSync(subject)
		if err != nil {
			t.Fatal(err)
		}
		oc.denied(t, subject)
		forbidden = append(forbidden, sub)
	}
	// Nor may it read the bucket: no direct get, no stream info, no message by sequence, no
	// consumer.
	_, err = oc.nc.Request("$JS.API.DIRECT.GET.KV_DINGQ_TOKENS.$KV.DINGQ_TOKENS.orders", nil, 2*time.Second)
	if err == nil {
		t.Error("the operator read an access token by direct get")
	}
	oc.denied(t, "$JS.API.DIRECT.GET.KV_DINGQ_TOKENS.$KV.DINGQ_TOKENS.orders")
	oc.publishDenied(t, []byte(`{"last_by_subj":"$KV.DINGQ_TOKENS.orders"}`),
		"$JS.API.STREAM.MSG.GET.KV_DINGQ_TOKENS", "$JS.API.STREAM.INFO.KV_DINGQ_TOKENS",
		"$JS.API.CONSUMER.CREATE.KV_DINGQ_TOKENS", "$JS.API.DIRECT.GET.KV_DINGQ_TOKENS")
	if err := oc.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	cc := connect(t, srv.url, "console")
	var consoleSubs []*nats.Subscription
	for _, subject := range []string{"_INBOX.>", "dingq.events.>", "dingq.workers.>"} {
		sub, err := cc.nc.SubscribeSync(subject)
		if err != nil {
			t.Fatal(err)
		}
		consoleSubs = append(consoleSubs, sub)
	}
	for _, subject := range []string{worker.InboxPrefix + ".>", "$KV.DINGQ_TOKENS.>", "$KV.>", "dingq.send.>", ">"} {
		sub, err := cc.nc.SubscribeSync(subject)
		if err != nil {
			t.Fatal(err)
		}
		cc.denied(t, subject)
		forbidden = append(forbidden, sub)
	}
	if err := cc.nc.Flush(); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	seen := map[string]string{} // what the sender saw, by job id: a robot job's body, a card job's token
	logs := runWorkerDeps(t, wc, cfg, worker.Deps{Resources: res, Sender: dispatcher.SenderFunc(func(ctx context.Context, job dispatcher.Job) error {
		got := string(job.Body)
		if job.Kind == schema.KindCard {
			e, err := res.Tokens.Get(ctx, "orders")
			if err != nil {
				return err
			}
			got = string(e.Value())
		}
		mu.Lock()
		seen[job.ID] = got
		mu.Unlock()
		return nil
	})})

	pc := connect(t, srv.url, "producer")
	ordersc := connect(t, srv.url, "orders")
	var secrets []string
	const perProducer = 3
	for i := range perProducer {
		for _, p := range []*client{pc, ordersc} {
			n := len(secrets)
			sk, hook := "SEC-secret-"+strconv.Itoa(n), "webhook-secret-"+strconv.Itoa(n)
			secrets = append(secrets, sk, hook)
			if _, err := p.js.Publish(ctx, "dingq.send.robot", []byte(robotJob(hook, sk))); err != nil {
				t.Fatal(err)
			}
			if _, err := p.js.Publish(ctx, "dingq.send.card", []byte(cardJob("c-"+strconv.Itoa(i)))); err != nil {
				t.Fatal(err)
			}
		}
	}
	secrets = append(secrets, appToken)
	jobs := 4 * perProducer
	workertest.WaitFor(t, 15*time.Second, "every job sent", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == jobs
	}, logs)
	mu.Lock()
	var all strings.Builder
	for _, v := range seen {
		all.WriteString(v + "\n")
	}
	mu.Unlock()
	for _, s := range secrets {
		if !strings.Contains(all.String(), s) {
			t.Errorf("the worker never had %s: the test proves nothing", s)
		}
	}

	// Whatever the server sent the operator and the console is pending once these round trips
	// are done.
	for _, c := range []*client{oc, cc} {
		if err := c.nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	allowed := append([]*nats.Subscription{inboxes}, consoleSubs...)
	for _, sub := range append(allowed, forbidden...) {
		for _, m := range drain(t, sub) {
			for _, s := range secrets {
				if holds(m, s) {
					t.Errorf("the subscription %s received %s (on %s)", sub.Subject, s, m.Subject)
				}
			}
			if !slices.Contains(allowed, sub) {
				t.Errorf("the refused subscription %s received a message on %s", sub.Subject, m.Subject)
			}
		}
	}
	wc.noViolations(t, "worker")
}

// holds reports whether s is anywhere in m: its subject, reply, headers or body.
func holds(m *nats.Msg, s string) bool {
	if strings.Contains(m.Subject, s) || strings.Contains(m.Reply, s) || strings.Contains(string(m.Data), s) {
		return true
	}
	for k, vs := range m.Header {
		if strings.Contains(k, s) || slices.ContainsFunc(vs, func(v string) bool { return strings.Contains(v, s) }) {
			return true
		}
	}
	return false
}

// TestWorkerMigratesTheSharedConsumerWithItsPermissions upgrades a server whose job stream has
// the consumer dingq-worker that workers shared before consumers were per kind, with a job an
// earlier worker took and never acked: the new worker, with the file's permissions, deletes that
// consumer, creates its own, and sends both jobs.
func TestWorkerMigratesTheSharedConsumerWithItsPermissions(t *testing.T) {
	dir := t.TempDir()
	ctx := ctxT(t)
	// The earlier release's server: the same file, its worker also allowed its shared consumer.
	old := startFromFileWith(t, dir, allowPublish(t, "worker",
		"$JS.API.CONSUMER.CREATE.DINGQ_JOBS.dingq-worker", "$JS.API.CONSUMER.MSG.NEXT.DINGQ_JOBS.dingq-worker"))
	wc := connectWorker(t, old.url)
	if _, err := wc.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: "DINGQ_JOBS", Subjects: []string{"dingq.send.>"}, Retention: jetstream.WorkQueuePolicy,
		Storage: jetstream.FileStorage, MaxBytes: 1 << 30,
	}); err != nil {
		t.Fatalf("create the earlier job stream: %v; refused: %v", err, wc.refused())
	}
	shared, err := wc.js.CreateOrUpdateConsumer(ctx, "DINGQ_JOBS", jetstream.ConsumerConfig{
		Durable: "dingq-worker", AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Hour,
	})
	if err != nil {
		t.Fatalf("create the shared consumer: %v; refused: %v", err, wc.refused())
	}
	pc := connect(t, old.url, "producer")
	for _, id := range []string{"legacy-taken", "legacy-waiting"} {
		if _, err := pc.js.Publish(ctx, "dingq.send.card", []byte(cardJob(id))); err != nil {
			t.Fatal(err)
		}
	}
	batch, err := shared.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range batch.Messages() {
		n++ // taken, never acked: its worker died
	}
	if n != 1 {
		t.Fatalf("fetched %d jobs, want 1: %v", n, batch.Error())
	}
	pc.nc.Close()
	wc.nc.Close()
	old.Shutdown()
	old.WaitForShutdown()

	srv := startFromFileWith(t, dir, nil)
	if c := srv.consumers(t, "DINGQ_JOBS")["dingq-worker"]; c == nil || c.NumAckPending != 1 {
		t.Fatalf("after the upgrade, consumer dingq-worker: %+v; want it with the taken job", c)
	}
	wc = connectWorker(t, srv.url)
	sent := make(chan string, 4)
	logs := runWorker(t, wc, workerConfig(), func(_ context.Context, job dispatcher.Job) error {
		sent <- job.ID
		return nil
	})
	got := map[string]bool{}
	for len(got) < 2 {
		select {
		case id := <-sent:
			got[id] = true
		case <-ctx.Done():
			t.Fatalf("sent %v, want legacy-taken and legacy-waiting; worker log:\n%s", got, logs)
		}
	}
	workertest.WaitFor(t, 15*time.Second, "the job stream empty", func() bool { return srv.msgs(t, "DINGQ_JOBS") == 0 }, logs)
	cons := srv.consumers(t, "DINGQ_JOBS")
	if _, ok := cons["dingq-worker"]; ok {
		t.Error("the shared consumer dingq-worker is still there")
	}
	for _, k := range schema.Kinds() {
		if _, ok := cons[names.ConsumerFor(k)]; !ok {
			t.Errorf("no consumer %s on DINGQ_JOBS", names.ConsumerFor(k))
		}
	}
	if s := srv.stream(t, "DINGQ_JOBS").Config.Subjects; !slices.Equal(s, names.JobSubjects("")) {
		t.Errorf("DINGQ_JOBS subjects %v, want %v", s, names.JobSubjects(""))
	}
	wc.noViolations(t, "worker")
}

// TestOperatorMayBrowseReplayAndRemoveDeadLetters plays `dingq dlq`: list, show, replay with a
// new id to each app's subject, delete; and checks the operator cannot forge dead letters or
// delete a stream. The console may do all the operator may, and is refused the same.
func TestOperatorMayBrowseReplayAndRemoveDeadLetters(t *testing.T) {
	for _, user := range []string{"operator", "console"} {
		t.Run(user, func(t *testing.T) { browseReplayAndRemove(t, user) })
	}
}

func browseReplayAndRemove(t *testing.T, user string) {
	srv := startFromFile(t)
	wc := connectWorker(t, srv.url)
	ctx := ctxT(t)
	provision(t, wc, workerConfig())
	dead := nats.NewMsg("dingq.dead.card")
	dead.Data = []byte(cardJob("dl-1"))
	dead.Header.Set(schema.HeaderJobID, "dl-1")
	dl, err := wc.js.PublishMsg(ctx, dead)
	if err != nil {
		t.Fatal(err)
	}

	oc := connect(t, srv.url, user)
	stream, err := oc.js.Stream(ctx, "DINGQ_DEAD")
	if err != nil {
		t.Fatalf("stream info: %v", err)
	}
	for _, app := range append([]string{""}, apps...) {
		if _, err := oc.js.Stream(ctx, names.JobStreamFor(app)); err != nil {
			t.Fatalf("job stream %s info: %v", names.JobStreamFor(app), err)
		}
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
	// Replay to the job subject of each app.
	for _, app := range append([]string{""}, apps...) {
		ack, err := oc.js.Publish(ctx, names.SendSubjectFor(schema.KindCard, app), msg.Data, jetstream.WithMsgID("replay-dl-1"))
		if err != nil || ack.Stream != names.JobStreamFor(app) {
			t.Fatalf("replay for app %q: ack %+v, %v", app, ack, err)
		}
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
	oc.noViolations(t, user)

	oc.publishDenied(t, []byte(`{"batch":1}`),
		"$JS.API.CONSUMER.MSG.NEXT.DINGQ_JOBS.dingq-worker-card", "$JS.API.CONSUMER.MSG.NEXT.DINGQ_JOBS_ORDERS.dingq-worker-card")
	oc.publishDenied(t, msg.Data, "dingq.dead.card", "$KV.DINGQ_TOKENS.orders")
	oc.publishDenied(t, nil, "$JS.API.STREAM.DELETE.DINGQ_DEAD", "$JS.API.STREAM.DELETE.DINGQ_JOBS_SALES",
		"$JS.API.STREAM.MSG.GET.DINGQ_JOBS_ORDERS")
	srv.stream(t, "DINGQ_DEAD") // still there
}

// TestConsoleShowsTheFleet plays `dingq console` as the console user while a worker runs: it
// hears the worker's heartbeats and outcome events, reads every stream's state and every job
// consumer's backlog, and reads the rate-limit, token and status buckets by watching them; the
// server refuses it nothing. It cannot consume jobs, forge dead letters, heartbeats or bucket
// entries, remove a stream, a bucket or a job consumer, or listen where the workers' jobs go.
func TestConsoleShowsTheFleet(t *testing.T) {
	const appToken = "app-token-secret-91ce"
	srv, wc, cfg, res, ctx := fleetWithToken(t, appToken)
	if _, err := res.Limits.Put(ctx, "robot-target", []byte("{}")); err != nil {
		t.Fatalf("put a rate-limit entry as the worker: %v", err)
	}

	cc := connect(t, srv.url, "console")
	beats, err := cc.nc.SubscribeSync(names.WorkerSubjects())
	if err != nil {
		t.Fatal(err)
	}
	events, err := cc.nc.SubscribeSync(names.EventSubjects())
	if err != nil {
		t.Fatal(err)
	}
	if err := cc.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	// Outcome events and records, as `dingq serve` publishes them.
	rec, err := status.NewRecorder(wc.nc, status.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan string, 4)
	logs := runWorkerDeps(t, wc, cfg, worker.Deps{OnOutcome: rec.Observe, Sender: dispatcher.SenderFunc(func(_ context.Context, job dispatcher.Job) error {
		sent <- job.ID
		return nil
	})})
	m, err := beats.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("the console heard no heartbeat: %v; worker log:\n%s", err, logs)
	}
	if hb, err := worker.ParseHeartbeat(m.Data); err != nil || !hb.Ready || m.Subject != names.WorkerSubject(hb.ID) {
		t.Errorf("heartbeat %s on %s: %v; want a ready worker on its subject", m.Data, m.Subject, err)
	}
	pc := connect(t, srv.url, "producer")
	if _, err := pc.js.Publish(ctx, names.SendSubject(schema.KindCard), []byte(cardJob("console-1"))); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sent:
	case <-ctx.Done():
		t.Fatalf("the job was not sent; worker log:\n%s", logs)
	}
	if m, err := events.NextMsg(10 * time.Second); err != nil || !strings.Contains(string(m.Data), `"console-1"`) {
		t.Fatalf("the console heard no outcome event: %v", err)
	}
	if err := rec.Flush(ctx); err != nil {
		t.Fatalf("store the outcome: %v", err)
	}

	// The state of every stream, and the backlog of every job consumer.
	for _, name := range []string{"DINGQ_JOBS", "DINGQ_JOBS_ORDERS", "DINGQ_JOBS_SALES", "DINGQ_DEAD",
		"KV_DINGQ_SENT", "KV_DINGQ_STATUS", "KV_DINGQ_LIMITS", "KV_DINGQ_TOKENS"} {
		if _, err := cc.js.Stream(ctx, name); err != nil {
			t.Errorf("stream info of %s: %v", name, err)
		}
	}
	for _, app := range append([]string{""}, apps...) {
		for _, k := range schema.Kinds() {
			c, err := cc.js.Consumer(ctx, names.JobStreamFor(app), names.ConsumerFor(k))
			if err != nil {
				t.Errorf("consumer info of %s on %s: %v", names.ConsumerFor(k), names.JobStreamFor(app), err)
			} else if c.CachedInfo().Config.FilterSubject != names.SendSubjectFor(k, app) {
				t.Errorf("consumer %s on %s filters %s", names.ConsumerFor(k), names.JobStreamFor(app), c.CachedInfo().Config.FilterSubject)
			}
		}
	}

	// The buckets, read whole by a watch: rate-limit turns, tokens (the console can read them,
	// which is why its password is kept as the operator's), job outcomes.
	read := map[string]string{}
	for _, bucket := range []string{"DINGQ_LIMITS", "DINGQ_TOKENS", "DINGQ_STATUS"} {
		b, err := cc.js.KeyValue(ctx, bucket)
		if err != nil {
			t.Fatalf("open %s: %v", bucket, err)
		}
		entries, err := kv.Latest(ctx, b)
		if err != nil {
			t.Fatalf("watch %s: %v; refused: %v", bucket, err, cc.refused())
		}
		for _, e := range entries {
			read[bucket+" "+e.Key()] = string(e.Value())
		}
	}
	if read["DINGQ_LIMITS robot-target"] != "{}" || read["DINGQ_TOKENS orders"] != appToken || read["DINGQ_STATUS card.console-1"] == "" {
		t.Errorf("the console read %v; want the rate-limit entry, the token and the job's outcome", read)
	}
	// Recent outcomes, as the console reads them back at its start: an ordered consumer from a
	// start time, fetched, then removed.
	start := time.Now().Add(-time.Hour)
	recent, err := cc.js.OrderedConsumer(ctx, "KV_DINGQ_STATUS", jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &start})
	if err != nil {
		t.Fatalf("ordered consumer on KV_DINGQ_STATUS: %v", err)
	}
	batch, err := recent.FetchNoWait(10)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range batch.Messages() {
		n++
	}
	if n != 1 {
		t.Errorf("read %d recent outcomes, want 1: %v", n, batch.Error())
	}
	if err := cc.js.DeleteConsumer(ctx, "KV_DINGQ_STATUS", recent.CachedInfo().Name); err != nil {
		t.Errorf("remove the ordered consumer: %v", err)
	}
	cc.noViolations(t, "console")

	// What it may not do.
	cc.publishDenied(t, []byte(`{"batch":1}`),
		"$JS.API.CONSUMER.MSG.NEXT.DINGQ_JOBS.dingq-worker-card", "$JS.API.CONSUMER.MSG.NEXT.DINGQ_JOBS_SALES.dingq-worker-robot")
	cc.publishDenied(t, []byte(cardJob("forged")), "dingq.dead.card", "dingq.events.card.sent", "dingq.workers.forged",
		"$KV.DINGQ_TOKENS.orders", "$KV.DINGQ_LIMITS.robot-target", "$KV.DINGQ_STATUS.card.x", "$KV.DINGQ_SENT.card.x")
	cc.publishDenied(t, nil, "$JS.API.STREAM.DELETE.DINGQ_DEAD", "$JS.API.STREAM.DELETE.DINGQ_JOBS",
		"$JS.API.STREAM.DELETE.KV_DINGQ_TOKENS", "$JS.API.STREAM.PURGE.DINGQ_JOBS", "$JS.API.STREAM.PURGE.KV_DINGQ_LIMITS",
		"$JS.API.STREAM.UPDATE.DINGQ_DEAD", "$JS.API.STREAM.CREATE.DINGQ_OTHER", "$JS.API.CONSUMER.DELETE.DINGQ_JOBS.dingq-worker-card",
		"$JS.API.CONSUMER.CREATE.DINGQ_JOBS.spy.dingq.send.card", "$JS.API.STREAM.MSG.GET.DINGQ_JOBS",
		"$JS.API.STREAM.MSG.DELETE.KV_DINGQ_STATUS")
	for _, subject := range []string{worker.InboxPrefix + ".>", "dingq.send.>", "dingq.dead.>", "$KV.>", ">"} {
		if _, err := cc.nc.SubscribeSync(subject); err != nil {
			t.Fatal(err)
		}
		cc.denied(t, subject)
	}
	for _, s := range []string{"DINGQ_DEAD", "KV_DINGQ_TOKENS"} {
		srv.stream(t, s) // still there
	}
	if c := srv.consumers(t, "DINGQ_JOBS"); len(c) != 3 {
		t.Errorf("DINGQ_JOBS has consumers %v, want the workers' three", slices.Collect(maps.Keys(c)))
	}
	wc.noViolations(t, "worker")
	pc.noViolations(t, "producer")
}

// TestAccountLimitsHoldTheStreams: DINGQ's JetStream limits are set, and hold every stream dingq
// provisions for the file's apps three times over (DINGQ_REPLICAS=3); a stream beyond them is
// refused.
func TestAccountLimitsHoldTheStreams(t *testing.T) {
	srv := startFromFile(t)
	wc := connectWorker(t, srv.url)
	ctx := ctxT(t)
	provision(t, wc, workerConfig())
	info, err := wc.js.AccountInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lim := info.Limits
	if lim.MaxStore <= 0 || lim.MaxMemory != 0 || lim.MaxStreams <= 0 || lim.MaxConsumers <= 0 {
		t.Fatalf("DINGQ's limits %+v: want file storage, streams and consumers limited, no memory", lim)
	}
	var reserved int64
	details, err := srv.Jsz(&server.JSzOptions{Account: "DINGQ", Streams: true, Consumer: true, Config: true})
	if err != nil {
		t.Fatal(err)
	}
	streams := 0
	for _, acc := range details.AccountDetails {
		for _, sd := range acc.Streams {
			streams++
			reserved += max(sd.Config.MaxBytes, 0)
			if len(sd.Consumer) > lim.MaxConsumers/2 {
				t.Errorf("stream %s has %d consumers: want room for as many more within %d", sd.Name, len(sd.Consumer), lim.MaxConsumers)
			}
		}
	}
	if streams != 8 {
		t.Errorf("%d streams, want 8: three job streams, the dead letters and four buckets", streams)
	}
	if int64(info.ReservedStore) != reserved {
		t.Errorf("reserved %d bytes, want the streams' MaxBytes, %d", info.ReservedStore, reserved)
	}
	if 3*reserved > lim.MaxStore || 2*streams > lim.MaxStreams {
		t.Errorf("limits %+v: want room for %d bytes (the streams' MaxBytes, 3 replicas) and twice the %d streams", lim, 3*reserved, streams)
	}
	// The dead letters and three job streams of a third of the limit each pass it: the last job
	// stream is refused at its creation.
	cfg := workerConfig()
	cfg.JobStreamMaxBytes = lim.MaxStore / 3
	fresh := startFromFile(t)
	if _, err := worker.Provision(ctx, connectWorker(t, fresh.url).js, cfg); err == nil || !strings.Contains(err.Error(), "DINGQ_JOBS_SALES") {
		t.Errorf("provision job streams of %d bytes: %v; want DINGQ_JOBS_SALES refused", cfg.JobStreamMaxBytes, err)
	}
}

// TestUnsetPasswordStopsTheServer: a password variable that is not set is a start-up error
// naming it, not a user without a password.
func TestUnsetPasswordStopsTheServer(t *testing.T) {
	for unset := range passwords {
		t.Run(unset, func(t *testing.T) {
			for user, pw := range passwords {
				t.Setenv("DINGQ_"+strings.ToUpper(user)+"_PASSWORD", pw)
			}
			name := "DINGQ_" + strings.ToUpper(unset) + "_PASSWORD"
			os.Unsetenv(name) // t.Setenv above restores it after the test
			_, err := server.ProcessConfigFile("nats-server.conf")
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("ProcessConfigFile with %s unset: %v", name, err)
			}
		})
	}
}

func cardJob(id string) string {
	return `{"cardTemplateId":"StandardCard","openConversationId":"cid1","outTrackId":"` + id +
		`","robotCode":"robot1","cardData":"{\"cardParamMap\":{\"title\":\"t\"}}"}`
}

// robotJob is a robot job whose link holds the webhook's access token, with the robot's sk.
func robotJob(token, sk string) string {
	return `{"link":"https://oapi.dingtalk.com/robot/send?access_token=` + token + `","sk":"` + sk +
		`","data":[{"msgtype":"text","text":{"content":"disk full"}}]}`
}
