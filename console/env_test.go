package console_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/console"
	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/fleet"
	"github.com/dingq/dingq/dispatcher/sandbox"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
	"github.com/dingq/dingq/worker/status"
	"github.com/dingq/dingq/worker/workertest"
)

var names = schema.NewNames("")

const (
	appKey    = "console-app-key"
	appSecret = "console-app-secret-5e1f"
	robotTok  = "robot-token-77aa10"
	robotSK   = "SECrobot-sk-c0ffee"
)

// env is a console over a real NATS server, with a real worker sending to the sandbox.
type env struct {
	t       *testing.T
	nc      *nats.Conn
	js      jetstream.JetStream
	sb      *sandbox.Sandbox
	sbURL   string
	console *console.Console
	srv     *httptest.Server
	logs    *workertest.LogBuffer
}

type envConfig struct {
	token    string
	readOnly bool
}

func newEnv(t *testing.T, ec envConfig) *env {
	t.Helper()
	_, nc, js := workertest.StartNATS(t)
	e := &env{t: t, nc: nc, js: js, logs: &workertest.LogBuffer{}}
	sb, err := sandbox.New(sandbox.Config{AppKey: appKey, AppSecret: appSecret})
	if err != nil {
		t.Fatal(err)
	}
	sbSrv, err := sandbox.Start("127.0.0.1:0", sb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sbSrv.Close() })
	e.sb, e.sbURL = sb, sbSrv.URL()
	e.startWorker()

	fc := fleet.Config{Apps: map[string]fleet.App{"": {Key: appKey, Secret: appSecret}},
		Robots: map[string]fleet.Robot{"ops": {Webhook: e.sbURL + "/robot/send?access_token=" + robotTok, Secret: robotSK}}}
	c, err := console.New(context.Background(), console.Config{JS: js, Names: names, Labels: fleet.Labels(fc),
		Token: ec.token, ReadOnly: ec.readOnly, Logger: zerolog.New(e.logs)})
	if err != nil {
		t.Fatal(err)
	}
	e.console = c
	e.srv = httptest.NewServer(c)
	t.Cleanup(func() {
		e.srv.CloseClientConnections()
		c.Close()
		e.srv.Close()
	})
	return e
}

// startWorker runs a worker sending to the sandbox, with its outcomes recorded, until the test
// ends.
func (e *env) startWorker() {
	t := e.t
	cfg := worker.Config{Names: names, MaxAttempts: 2, BackoffInitial: 50 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
		AckWait: 5 * time.Second, Concurrency: 8}
	ctx, cancel := context.WithCancel(context.Background())
	res, err := worker.ProvisionWait(ctx, e.js, cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	sender, err := fleet.New(fleet.Config{APIURL: e.sbURL, OAPIURL: e.sbURL, KdocsURL: e.sbURL, RobotVia: fleet.ViaDirect,
		Apps:   map[string]fleet.App{"": {Key: appKey, Secret: appSecret}},
		Client: dispatcher.NewHTTPClient(8, 5*time.Second), Tokens: res.Tokens, Limits: res.Limits})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := status.NewRecorder(e.nc, status.Config{Names: names})
	if err != nil {
		t.Fatal(err)
	}
	validator, err := schema.NewValidator(schema.ValidatorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(e.js, cfg, worker.Deps{Sender: sender, Resources: res, Validator: validator,
		OnOutcome: rec.Observe, Logger: zerolog.New(e.logs)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("worker: %v", err)
		}
		rec.Stop(time.Second)
	})
}

func cardJob(id string) string {
	return `{"cardTemplateId":"StandardCard","openConversationId":"cid1","outTrackId":"` + id +
		`","robotCode":"robot1","cardData":"{\"cardParamMap\":{\"title\":\"t\"}}"}`
}

func robotJob(text string) string {
	return `{"link":"https://oapi.dingtalk.com/robot/send?access_token=` + robotTok + `","sk":"` + robotSK +
		`","data":[{"msgtype":"text","text":{"content":"` + text + `"}}]}`
}

// publish puts a job on its kind's subject.
func (e *env) publish(kind schema.Kind, body string) {
	e.t.Helper()
	if _, err := e.js.Publish(context.Background(), names.SendSubject(kind), []byte(body)); err != nil {
		e.t.Fatal(err)
	}
}

// rejected publishes n cards that DingTalk rejects once each, and waits for their dead letters.
func (e *env) rejected(ids ...string) {
	e.t.Helper()
	for _, id := range ids {
		// The whole value: a fault for "pg-1" must not take "pg-10".
		f := sandbox.Fault{Kind: schema.KindCard, Contains: `"outTrackId":"` + id + `"`, Preset: sandbox.PresetReject, Times: 1}
		if err := e.sb.AddFault(f); err != nil {
			e.t.Fatal(err)
		}
		e.publish(schema.KindCard, cardJob(id))
	}
	e.waitLetters(len(ids))
}

// waitLetters waits until the dead-letter stream holds at least n letters.
func (e *env) waitLetters(n int) {
	e.t.Helper()
	workertest.WaitFor(e.t, 15*time.Second, "the dead letters", func() bool { return e.letters() >= n }, e.logs)
}

func (e *env) letters() int {
	s, err := e.js.Stream(context.Background(), names.DeadStream())
	if err != nil {
		return -1
	}
	info, err := s.Info(context.Background())
	if err != nil {
		return -1
	}
	return int(info.State.Msgs)
}

// client is a browser-like client: it keeps cookies and does not follow redirects.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// get fetches path and returns the status and body.
func (e *env) get(c *http.Client, path string) (int, string) {
	e.t.Helper()
	resp, err := c.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// post submits form to path as a same-origin browser would, and returns the status, the
// redirect's target and the body.
func (e *env) post(c *http.Client, path string, form url.Values) (int, string, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the form token of a page.
func (e *env) csrf(page string) string {
	e.t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		e.t.Fatalf("no csrf field in the page:\n%s", page)
	}
	return m[1]
}
