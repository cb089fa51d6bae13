package nats_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/dingq/dingq/console"
	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
	"github.com/dingq/dingq/worker/status"
	"github.com/dingq/dingq/worker/workertest"
)

// The console, run as the file's console user beside a worker, reads every page and replays a
// dead letter without one refusal from the server.
func TestConsoleRunsWithItsPermissions(t *testing.T) {
	srv := startFromFile(t)
	wc := connectWorker(t, srv.url)
	cfg := workerConfig()
	res := provision(t, wc, cfg)
	rec, err := status.NewRecorder(wc.nc, status.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan string, 8)
	logs := runWorkerDeps(t, wc, cfg, worker.Deps{Resources: res, OnOutcome: rec.Observe,
		Sender: dispatcher.SenderFunc(func(_ context.Context, job dispatcher.Job) error {
			sent <- job.ID
			return nil
		})})
	// One card sent, one dead-lettered as invalid.
	pc := connect(t, srv.url, "producer")
	ctx := ctxT(t)
	for _, body := range []string{cardJob("perm-sent"), `{"cardTemplateId":"x","outTrackId":"perm-invalid"}`} {
		if _, err := pc.js.Publish(ctx, names.SendSubject(schema.KindCard), []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-sent:
	case <-ctx.Done():
		t.Fatalf("nothing sent; worker log:\n%s", logs)
	}
	workertest.WaitFor(t, 10*time.Second, "the dead letter", func() bool { return srv.msgs(t, names.DeadStream()) == 1 }, logs)

	cc := connect(t, srv.url, "console")
	c, err := console.New(ctx, console.Config{JS: cc.js, Names: names, Apps: apps, Logger: zerolog.New(io.Discard)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(c)
	defer func() { hs.Close(); c.Close() }()
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || strings.Contains(strings.ToLower(string(body)), "permission") {
			t.Errorf("%s: %d:\n%s", path, resp.StatusCode, body)
		}
		return string(body)
	}
	workertest.WaitFor(t, 15*time.Second, "the overview with the worker and the letter", func() bool {
		page := get("/")
		return strings.Contains(page, "state-ready") && strings.Contains(page, "1 dead letter<") && strings.Contains(page, "1 sent")
	}, logs)
	list := get("/letters")
	seq := regexp.MustCompile(`<a href="/letters/(\d+)">`).FindStringSubmatch(list)
	if seq == nil {
		t.Fatalf("no letter listed:\n%s", list)
	}
	get("/letters/" + seq[1])
	get("/letters/" + seq[1] + "?reveal=1")
	get("/jobs?id=perm-invalid")
	get("/limits")
	get("/live")

	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(list)[1]
	form := url.Values{"csrf": {csrf}, "seq": {seq[1]}, "action": {"purge"}, "confirmed": {"1"}}
	req, _ := http.NewRequest(http.MethodPost, hs.URL+"/letters/act", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	run := resp.Header.Get("Location")
	workertest.WaitFor(t, 10*time.Second, "the purge", func() bool { return strings.Contains(get(run), "purged 1 dead letter(s)") }, logs)
	if n := srv.msgs(t, names.DeadStream()); n != 0 {
		t.Errorf("%d dead letters left after the console's purge", n)
	}
	cc.noViolations(t, "console")
}
