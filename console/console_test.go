package console_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dingq/dingq/console"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
	"github.com/dingq/dingq/worker/workertest"
	"github.com/nats-io/nats.go"
)

func TestMain(m *testing.M) { workertest.VerifyNoLeaksAfter(m, closeBench) }

func TestOverviewShowsQueueActivityDeadLettersAndWorkers(t *testing.T) {
	e := newEnv(t, envConfig{})
	for i := range 3 {
		e.publish(schema.KindCard, cardJob("ov-sent-"+strconv.Itoa(i)))
	}
	e.rejected("ov-reject-1", "ov-reject-2")
	c := e.client()
	var page string
	workertest.WaitFor(t, 15*time.Second, "the overview to count the outcomes and list the worker", func() bool {
		_, page = e.get(c, "/")
		return strings.Contains(page, "3 sent") && strings.Contains(page, "2 dead") && strings.Contains(page, `class="state-ready"`)
	}, e.logs)
	for _, want := range []string{
		"DINGQ_JOBS", `class="sent"><title>`, `class="dead"><title>`, // the bars of the last minutes
		`<a href="/letters">2 dead letters</a>`, "chatbotNotInstall", `href="/letters?kind=card&amp;reason=rejected&amp;code=chatbotNotInstall"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the overview lacks %q:\n%s", want, page)
		}
	}
}

func TestDeadLettersFilterAndPage(t *testing.T) {
	e := newEnv(t, envConfig{})
	var ids []string
	for i := range 60 {
		ids = append(ids, "pg-"+strconv.Itoa(i))
	}
	e.rejected(ids...)
	e.publish(schema.KindCard, `{"cardTemplateId":"x","outTrackId":"pg-invalid"}`)
	e.waitLetters(61)
	c := e.client()

	code, first := e.get(c, "/letters")
	if code != 200 || strings.Count(first, `<tr id="letter-`) != 50 || !strings.Contains(first, "pg-invalid") || !strings.Contains(first, `id="older"`) {
		t.Fatalf("first page: %d, %d rows:\n%s", code, strings.Count(first, `<tr id="letter-`), first)
	}
	older := olderLink.FindStringSubmatch(first)[1]
	_, second := e.get(c, strings.ReplaceAll(older, "&amp;", "&"))
	if n := strings.Count(second, `<tr id="letter-`); n != 11 || strings.Contains(second, `id="older"`) || !strings.Contains(second, `id="newest"`) {
		t.Errorf("second page: %d rows, want the 11 oldest and no older page:\n%s", n, second)
	}
	seen := map[string]int{}
	for _, page := range []string{first, second} {
		for _, m := range jobCell.FindAllStringSubmatch(page, -1) {
			seen[m[1]]++
		}
	}
	for _, id := range append(ids, "pg-invalid") {
		if seen[id] != 1 {
			t.Errorf("%s is on %d pages, want 1", id, seen[id])
		}
	}

	_, invalid := e.get(c, "/letters?reason=invalid")
	if n := strings.Count(invalid, `<tr id="letter-`); n != 1 || !strings.Contains(invalid, "pg-invalid") {
		t.Errorf("reason=invalid: %d rows:\n%s", n, invalid)
	}
	_, byJob := e.get(c, "/letters?job=pg-7")
	if n := strings.Count(byJob, `<tr id="letter-`); n != 1 || !strings.Contains(byJob, ">pg-7<") {
		t.Errorf("job=pg-7: %d rows", n)
	}
	code, bad := e.get(c, "/letters?since=yesterday&reason=tired")
	if code != http.StatusBadRequest || !strings.Contains(bad, `data-field="since"`) || !strings.Contains(bad, `data-field="reason"`) {
		t.Errorf("bad filter: %d:\n%s", code, bad)
	}
}

