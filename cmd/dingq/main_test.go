package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/dispatcher/sandbox"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker/embedded"
	"github.com/dingq/dingq/worker/workertest"
)

// Secrets a run is configured with; none may appear in any output or dead letter.
const (
	appSecret   = "app-secret-7f3a9c1e"
	kdocsToken  = "kdocs-token-51d0b2aa"
	robotSK     = "SECrobot-sk-9e8d7c6b"
	robotAccess = "robot-access-token-0a1b2c3d"
)

// harness is a test's NATS server, sandbox and captured output.
type harness struct {
	t       *testing.T
	srv     *embedded.Server
	dir     string // the NATS server's store
	natsURL string
	js      jetstream.JetStream
	sb      *sandbox.Sandbox
	sbURL   string
	out     *workertest.LogBuffer
}

// newHarness starts NATS and a sandbox; extra, if given, adds to the sandbox's configuration.
func newHarness(t *testing.T, extra ...sandbox.Config) *harness {
	t.Helper()
	dir := t.TempDir()
	srv, nc, js := workertest.StartNATS(t, workertest.StoreDir(dir),
		workertest.ConnOptions(nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond)))
	sc := sandbox.Config{}
	if len(extra) > 0 {
		sc = extra[0]
	}
	sc.AppKey, sc.AppSecret, sc.KdocsToken = "app-key", appSecret, kdocsToken
	sb, err := sandbox.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	sbSrv, err := sandbox.Start("127.0.0.1:0", sb)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, srv: srv, dir: dir, natsURL: srv.ClientURL(), js: js, sb: sb, sbURL: sbSrv.URL(), out: &workertest.LogBuffer{}}
	// StartNATS's cleanup stops the server it started; h.srv may be one a test started again in
	// its place (TestReadyzFollowsNATS), and it goes too, after the connection.
	t.Cleanup(func() { _ = sbSrv.Close(); nc.Close(); h.srv.Shutdown() })
	return h
}

func (h *harness) env() map[string]string {
	return map[string]string{
		"DINGQ_NATS_URL":            h.natsURL,
		"DINGQ_DINGTALK_API_URL":    h.sbURL,
		"DINGQ_DINGTALK_OAPI_URL":   h.sbURL,
		"DINGQ_KDOCS_API_URL":       h.sbURL,
		"DINGQ_DINGTALK_APP_KEY":    "app-key",
		"DINGQ_DINGTALK_APP_SECRET": appSecret,
		"DINGQ_KDOCS_ACCESS_TOKEN":  kdocsToken,
		"DINGQ_BACKOFF_INITIAL":     "50ms",
		"DINGQ_MAX_ATTEMPTS":        "4",
		"DINGQ_HTTP_ADDR":           freeAddr(h.t),
		"DINGQ_LOG_LEVEL":           "debug",
		// Tests of other things push thousands of jobs; limits_test.go turns the limits on.
		"DINGQ_RATE_API":   "off",
		"DINGQ_RATE_ROBOT": "off",
	}
}

// start runs `dingq serve` in-process with env until the test ends; it returns the exit code
// channel and a stop function.
func (h *harness) start(env map[string]string, args ...string) (stop func() int) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, append([]string{"serve"}, args...), stdio{in: strings.NewReader(""), out: h.out, err: h.out, getenv: mapEnv(env), environ: environOf(env)})
	}()
	var once sync.Once
	var exit int
	stop = func() int {
		once.Do(func() { cancel(); exit = <-code })
		return exit
	}
	h.t.Cleanup(func() { stop() })
	waitFor(h.t, 15*time.Second, "worker started", func() bool { return h.out.Has("worker started") }, h.out)
	return stop
}

// cli runs a short command and returns its exit code and output.
func cli(env map[string]string, stdin string, args ...string) (int, string) {
	var out bytes.Buffer
	code := run(context.Background(), args, stdio{in: strings.NewReader(stdin), out: &out, err: &out, getenv: mapEnv(env)})
	return code, out.String()
}

