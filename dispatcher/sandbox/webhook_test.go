package sandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dingq/dingq/schema"
)

const (
	hookTok  = "hook-robot-token"
	hookText = `{"msgtype":"text","text":{"content":"hello"}}`
)

// hookMsg is a text message with msgUuid id ("" for none).
func hookMsg(id string) string {
	if id == "" {
		return hookText
	}
	return `{"msgtype":"text","text":{"content":"hello"},"msgUuid":"` + id + `"}`
}

// hook posts body to the webhook of the robot whose token is tok, with query's other parameters.
func (e *env) hook(tok string, query url.Values, body string) reply {
	e.t.Helper()
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	if tok != "" {
		q.Set("access_token", tok)
	}
	return e.do(e.request("POST", "/robot/send?"+q.Encode(), body))
}

// hookSigned is the query of a request signed with secret at ts, the signature computed here.
func hookSigned(secret string, ts time.Time) url.Values {
	t := strconv.FormatInt(ts.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(t + "\n" + secret))
	return url.Values{"timestamp": {t}, "sign": {base64.StdEncoding.EncodeToString(mac.Sum(nil))}}
}

// wantErrcode checks a webhook answer: HTTP 200 {"errcode":code,"errmsg":...}.
func wantErrcode(t *testing.T, what string, r reply, code int) {
	t.Helper()
	msg, _ := r.json["errmsg"].(string)
	if r.status != 200 || r.json["errcode"] != float64(code) || keys(r.json) != "errcode,errmsg" || msg == "" {
		t.Errorf("%s: %d %s, want 200 errcode %d", what, r.status, r.raw, code)
	}
}