func TestLetterMasksSecretsUntilRevealed(t *testing.T) {
	e := newEnv(t, envConfig{})
	// A robot job that fails validation (no message) is dead-lettered with its webhook and sk.
	e.publish(schema.KindRobot, strings.Replace(robotJob("x"), `"data":[{"msgtype":"text","text":{"content":"x"}}]`, `"data":[]`, 1))
	e.waitLetters(1)
	c := e.client()
	_, list := e.get(c, "/letters")
	seq := between(list, `<a href="/letters/`, `">`)
	code, page := e.get(c, "/letters/"+seq)
	if code != 200 || !strings.Contains(page, `id="masked"`) || !strings.Contains(page, "[redacted]") {
		t.Fatalf("letter page %d:\n%s", code, page)
	}
	for _, secret := range []string{robotTok, robotSK} {
		if strings.Contains(page, secret) || strings.Contains(list, secret) {
			t.Errorf("a page shows the secret %q before it is revealed", secret)
		}
	}
	_, revealed := e.get(c, "/letters/"+seq+"?reveal=1")
	if !strings.Contains(revealed, robotTok) || !strings.Contains(revealed, robotSK) || !strings.Contains(revealed, `id="revealed"`) {
		t.Errorf("the revealed page lacks the secrets:\n%s", revealed)
	}
}

func TestReplayOfOneLetterIsConfirmedThenDelivered(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.rejected("rp-1", "rp-2")
	c := e.client()
	_, list := e.get(c, "/letters?job=rp-1")
	seq := between(list, `<a href="/letters/`, `">`)
	_, page := e.get(c, "/letters/"+seq)
	form := url.Values{"csrf": {e.csrf(page)}, "seq": {seq}, "action": {"replay"}}
	code, _, confirm := e.post(c, "/letters/act", form)
	if code != 200 || !strings.Contains(confirm, "Replay 1 dead letter?") || e.letters() != 2 {
		t.Fatalf("confirmation %d (letters %d):\n%s", code, e.letters(), confirm)
	}
	form.Set("confirmed", "1")
	code, run, _ := e.post(c, "/letters/act", form)
	if code != http.StatusSeeOther || !strings.HasPrefix(run, "/runs/") {
		t.Fatalf("confirmed: %d to %q", code, run)
	}
	var progress string
	workertest.WaitFor(t, 10*time.Second, "the run to finish", func() bool {
		_, progress = e.get(c, run)
		return strings.Contains(progress, `id="outcome"`)
	}, e.logs)
	if !strings.Contains(progress, "replayed 1 dead letter(s) to their job subjects") {
		t.Errorf("run page:\n%s", progress)
	}
	workertest.WaitFor(t, 10*time.Second, "the replayed card sent", func() bool { return e.sb.DeliveryCount("rp-1") == 1 }, e.logs)
	if n := e.letters(); n != 1 {
		t.Errorf("%d dead letters left, want rp-2's", n)
	}
}

func TestPurgeOfEverythingAFilterMatches(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.rejected("pu-1", "pu-2", "pu-3")
	e.publish(schema.KindCard, `{"cardTemplateId":"x","outTrackId":"pu-invalid"}`)
	e.waitLetters(4)
	c := e.client()
	_, list := e.get(c, "/letters?reason=rejected")
	form := url.Values{"csrf": {e.csrf(list)}, "scope": {"filter"}, "reason": {"rejected"}, "action": {"purge"}}
	_, _, confirm := e.post(c, "/letters/act", form)
	if !strings.Contains(confirm, "Purge 3 dead letters?") {
		t.Fatalf("confirmation:\n%s", confirm)
	}
	form.Set("confirmed", "1")
	_, run, _ := e.post(c, "/letters/act", form)
	workertest.WaitFor(t, 10*time.Second, "the purge", func() bool {
		_, p := e.get(c, run)
		return strings.Contains(p, "purged 3 dead letter(s)")
	}, e.logs)
	if _, rest := e.get(c, "/letters"); e.letters() != 1 || !strings.Contains(rest, "pu-invalid") {
		t.Errorf("%d dead letters left, want the invalid one:\n%s", e.letters(), rest)
	}
}

