//go:build browser

package console_test

// Browser tests: a real headless Chromium (Debian's chromium package) drives the console over a
// real worker and the sandbox. `make test-browser` runs them; without a Chromium they fail, not
// skip. With DINGQ_SCREENSHOTS=<dir> they also save a screenshot of each page there (`make
// screenshots` writes docs/console/).

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker/workertest"
)

// browser starts a headless Chromium for the test and returns its context.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Fatal("no Chromium found: install Debian's chromium package (apt-get install -y chromium); .ci/run does")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.DisableGPU)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium at %s: %v", path, err)
	}
	return ctx
}

// shot saves a screenshot of the whole page as name.png when DINGQ_SCREENSHOTS names a folder.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("DINGQ_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// The operator's day: the overview, a filtered list, a robot letter masked until revealed, one
// letter replayed and seen at DingTalk, one purged after its confirmation.
func TestBrowserOperatorReplaysAndPurges(t *testing.T) {
	e := newEnv(t, envConfig{})
	for i := range 5 {
		e.publish(schema.KindCard, cardJob(fmt.Sprintf("br-sent-%d", i)))
	}
	e.rejected("br-replay-me", "br-purge-me", "br-other")
	e.publish(schema.KindRobot, strings.Replace(robotJob("x"), `"data":[{"msgtype":"text","text":{"content":"x"}}]`, `"data":[]`, 1))
	e.waitLetters(4)
	ctx := browser(t)

	// The overview counts what happened and lists the worker.
	workertest.WaitFor(t, 20*time.Second, "the overview with the worker ready", func() bool {
		do(t, ctx, chromedp.Navigate(e.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#dead-total")))
		page, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		return strings.Contains(page, "5 sent") && strings.Contains(page, "ready")
	}, e.logs)
	if got := text(t, ctx, "#dead-total"); !strings.Contains(got, "4 dead letters") {
		t.Errorf("overview: %q", got)
	}
	shot(t, ctx, "overview")

	// Filter the list to the rejected cards.
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/letters"), chromedp.WaitVisible(chromedp.CSS("#filters")),
		chromedp.SetValue(chromedp.CSS("#f-reason"), "rejected"), chromedp.Click(chromedp.CSS("#apply")))
	workertest.WaitFor(t, 10*time.Second, "the filtered list", func() bool {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		return strings.Contains(loc, "reason=rejected")
	})
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS("#letters")))
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#letters tbody tr[id^=letter-]").length`))
	if err != nil || rows != 3 {
		t.Errorf("rejected letters listed: %d, %v; want 3", rows, err)
	}
	shot(t, ctx, "dead-letters")

	// A robot letter shows no secret until revealed.
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/letters?kind=robot"), chromedp.WaitVisible(chromedp.CSS("#letters")),
		chromedp.Click(chromedp.CSS("#letters tbody a")), chromedp.WaitVisible(chromedp.CSS("#masked")))
	masked := text(t, ctx, "body")
	if strings.Contains(masked, robotTok) || strings.Contains(masked, robotSK) || !strings.Contains(masked, "[redacted]") {
		t.Errorf("the robot letter shows a secret before it is revealed:\n%s", masked)
	}
	shot(t, ctx, "dead-letter")
	do(t, ctx, chromedp.Click(chromedp.CSS("#reveal")), chromedp.WaitVisible(chromedp.CSS("#revealed")))
	if body := text(t, ctx, "#body"); !strings.Contains(body, robotSK) {
		t.Errorf("revealed body lacks the sk: %s", body)
	}

	// Replay one letter: confirm, watch the run finish, and see DingTalk receive the card.
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/letters?job=br-replay-me"), chromedp.WaitVisible(chromedp.CSS("#letters")),
		chromedp.Click(chromedp.CSS("#letters tbody a")), chromedp.WaitVisible(chromedp.CSS("#replay")),
		chromedp.Click(chromedp.CSS("#replay")), chromedp.WaitVisible(chromedp.CSS("#question")))
	if q := text(t, ctx, "#question"); !strings.Contains(q, "Replay 1 dead letter?") {
		t.Errorf("confirmation: %q", q)
	}
	shot(t, ctx, "confirm")
	do(t, ctx, chromedp.Click(chromedp.CSS("#confirm")), chromedp.WaitVisible(chromedp.CSS("#outcome")))
	if out := text(t, ctx, "#outcome"); !strings.Contains(out, "replayed 1 dead letter(s)") {
		t.Errorf("run: %q", out)
	}
	shot(t, ctx, "run")
	workertest.WaitFor(t, 10*time.Second, "the replayed card at DingTalk", func() bool { return e.sb.DeliveryCount("br-replay-me") == 1 }, e.logs)

	// Purge one letter, checked in the list, after its confirmation.
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/letters?job=br-purge-me"), chromedp.WaitVisible(chromedp.CSS("#letters")),
		chromedp.Click(chromedp.CSS(`#letters input[type=checkbox]`)), chromedp.Click(chromedp.CSS("#purge-checked")),
		chromedp.WaitVisible(chromedp.CSS("#question")))
	if e.letters() != 3 {
		t.Errorf("the purge ran before its confirmation: %d letters", e.letters())
	}
	do(t, ctx, chromedp.Click(chromedp.CSS("#confirm")), chromedp.WaitVisible(chromedp.CSS("#outcome")))
	if out := text(t, ctx, "#outcome"); !strings.Contains(out, "purged 1 dead letter(s)") {
		t.Errorf("purge: %q", out)
	}
	if n := e.letters(); n != 2 {
		t.Errorf("%d letters left, want 2", n)
	}

	// The job page, limits and the live page.
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/jobs?id=br-other"), chromedp.WaitVisible(chromedp.CSS("#status")))
	if s := text(t, ctx, "#status"); !strings.Contains(s, "dead") || !strings.Contains(s, "chatbotNotInstall") {
		t.Errorf("job status: %q", s)
	}
	shot(t, ctx, "job")
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/limits"), chromedp.WaitVisible(chromedp.CSS("#tokens")))
	if tok := text(t, ctx, "#tokens"); !strings.Contains(tok, "app (default): api") {
		t.Errorf("tokens: %q", tok)
	}
	shot(t, ctx, "limits")
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/live"), chromedp.WaitVisible(chromedp.CSS("#live")))
	workertest.WaitFor(t, 10*time.Second, "the live page listening", func() bool {
		s, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#live-state")))
		return s == "listening"
	})
	e.publish(schema.KindCard, cardJob("br-live"))
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#live-rows tr`)))
	if row := text(t, ctx, "#live-rows"); !strings.Contains(row, "br-live") {
		t.Errorf("live: %q", row)
	}
	shot(t, ctx, "live")
}

// A console with a token shows the login first, and refuses a wrong token.
func TestBrowserLogin(t *testing.T) {
	const token = "browser-token-31c7"
	e := newEnv(t, envConfig{token: token})
	ctx := browser(t)
	do(t, ctx, chromedp.Navigate(e.srv.URL+"/letters"), chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), "wrong"), chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#login-error")))
	shot(t, ctx, "login")
	do(t, ctx, chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#dead-total")))
	if page := text(t, ctx, "body"); strings.Contains(page, token) {
		t.Error("a page shows the token")
	}
}