func TestWebhookDelivers(t *testing.T) {
	e := newEnv(t, Config{RecordBodies: true})
	r := e.hook(hookTok, nil, hookText)
	if r.status != 200 || r.raw != `{"errcode":0,"errmsg":"ok"}` {
		t.Fatalf("send: %d %s", r.status, r.raw)
	}
	e.hook("other-robot", nil, hookText)
	ds := e.sb.Deliveries()
	if len(ds) != 2 || ds[0].Kind != schema.KindRobot || ds[0].Key != schema.BodyHash([]byte(hookText)) || string(ds[0].Body) != hookText {
		t.Fatalf("Deliveries = %+v, want the message, keyed by its hash", ds)
	}
	if ds[0].Robot != WebhookRobot(hookTok) || ds[1].Robot != WebhookRobot("other-robot") || ds[0].Robot == ds[1].Robot {
		t.Errorf("robots %q, %q: want each its own", ds[0].Robot, ds[1].Robot)
	}
	if strings.Contains(ds[0].Robot, hookTok) {
		t.Errorf("Robot %q holds the token", ds[0].Robot)
	}
	if st := e.sb.Stats(); st.Outcomes[schema.KindRobot][OutcomeDelivered] != 2 || st.Deliveries[schema.KindRobot] != 2 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestWebhookChecks(t *testing.T) {
	e := newEnv(t, Config{})
	for _, tc := range []struct {
		name, body string
		errcode    int
	}{
		{"text", hookText, 0},
		{"markdown", `{"msgtype":"markdown","markdown":{"title":"t","text":"# hi"}}`, 0},
		{"link", `{"msgtype":"link","link":{"title":"t","text":"x","messageUrl":"https://e.com"}}`, 0},
		{"actionCard", `{"msgtype":"actionCard","actionCard":{"title":"t","text":"x","singleTitle":"o","singleURL":"https://e.com"}}`, 0},
		{"feedCard", `{"msgtype":"feedCard","feedCard":{"links":[{"title":"t","messageURL":"https://e.com","picURL":"https://e.com/p"}]}}`, 0},
		{"not JSON", `{"msgtype":`, errcodeHookBadParam},
		{"an array", `[]`, errcodeHookBadParam},
		{"no msgtype", `{"text":{"content":"hi"}}`, errcodeHookBadParam},
		{"unknown msgtype", `{"msgtype":"image","image":{}}`, errcodeHookBadParam},
		{"text without text", `{"msgtype":"text"}`, errcodeHookBadParam},
		{"markdown without title", `{"msgtype":"markdown","markdown":{"text":"# hi"}}`, errcodeHookNoTitle},
		{"markdown without text", `{"msgtype":"markdown","markdown":{"title":"t"}}`, errcodeHookNoTitle},
		{"markdown like the relay's sample", `{"msgtype":"markdown","markdown":{"content":"# hi"}}`, errcodeHookNoTitle},
		{"too long", `{"msgtype":"text","text":{"content":"` + strings.Repeat("x", schema.MaxRobotMessageBytes) + `"}}`, errcodeHookTooLong},
	} {
		r := e.hook(hookTok, nil, tc.body)
		if tc.errcode == 0 {
			if r.raw != `{"errcode":0,"errmsg":"ok"}` {
				t.Errorf("%s: %d %s, want sent", tc.name, r.status, r.raw)
			}
			continue
		}
		wantErrcode(t, tc.name, r, tc.errcode)
	}
	if r := e.hook("", nil, hookText); r.raw != `{"errcode":40035,"errmsg":"缺少参数 access_token"}` {
		t.Errorf("no access_token: %d %s, want DingTalk's errcode 40035", r.status, r.raw)
	}
	if n := len(e.sb.Deliveries()); n != 5 {
		t.Errorf("%d deliveries, want 5", n)
	}
}

func TestWebhookSignature(t *testing.T) {
	const secret = "SEChook-signing-secret"
	e := newEnv(t, Config{RobotSecrets: map[string]string{hookTok: secret}})
	now := time.Now()
	good := hookSigned(secret, now)
	doubled := hookSigned(secret, now)
	doubled.Set("sign", url.QueryEscape(doubled.Get("sign")))
	wrongSecret := hookSigned("SECsomething-else", now)
	otherTime := hookSigned(secret, now)
	otherTime.Set("timestamp", strconv.FormatInt(now.UnixMilli()+1, 10))
	for _, tc := range []struct {
		name    string
		query   url.Values
		errcode int
	}{
		{"signed now", good, 0},
		{"signed 59 minutes ago", hookSigned(secret, now.Add(-59*time.Minute)), 0},
		{"signed 59 minutes ahead", hookSigned(secret, now.Add(59*time.Minute)), 0},
		{"unsigned", nil, errcodeHookSecurity},
		{"sign escaped twice", doubled, errcodeHookSecurity},
		{"wrong secret", wrongSecret, errcodeHookSecurity},
		{"sign of another timestamp", otherTime, errcodeHookSecurity},
		{"signed 2 hours ago", hookSigned(secret, now.Add(-2*time.Hour)), errcodeHookSecurity},
		{"signed 2 hours ahead", hookSigned(secret, now.Add(2*time.Hour)), errcodeHookSecurity},
		{"timestamp not a number", url.Values{"timestamp": {"now"}, "sign": good["sign"]}, errcodeHookSecurity},
	} {
		r := e.hook(hookTok, tc.query, hookText)
		if tc.errcode == 0 {
			if r.raw != `{"errcode":0,"errmsg":"ok"}` {
				t.Errorf("%s: %d %s, want sent", tc.name, r.status, r.raw)
			}
			continue
		}
		wantErrcode(t, tc.name, r, tc.errcode)
	}
	if r := e.hook("unsigned-robot", nil, hookText); r.raw != `{"errcode":0,"errmsg":"ok"}` {
		t.Errorf("a robot without a secret: %s, want sent unsigned", r.raw)
	}
	if n := len(e.sb.Deliveries()); n != 4 {
		t.Errorf("%d deliveries, want 4", n)
	}
	if st := e.sb.Stats(); st.Outcomes[schema.KindRobot][OutcomeTokenInvalid] != 7 {
		t.Errorf("Stats.Outcomes = %v, want 7 refused", st.Outcomes[schema.KindRobot])
	}
}

func TestWebhookDeduplicates(t *testing.T) {
	e := newEnv(t, Config{})
	for range 3 {
		if r := e.hook(hookTok, nil, hookMsg("job-1-0")); r.raw != `{"errcode":0,"errmsg":"ok"}` {
			t.Fatalf("repeat: %s, want errcode 0", r.raw)
		}
	}
	e.hook(hookTok, nil, hookMsg("job-1-1"))       // another message
	e.hook("other-robot", nil, hookMsg("job-1-0")) // the same msgUuid, to another robot
	e.hook(hookTok, nil, hookMsg(""))
	e.hook(hookTok, nil, hookMsg("")) // no msgUuid: posted twice
	if n := e.sb.DeliveryCount(schema.BodyHash([]byte(hookMsg("job-1-0")))); n != 2 {
		t.Errorf("msgUuid job-1-0 delivered %d times, want once per robot", n)
	}
	st := e.sb.Stats()
	if st.Deliveries[schema.KindRobot] != 5 || st.Outcomes[schema.KindRobot][OutcomeDuplicate] != 2 || st.Duplicates != 2 {
		t.Errorf("Stats = %+v, want 5 deliveries, 2 duplicate outcomes, 2 duplicates", st)
	}
}

func TestWebhookLimit(t *testing.T) {
	const block = 100 * time.Millisecond
	e := newEnv(t, Config{RobotLimit: 3, RobotWindow: time.Hour, RobotBlock: block})
	for i := range 3 {
		if r := e.hook(hookTok, nil, hookMsg(fmt.Sprint("m", i))); r.raw != `{"errcode":0,"errmsg":"ok"}` {
			t.Fatalf("message %d: %s", i, r.raw)
		}
	}
	blocked := time.Now()
	wantErrcode(t, "over the limit", e.hook(hookTok, nil, hookMsg("m3")), errcodeHookTooFast)
	wantErrcode(t, "blocked", e.hook(hookTok, nil, hookMsg("m4")), errcodeHookTooFast)
	wantErrcode(t, "blocked, a repeat", e.hook(hookTok, nil, hookMsg("m0")), errcodeHookTooFast)
	if r := e.hook("other-robot", nil, hookMsg("m3")); r.raw != `{"errcode":0,"errmsg":"ok"}` {
		t.Errorf("another robot: %s, want its own limit", r.raw)
	}

	// Wait for the block to end: poll until the robot takes a message again.
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for e.hook(hookTok, nil, hookMsg("m5")).raw != `{"errcode":0,"errmsg":"ok"}` {
		if time.Now().After(deadline) {
			t.Fatal("the robot is still blocked after 10 s")
		}
		<-tick.C
	}
	if waited := time.Since(blocked); waited < block {
		t.Errorf("unblocked after %v, want at least %v", waited, block)
	}
	st := e.sb.Stats()
	if st.Deliveries[schema.KindRobot] != 5 || st.Outcomes[schema.KindRobot][OutcomeThrottled] < 3 {
		t.Errorf("Stats = %+v, want 5 deliveries and the refusals counted throttled", st)
	}
}

// The limit's window slides, and the block, not the window, decides when the robot is back.
func TestRobotBookAdmit(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	b := newRobotBook(2, time.Minute, 10*time.Minute)
	steps := []struct {
		at   time.Duration
		uuid string
		want admission
	}{
		{0, "a", admitted},
		{40 * time.Second, "b", admitted},
		{50 * time.Second, "a", admitDuplicate}, // a repeat does not count
		{61 * time.Second, "c", admitted},       // "a" left the window
		{90 * time.Second, "d", admitLimited},   // "b" and "c" are within a minute: blocked until 11m30s
		{5 * time.Minute, "e", admitLimited},
		{11*time.Minute + 29*time.Second, "a", admitLimited},
		{11*time.Minute + 30*time.Second, "d", admitted}, // a new window
		{11*time.Minute + 31*time.Second, "", admitted},
		{11*time.Minute + 32*time.Second, "", admitLimited},
	}
	for i, s := range steps {
		if got := b.admit(hookTok, s.uuid, at(s.at)); got != s.want {
			t.Errorf("step %d (%v, %q): %d, want %d", i, s.at, s.uuid, got, s.want)
		}
	}
	if got := b.admit("other", "a", at(12*time.Minute)); got != admitted {
		t.Errorf("another robot: %d, want admitted", got)
	}
	unlimited := newRobotBook(0, time.Minute, time.Minute)
	for i := range 100 {
		if got := unlimited.admit(hookTok, strconv.Itoa(i), t0); got != admitted {
			t.Fatalf("no limit, message %d: %d", i, got)
		}
	}
}

func TestWebhookPresets(t *testing.T) {
	for _, tc := range []struct {
		preset  string
		errcode int
	}{
		{PresetBusy, errcodeHookBusy},
		{PresetThrottle, errcodeHookTooFast},
		{PresetReject, errcodeHookNoRobot},
		{PresetToken, errcodeHookToken},
	} {
		t.Run(tc.preset, func(t *testing.T) {
			e := newEnv(t, Config{})
			if err := e.sb.AddFault(Fault{Kind: schema.KindRobot, Contains: `"hello"`, Preset: tc.preset, Times: 1}); err != nil {
				t.Fatal(err)
			}
			wantErrcode(t, tc.preset, e.hook(hookTok, nil, hookText), tc.errcode)
			if r := e.hook(hookTok, nil, hookText); r.raw != `{"errcode":0,"errmsg":"ok"}` {
				t.Errorf("after the fault: %s", r.raw)
			}
		})
	}
	e := newEnv(t, Config{})
	if err := e.sb.AddFault(Fault{Kind: schema.KindRobot, Code: "430101", Times: 1}); err != nil {
		t.Fatal(err)
	}
	wantErrcode(t, "a bare code", e.hook(hookTok, nil, hookText), 430101)
	if err := e.sb.AddFault(Fault{Kind: schema.KindRobot, Preset: PresetHTML, Times: 1}); err != nil {
		t.Fatal(err)
	}
	if r := e.hook(hookTok, nil, hookText); r.status != 403 || r.json != nil {
		t.Errorf("html: %d %s, want the ban page", r.status, r.raw)
	}
	if n := len(e.sb.Deliveries()); n != 0 {
		t.Errorf("%d deliveries, want none", n)
	}
}