func TestAConsoleOffLoopbackNeedsAToken(t *testing.T) {
	for addr, open := range map[string]bool{"127.0.0.1:8080": true, "[::1]:8080": true, "localhost:8080": true,
		"0.0.0.0:8080": false, ":8080": false, "10.1.2.3:8080": false, "[::]:8080": false} {
		err := console.CheckListen(addr, "")
		if open != (err == nil) {
			t.Errorf("CheckListen(%q, no token) = %v", addr, err)
		}
		if err != nil && !strings.Contains(err.Error(), "DINGQ_CONSOLE_TOKEN") {
			t.Errorf("CheckListen(%q): %v does not say what to set", addr, err)
		}
		if err := console.CheckListen(addr, "tok"); err != nil {
			t.Errorf("CheckListen(%q, token) = %v", addr, err)
		}
	}
}

func TestEveryRequestNeedsTheTokenOrALogin(t *testing.T) {
	const token = "console-token-9f31d2"
	e := newEnv(t, envConfig{token: token})
	c := e.client()
	if code, _ := e.get(c, "/letters"); code != http.StatusSeeOther {
		t.Errorf("GET /letters without the token: %d, want a redirect to the login", code)
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/live/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the event stream without the token: %v %v", resp.Status, err)
	} else {
		resp.Body.Close()
	}
	req, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/letters", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := c.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("GET with the bearer token: %v %v", resp.Status, err)
	} else {
		resp.Body.Close()
	}
	if code, _, body := e.post(c, "/login", url.Values{"token": {"wrong"}}); code != http.StatusUnauthorized || !strings.Contains(body, "not the console") {
		t.Errorf("a wrong token: %d", code)
	}
	code, to, _ := e.post(c, "/login", url.Values{"token": {token}})
	if code != http.StatusSeeOther || to != "/" {
		t.Fatalf("login: %d to %q", code, to)
	}
	u, _ := url.Parse(e.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if strings.Contains(ck.Value, token) {
			t.Errorf("the cookie holds the token")
		}
	}
	code, page := e.get(c, "/")
	if code != 200 || strings.Contains(page, token) {
		t.Errorf("after login: %d, token shown: %v", code, strings.Contains(page, token))
	}
	if !strings.Contains(page, `action="/logout"`) {
		t.Error("no way to log out")
	}
}

func TestActionsNeedTheFormTokenAndTheSameOrigin(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.rejected("cs-1")
	c := e.client()
	_, list := e.get(c, "/letters")
	seq := between(list, `<a href="/letters/`, `">`)
	form := url.Values{"seq": {seq}, "action": {"purge"}, "confirmed": {"1"}}
	if code, _, _ := e.post(c, "/letters/act", form); code != http.StatusForbidden {
		t.Errorf("without the form token: %d", code)
	}
	form.Set("csrf", e.csrf(list))
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/letters/act", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site POST: %d", resp.StatusCode)
	}
	if e.letters() != 1 {
		t.Errorf("a refused purge removed the letter")
	}
	for _, path := range []string{"/", "/letters", "/static/console.css", "/login"} {
		resp, err := c.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: may be framed", path)
		}
	}
}

func TestReadOnlyHidesAndRefusesActions(t *testing.T) {
	e := newEnv(t, envConfig{readOnly: true, token: "read-only-token"})
	e.rejected("ro-1")
	c := e.client()
	if code, _, _ := e.post(c, "/login", url.Values{"token": {"read-only-token"}}); code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	_, list := e.get(c, "/letters")
	if strings.Contains(list, `name="action"`) || !strings.Contains(list, "read-only") {
		t.Errorf("a read-only list offers actions:\n%s", list)
	}
	seq := between(list, `<a href="/letters/`, `">`)
	_, page := e.get(c, "/letters/"+seq)
	if strings.Contains(page, `name="action"`) {
		t.Error("a read-only letter page offers actions")
	}
	form := url.Values{"csrf": {e.csrf(page)}, "seq": {seq}, "action": {"purge"}, "confirmed": {"1"}}
	if code, _, _ := e.post(c, "/letters/act", form); code != http.StatusForbidden || e.letters() != 1 {
		t.Errorf("a read-only purge: %d, %d letters", code, e.letters())
	}
}