func TestServeSendsRetriesAndDeadLettersWithoutLeakingSecrets(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	env["DINGQ_DEBUG_ENDPOINTS"] = "true"
	stop := h.start(env)
	if code := httpGet(t, "http://"+env["DINGQ_HTTP_ADDR"]+"/debug/vars"); code != http.StatusOK {
		t.Errorf("/debug/vars = %d with DINGQ_DEBUG_ENDPOINTS=true", code)
	}
	for _, f := range []sandbox.Fault{
		{Contains: "e2e-busy", Preset: "busy", Times: 2},
		{Contains: "e2e-reject", Preset: "reject"},
		{Kind: schema.KindCard, Contains: "e2e-token", Preset: "token", Times: 1},
	} {
		if err := h.sb.AddFault(f); err != nil {
			t.Fatal(err)
		}
	}

	cards := strings.Join([]string{cardJob("e2e-ok"), cardJob("e2e-busy"), cardJob("e2e-reject"), cardJob("e2e-token")}, "\n")
	if code, out := cli(env, cards, "send", "card", "-"); code != 0 || !strings.Contains(out, "published 4 card jobs") {
		t.Fatalf("send cards: exit %d: %s", code, out)
	}
	robot := `{"link":"https://oapi.dingtalk.com/robot/send?access_token=` + robotAccess + `","sk":"` + robotSK +
		`","data":[{"msgtype":"text","text":{"content":"e2e robot"}}]}`
	if code, out := cli(env, robot, "send", "robot"); code != 0 {
		t.Fatalf("send robot: exit %d: %s", code, out)
	}
	cross := `{"sender":"1@d","message_id":"e2e-cross","send_message_model":{"conversation_type":1,"uuid":"u1","content_type":1,"content":"{\"content\":\"hi\"}","cid":"c@d"}}`
	if code, out := cli(env, cross, "send", "crossdomain", "-", "--id", "cross-id-1"); code != 0 || !strings.Contains(out, "cross-id-1") {
		t.Fatalf("send crossdomain: exit %d: %s", code, out)
	}

	waitFor(t, 20*time.Second, "5 deliveries and 1 dead letter", func() bool {
		return len(h.sb.Deliveries()) == 5 && h.out.Count("dead-lettered") == 1
	}, h.out)
	for _, key := range []string{"e2e-ok", "e2e-busy", "e2e-token", "e2e-cross"} {
		if n := h.sb.DeliveryCount(key); n != 1 {
			t.Errorf("deliveries of %s = %d, want 1", key, n)
		}
	}
	if n := h.sb.DeliveryCount("e2e-reject"); n != 0 {
		t.Errorf("rejected job delivered %d times", n)
	}
	if n := h.out.Count("retry"); n != 2 {
		t.Errorf("retries = %d, want 2 (the busy job, twice; the token refresh is not a retry)", n)
	}
	dead, err := h.js.Stream(context.Background(), "DINGQ_DEAD")
	if err != nil {
		t.Fatal(err)
	}
	dl, err := dead.GetLastMsgForSubject(context.Background(), "dingq.dead.card")
	if err != nil {
		t.Fatal(err)
	}
	if dl.Header.Get(schema.HeaderJobID) != "e2e-reject" || dl.Header.Get(schema.HeaderReason) != "rejected" {
		t.Errorf("dead letter headers = %v", dl.Header)
	}
	if code := stop(); code != 0 {
		t.Errorf("serve exit code = %d, want 0", code)
	}

	// The access tokens the sandbox issued are secrets too: a repeated fetch returns the same one.
	secrets := []string{appSecret, kdocsToken, robotSK, robotAccess, fetchToken(t, h.sbURL)}
	var headers strings.Builder
	for k, v := range dl.Header {
		headers.WriteString(k + ": " + strings.Join(v, ",") + "\n")
	}
	for _, s := range secrets {
		if strings.Contains(h.out.String(), s) {
			t.Errorf("output contains secret %q", s)
		}
		if strings.Contains(headers.String(), s) {
			t.Errorf("dead-letter headers contain secret %q", s)
		}
	}
	if strings.Contains(h.out.String(), "access_token=") {
		t.Error("output contains a URL query string")
	}
}