func TestJobLookup(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.publish(schema.KindCard, cardJob("jl-sent"))
	e.rejected("jl-dead")
	c := e.client()
	var sent, dead string
	workertest.WaitFor(t, 10*time.Second, "both outcomes recorded", func() bool {
		_, sent = e.get(c, "/jobs?id=jl-sent")
		_, dead = e.get(c, "/jobs?id=jl-dead")
		return strings.Contains(sent, "<strong>sent</strong>") && strings.Contains(dead, "<strong>dead</strong>")
	}, e.logs)
	if !strings.Contains(dead, "chatbotNotInstall") || !strings.Contains(dead, `<a href="/letters/`) {
		t.Errorf("a dead job's page:\n%s", dead)
	}
	if _, unknown := e.get(c, "/jobs?id=never-seen"); !strings.Contains(unknown, `id="pending"`) {
		t.Errorf("an unknown job is not pending:\n%s", unknown)
	}
}

func TestLimitsShowTargetsAndTokensWithoutSecrets(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.publish(schema.KindCard, cardJob("lt-1"))
	workertest.WaitFor(t, 10*time.Second, "the card sent", func() bool { return e.sb.DeliveryCount("lt-1") == 1 }, e.logs)
	c := e.client()
	_, page := e.get(c, "/limits")
	if !strings.Contains(page, "app (default): api") || !strings.Contains(page, "ago") {
		t.Errorf("the token's row:\n%s", page)
	}
	kv, err := e.js.KeyValue(context.Background(), names.TokenBucket())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kv.ListKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for k := range keys.Keys() {
		entry, err := kv.Get(context.Background(), k)
		if err != nil {
			continue
		}
		var v struct{ Token string }
		_ = json.Unmarshal(entry.Value(), &v)
		if v.Token != "" && strings.Contains(page, v.Token) {
			t.Errorf("the limits page shows the access token")
		}
	}
	for _, s := range []string{appKey, appSecret, robotTok, robotSK} {
		if strings.Contains(page, s) {
			t.Errorf("the limits page shows %q", s)
		}
	}
}

func TestLiveStreamsOutcomesFilteredByKind(t *testing.T) {
	e := newEnv(t, envConfig{})
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/live/events?kind=card", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	lines := bufio.NewScanner(resp.Body)
	lines.Scan() // the opening comment
	e.publish(schema.KindRobot, robotJob("not this one"))
	e.publish(schema.KindCard, cardJob("live-1"))
	for lines.Scan() {
		data, ok := strings.CutPrefix(lines.Text(), "data: ")
		if !ok {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatal(err)
		}
		if ev["kind"] != "card" {
			t.Errorf("an event of kind %v on a card stream", ev["kind"])
			continue
		}
		if ev["job_id"] != "live-1" || ev["outcome"] != "sent" {
			t.Errorf("event %v", ev)
		}
		return
	}
	t.Fatalf("no event: %v", lines.Err())
}

var (
	olderLink = regexp.MustCompile(`<a href="([^"]*)" id="older">`)
	jobCell   = regexp.MustCompile(`<td><code>([^<]*)</code></td>`)
)

// between returns the text of s between the first from and the next to.
func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, to)
	return v
}