func TestServeDemoShowsSentRetriedAndDeadLettered(t *testing.T) {
	out := &workertest.LogBuffer{}
	env := map[string]string{
		"DINGQ_NATS_LISTEN": freeAddr(t),
		"DINGQ_DATA_DIR":    t.TempDir(),
		"DINGQ_HTTP_ADDR":   freeAddr(t),
		"DINGQ_SANDBOX":     "true",
	}
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() { code <- run(ctx, []string{"serve", "--demo"}, stdio{out: out, err: out, getenv: mapEnv(env)}) }()
	waitFor(t, 30*time.Second, "the demo's outcomes", func() bool {
		return out.Count("sent") == 4 && out.Count("retry") == 2 && out.Count("dead-lettered") == 1
	}, out)
	cancel()
	if c := <-code; c != 0 {
		t.Errorf("exit code %d", c)
	}
	for _, kind := range []string{"card", "crossdomain", "robot"} {
		if !hasKind(out, "sent", kind) {
			t.Errorf("no %s job sent", kind)
		}
	}
}

func TestReadyzFollowsNATS(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	h.start(env)
	base := "http://" + env["DINGQ_HTTP_ADDR"]
	if code := httpGet(t, base+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d while running", code)
	}
	if code := httpGet(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d", code)
	}
	if code := httpGet(t, base+"/debug/vars"); code != http.StatusNotFound {
		t.Errorf("/debug/vars = %d without DINGQ_DEBUG_ENDPOINTS, want 404", code)
	}

	addr := h.srv.Addr().String()
	h.srv.Shutdown()
	waitFor(t, 10*time.Second, "/readyz not ready while NATS is down", func() bool {
		return httpGet(t, base+"/readyz") == http.StatusServiceUnavailable
	}, h.out)
	if code := httpGet(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d while NATS is down; the process itself is fine", code)
	}

	srv, err := embedded.Start(embedded.Config{Listen: addr, StoreDir: h.dir})
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	waitFor(t, 20*time.Second, "/readyz ready again", func() bool { return httpGet(t, base+"/readyz") == http.StatusOK }, h.out)
	// And the worker resumed by itself: a job published now is sent.
	if code, out := cli(env, cardJob("after-outage"), "send", "card"); code != 0 {
		t.Fatalf("send: %d %s", code, out)
	}
	waitFor(t, 20*time.Second, "the job sent after the outage", func() bool { return h.sb.DeliveryCount("after-outage") == 1 }, h.out)

	// A consumer deleted under the worker is provisioned again, and the worker is ready and
	// sending again.
	if err := h.js.DeleteConsumer(context.Background(), "DINGQ_JOBS", "dingq-worker-card"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the consumer provisioned again", func() bool {
		return h.out.Has("resources provisioned again")
	}, h.out)
	waitFor(t, 10*time.Second, "/readyz ready again", func() bool { return httpGet(t, base+"/readyz") == http.StatusOK }, h.out)
	if code, out := cli(env, cardJob("after-repair"), "send", "card"); code != 0 {
		t.Fatalf("send: %d %s", code, out)
	}
	waitFor(t, 20*time.Second, "the job sent after the repair", func() bool { return h.sb.DeliveryCount("after-repair") == 1 }, h.out)
	if !strings.Contains(getMetrics(t, base+"/metrics").Text, `dingq_reprovisioned_total{resource="consumer DINGQ_JOBS/dingq-worker-card"} 1`) {
		t.Errorf("/metrics does not count the consumer provisioned again")
	}
}