// A console started before any worker says what is missing, and works once a worker has run.
func TestConsoleBeforeAnyWorker(t *testing.T) {
	_, _, js := workertest.StartNATS(t)
	c, err := console.New(context.Background(), console.Config{JS: js, Names: names})
	if err != nil {
		t.Fatalf("New before any worker: %v", err)
	}
	srv := httptest.NewServer(c)
	defer func() { srv.Close(); c.Close() }()
	for path, want := range map[string]string{"/": "dead-letter stream not found", "/letters": "has a worker run", "/jobs?id=x": `id="pending"`} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), want) {
			t.Errorf("%s: %d, lacks %q:\n%s", path, resp.StatusCode, want, body)
		}
	}
	if _, err := worker.Provision(context.Background(), js, worker.Config{Names: names}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.URL + "/letters")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/letters once the streams exist: %d", resp.StatusCode)
	}
}

// Letters a worker had to trim, with an odd header value and a body at the payload limit, are
// listed marked, shown with the value quoted and the truncation said, and the truncated one
// offers no replay.
func TestTrimmedAndOddLettersRender(t *testing.T) {
	e := newEnv(t, envConfig{})
	addr := strings.TrimPrefix(e.nc.ConnectedUrl(), "nats://")
	workertest.RawPublish(t, addr, "dingq.send.card", "Nats-Msg-Id: raw-1\r\nX-Trace/Id: 42\r\nX-Odd: a\x1b[2Jb<script>\r\n", []byte(`{"cardTemplateId":"x"}`))
	big := nats.NewMsg("dingq.send.card")
	big.Header.Set(schema.HeaderMsgID, "big-1")
	block := len("NATS/1.0\r\n" + schema.HeaderMsgID + ": big-1\r\n\r\n")
	big.Data = append([]byte(`{"cardTemplateId":"`), bytes.Repeat([]byte("x"), int(e.nc.MaxPayload())-block-len(`{"cardTemplateId":"`))...)
	if _, err := e.js.PublishMsg(context.Background(), big); err != nil {
		t.Fatal(err)
	}
	e.waitLetters(2)
	c := e.client()
	_, list := e.get(c, "/letters")
	if !strings.Contains(list, "body truncated") || !strings.Contains(list, "headers dropped") {
		t.Errorf("the list does not mark the trimmed letters:\n%s", list)
	}
	_, odd := e.get(c, "/letters?job=raw-1")
	seq := between(odd, `<a href="/letters/`, `">`)
	code, page := e.get(c, "/letters/"+seq)
	if code != 200 || !strings.Contains(page, `&#34;a\x1b[2Jb&lt;script&gt;&#34;`) || strings.Contains(page, "<script>") ||
		!strings.Contains(page, "X-Trace/Id") {
		t.Errorf("the odd letter's page (%d) does not quote its value or name the dropped header:\n%s", code, page)
	}
	_, trunc := e.get(c, "/letters?job=big-1")
	seq = between(trunc, `<a href="/letters/`, `">`)
	code, page = e.get(c, "/letters/"+seq)
	if code != 200 || !strings.Contains(page, "it cannot be replayed") || strings.Contains(page, `id="replay"`) || !strings.Contains(page, `id="purge"`) {
		t.Errorf("the truncated letter's page (%d) offers a replay or does not say why not", code)
	}
}

// Two consoles with one token (replicas behind one address, or one restarted) accept each
// other's forms; a console with another token does not.
func TestFormTokensHoldAcrossConsolesWithOneToken(t *testing.T) {
	e := newEnv(t, envConfig{token: "shared-token-0b1d"})
	other := func(token string) *httptest.Server {
		c, err := console.New(context.Background(), console.Config{JS: e.js, Names: names, Token: token})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(c)
		t.Cleanup(func() { srv.Close(); c.Close() })
		return srv
	}
	form := func(srv *httptest.Server, token string) string {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/letters", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return e.csrf(string(body))
	}
	same, differs := other("shared-token-0b1d"), other("another-token-5c2e")
	if form(e.srv, "shared-token-0b1d") != form(same, "shared-token-0b1d") {
		t.Error("two consoles with one token issue different form tokens")
	}
	if form(e.srv, "shared-token-0b1d") == form(differs, "another-token-5c2e") {
		t.Error("consoles with different tokens issue the same form token")
	}
}