func TestSendRefusesInvalidJobsAndPublishesNothing(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	h.start(env)
	input := cardJob("fine-1") + "\n" + `{"cardTemplateId":"x"}` + "\n"
	code, out := cli(env, input, "send", "card")
	if code == 0 || !strings.Contains(out, "job 2") || !strings.Contains(out, "nothing was published") {
		t.Fatalf("exit %d: %s", code, out)
	}
	s, _ := h.js.Stream(context.Background(), "DINGQ_JOBS")
	info, _ := s.Info(context.Background())
	if info.State.Msgs != 0 || h.sb.Requests(schema.KindCard) != 0 {
		t.Errorf("something was published: %d in stream", info.State.Msgs)
	}
}

func TestSendReportsDuplicates(t *testing.T) {
	h := newHarness(t)
	env := h.env()
	h.start(env)
	for i, want := range []string{"published card job dup-1", "duplicate: job dup-1"} {
		code, out := cli(env, cardJob("dup-x"), "send", "card", "--id", "dup-1")
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("send %d: exit %d: %s", i+1, code, out)
		}
	}
}

func TestUsageAndConfigurationErrorsExitTwo(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"bogus"}, nil, "unknown command"},
		{[]string{"send"}, nil, "want a kind"},
		{[]string{"send", "fax"}, nil, "unknown job kind"},
		{[]string{"serve"}, map[string]string{"DINGQ_CONCURRENCY": "many"}, "DINGQ_CONCURRENCY"},
		{[]string{"serve", "--demo"}, nil, "--demo needs --sandbox"},
		{[]string{"serve"}, map[string]string{"DINGQ_LOG_FORMAT": "xml"}, "DINGQ_LOG_FORMAT"},
	}
	for _, c := range cases {
		code, out := cli(c.env, "", c.args...)
		if code != 2 || !strings.Contains(out, c.want) {
			t.Errorf("%v: exit %d, output %q; want 2 and %q", c.args, code, out, c.want)
		}
	}
}

func cardJob(id string) string {
	return `{"cardTemplateId":"StandardCard","openConversationId":"cid1","outTrackId":"` + id +
		`","robotCode":"robot1","cardData":"{\"cardParamMap\":{\"title\":\"t\"}}"}`
}

func fetchToken(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Post(base+"/v1.0/oauth2/accessToken", "application/json",
		strings.NewReader(`{"appKey":"app-key","appSecret":"`+appSecret+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ AccessToken string }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v.AccessToken == "" {
		t.Fatalf("token: %v", err)
	}
	return v.AccessToken
}

func httpGet(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// environOf lists env as os.Environ does, for the named profiles.
func environOf(env map[string]string) func() []string {
	return func() []string {
		var list []string
		for k, v := range env {
			list = append(list, k+"="+v)
		}
		return list
	}
}

func mapEnv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// waitFor polls cond until it holds; after timeout it fails the test with out, dingq's output.
var waitFor = workertest.WaitFor

// hasKind reports an event with the message msg about a job of the given kind.
func hasKind(b *workertest.LogBuffer, msg, kind string) bool {
	for _, ev := range b.Events(msg) {
		if ev["kind"] == kind {
			return true
		}
	}
	return false
}

// While it waits for NATS, a worker is alive (/healthz 200), so that a liveness probe does not
// restart it, and not ready (/readyz 503).
func TestHealthAnswersWhileWaitingForNATS(t *testing.T) {
	env := map[string]string{
		"DINGQ_NATS_URL":  "nats://" + freeAddr(t), // nothing listens there
		"DINGQ_HTTP_ADDR": freeAddr(t),
		"DINGQ_SANDBOX":   "true",
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &workertest.LogBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, stdio{in: strings.NewReader(""), out: out, err: out, getenv: mapEnv(env)})
	}()
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + env["DINGQ_HTTP_ADDR"]
	waitFor(t, 10*time.Second, "/healthz answering before NATS is there", func() bool {
		return httpGetOK(base+"/healthz") == http.StatusOK
	}, out)
	if code := httpGet(t, base+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d while waiting for NATS, want 503", code)
	}
}

// httpGetOK is httpGet for a server that may not listen yet: 0 when it does not answer.
func httpGetOK(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}
