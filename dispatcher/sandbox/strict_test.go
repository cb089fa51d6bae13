package sandbox

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dingq/dingq/schema"
)

// The tests of the checks that make the sandbox as strict as DingTalk, in DingTalk's words.

// A signing robot's refusals say what DingTalk says: a sign that does not match (wrong, missing,
// or with no usable timestamp beside it), or a timestamp out of the hour's window.
func TestWebhookSignatureWording(t *testing.T) {
	const secret = "SEChook-signing-secret"
	e := newEnv(t, Config{RobotSecrets: map[string]string{hookTok: secret}})
	now := time.Now()
	good := hookSigned(secret, now)
	for _, tc := range []struct {
		name   string
		query  url.Values
		errmsg string
	}{
		{"unsigned", nil, msgHookSignWrong},
		{"sign without timestamp", url.Values{"sign": good["sign"]}, msgHookSignWrong},
		{"timestamp without sign", url.Values{"timestamp": good["timestamp"]}, msgHookSignWrong},
		{"timestamp not a number", url.Values{"timestamp": {"x" + good.Get("timestamp")}, "sign": good["sign"]}, msgHookSignWrong},
		{"wrong secret", hookSigned("SECother", now), msgHookSignWrong},
		{"signed 61 minutes ago", hookSigned(secret, now.Add(-61*time.Minute)), msgHookSignExpired},
		{"signed 61 minutes ahead", hookSigned(secret, now.Add(61*time.Minute)), msgHookSignExpired},
	} {
		r := e.hook(hookTok, tc.query, hookText)
		if r.status != 200 || r.json["errcode"] != 310000.0 || r.json["errmsg"] != tc.errmsg {
			t.Errorf("%s: %d %s, want 310000 %q", tc.name, r.status, r.raw, tc.errmsg)
		}
	}
	if !strings.HasPrefix(msgHookSignWrong, "description:机器人发送签名不匹配;") ||
		!strings.HasPrefix(msgHookSignExpired, "description:机器人发送签名过期;") {
		t.Error("the errmsgs are not DingTalk's")
	}
}

// The sign travels URL-encoded once: a client that leaves its '+' and '/' unescaped, or escapes
// them twice, is refused, as DingTalk refuses it; one that escapes once is not.
func TestWebhookSignEncoding(t *testing.T) {
	const secret = "SECsign-encoding-secret"
	e := newEnv(t, Config{RobotSecrets: map[string]string{hookTok: secret}})
	// A timestamp whose sign holds a '+': unescaped, the query turns it into a space.
	ts := time.Now()
	for !strings.Contains(webhookSign(secret, strconv.FormatInt(ts.UnixMilli(), 10)), "+") {
		ts = ts.Add(time.Millisecond)
	}
	stamp := strconv.FormatInt(ts.UnixMilli(), 10)
	sign := webhookSign(secret, stamp)
	post := func(rawSign string) reply {
		return e.do(e.request("POST", "/robot/send?access_token="+hookTok+"&timestamp="+stamp+"&sign="+rawSign, hookText))
	}
	if r := post(url.QueryEscape(sign)); r.raw != `{"errcode":0,"errmsg":"ok"}` {
		t.Errorf("escaped once: %s, want sent", r.raw)
	}
	for name, raw := range map[string]string{
		"not escaped":   sign,
		"escaped twice": url.QueryEscape(url.QueryEscape(sign)),
	} {
		if r := post(raw); r.json["errcode"] != 310000.0 || r.json["errmsg"] != msgHookSignWrong {
			t.Errorf("%s: %s, want 310000 sign mismatch", name, r.raw)
		}
	}
}

// checkSignature at the window's edges, on a fixed clock.
func TestCheckSignatureWindow(t *testing.T) {
	const secret = "SECwindow"
	now := time.UnixMilli(1_700_000_000_000)
	secrets := map[string]string{hookTok: secret}
	at := func(d time.Duration) (string, string) {
		ts := strconv.FormatInt(now.Add(d).UnixMilli(), 10)
		return ts, webhookSign(secret, ts)
	}
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, ""},
		{-time.Hour, ""},
		{time.Hour, ""},
		{-time.Hour - time.Millisecond, msgHookSignExpired},
		{time.Hour + time.Millisecond, msgHookSignExpired},
	} {
		ts, sign := at(tc.d)
		if got := checkSignature(secrets, hookTok, ts, sign, now); got != tc.want {
			t.Errorf("signed %v from now: %q, want %q", tc.d, got, tc.want)
		}
	}
	if got := checkSignature(secrets, "another-robot", "", "", now); got != "" {
		t.Errorf("a robot without a secret: %q, want no check", got)
	}
}

// msgUuid is kept per robot: the scope of a repeat is the robot's access token and the msgUuid,
// whatever the message's text; the same msgUuid to another robot is another message; and a
// repeat that a signing robot refuses is refused, not answered as sent.
func TestWebhookMsgUUIDScope(t *testing.T) {
	const secret = "SECdedup"
	e := newEnv(t, Config{RobotSecrets: map[string]string{"signing-robot": secret}, RecordBodies: true})
	msg := func(text, id string) string {
		return `{"msgtype":"text","text":{"content":"` + text + `"},"msgUuid":"` + id + `"}`
	}
	sent := func(what string, r reply) {
		t.Helper()
		if r.raw != `{"errcode":0,"errmsg":"ok"}` {
			t.Errorf("%s: %d %s, want errcode 0", what, r.status, r.raw)
		}
	}
	sent("first", e.hook("robot-a", nil, msg("one", "uuid-1")))
	sent("repeat", e.hook("robot-a", nil, msg("one", "uuid-1")))
	sent("same msgUuid, other text", e.hook("robot-a", nil, msg("two", "uuid-1")))
	sent("same msgUuid, robot b", e.hook("robot-b", nil, msg("one", "uuid-1")))
	sent("robot b's repeat", e.hook("robot-b", nil, msg("one", "uuid-1")))
	sent("robot a, another msgUuid", e.hook("robot-a", nil, msg("one", "uuid-2")))
	// A robot whose token holds what the key joins with keeps its own scope too.
	sent("a token with '&'", e.hook("robot-a&uuid-1", nil, msg("one", "x")))

	signed := hookSigned(secret, time.Now())
	sent("signing robot", e.hook("signing-robot", signed, msg("one", "uuid-1")))
	if r := e.hook("signing-robot", nil, msg("one", "uuid-1")); r.json["errcode"] != 310000.0 {
		t.Errorf("an unsigned repeat to a signing robot: %s, want 310000", r.raw)
	}

	robots := map[string]int{}
	for _, d := range e.sb.Deliveries() {
		robots[d.Robot]++
	}
	for tok, want := range map[string]int{"robot-a": 2, "robot-b": 1, "robot-a&uuid-1": 1, "signing-robot": 1} {
		if robots[WebhookRobot(tok)] != want {
			t.Errorf("robot %q: %d deliveries, want %d (all: %v)", tok, robots[WebhookRobot(tok)], want, robots)
		}
	}
	if n := e.sb.Stats().Outcomes[schema.KindRobot][OutcomeDuplicate]; n != 3 {
		t.Errorf("%d duplicates, want 3", n)
	}
}

// The kdocs relay signs with the job's sk: a job whose link names a signing robot and whose sk is
// not that robot's secret gets what DingTalk answered the relay.
func TestRelaySignature(t *testing.T) {
	const secret = "SECrelay-robot-secret"
	e := newEnv(t, Config{KdocsToken: "kdocs-token", RobotSecrets: map[string]string{"relay-robot": secret}})
	job := func(token, sk string) string {
		s := `{"link":"https://oapi.dingtalk.com/robot/send?access_token=` + token + `",`
		if sk != "" {
			s += `"sk":"` + sk + `",`
		}
		return s + `"data":[{"msgtype":"text","text":{"content":"hello"}}]}`
	}
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"the robot's secret", job("relay-robot", secret), true},
		{"a robot that does not sign", job("plain-robot", ""), true},
		{"no sk", job("relay-robot", ""), false},
		{"another secret", job("relay-robot", "SECother"), false},
	} {
		r := e.send(schema.KindRobot, "kdocs-token", tc.body)
		switch {
		case tc.ok && r.raw != `{"code":0,"data":{}}`:
			t.Errorf("%s: %d %s, want sent", tc.name, r.status, r.raw)
		case !tc.ok && (r.status != 200 || r.json["code"] != 310000.0 || r.json["msg"] != msgHookSignWrong || keys(r.json) != "code,hint,msg"):
			t.Errorf("%s: %d %s, want code 310000", tc.name, r.status, r.raw)
		case !tc.ok && strings.Contains(r.raw, secret):
			t.Errorf("%s: the answer shows the secret: %s", tc.name, r.raw)
		}
	}
	if n := len(e.sb.Deliveries()); n != 2 {
		t.Errorf("%d deliveries, want 2", n)
	}
}

// The TOP API words a gateway refusal as DingTalk does: sub_code, sub_msg, and both again in
// errmsg.
func TestCrossDomainWording(t *testing.T) {
	for _, tc := range []struct {
		fault  Fault
		errmsg string
		subMsg string
	}{
		{Fault{Kind: schema.KindCrossDomain, Preset: PresetToken}, "ding talk error[subcode=40014,submsg=不合法的access_token]", "不合法的access_token"},
		{Fault{Kind: schema.KindCrossDomain, Preset: PresetThrottle}, "ding talk error[subcode=90018,submsg=" + topMsgs["90018"] + "]", topMsgs["90018"]},
		{Fault{Kind: schema.KindCrossDomain, Code: "88/60011"}, "ding talk error[subcode=60011,submsg=没有调用该接口的权限]", "没有调用该接口的权限"},
		{Fault{Kind: schema.KindCrossDomain, Code: "88/12345"}, "ding talk error[subcode=12345,submsg=" + msgTopOther + "]", msgTopOther},
		{Fault{Kind: schema.KindCrossDomain, Preset: PresetBusy}, "系统繁忙", ""},
		{Fault{Kind: schema.KindCrossDomain, Preset: PresetReject}, "不合法的参数", ""},
		{Fault{Kind: schema.KindCrossDomain, Preset: PresetToken, Code: "42001"}, "access_token超时", ""},
	} {
		e := newEnv(t, Config{})
		must(t, e.sb.AddFault(tc.fault))
		r := e.send(schema.KindCrossDomain, e.appToken(), wrap(crossDomainModel))
		if r.json["errmsg"] != tc.errmsg || tc.subMsg != "" && r.json["sub_msg"] != tc.subMsg {
			t.Errorf("%+v: %s, want errmsg %q, sub_msg %q", tc.fault, r.raw, tc.errmsg, tc.subMsg)
		}
	}
	e := newEnv(t, Config{})
	r := e.send(schema.KindCrossDomain, e.appToken(), wrap(strings.Replace(crossDomainModel, `"message_id":"msg-1",`, ``, 1)))
	if r.json["errcode"] != 40035.0 || r.json["errmsg"] != "缺少参数 message_id" {
		t.Errorf("a missing parameter: %s, want 40035 缺少参数 message_id", r.raw)
	}
}

// isBanPage reports whether r is the gateway's ban page: 403, HTML, no JSON, the punish record.
func isBanPage(r reply) bool {
	return r.status == 403 && r.json == nil && strings.HasPrefix(r.raw, "<!DOCTYPE html>") &&
		strings.HasPrefix(r.header.Get("Content-Type"), "text/html") && strings.Contains(r.raw, `"punish":"deny"`)
}

// An IP ban of any kind answers the ban page on every API, token endpoints included.
func TestIPBanEveryAPI(t *testing.T) {
	e := newEnv(t, Config{KdocsToken: "kdocs-token"})
	tok := e.appToken()
	calls := map[string]func() reply{
		"card template send": func() reply { return e.send(schema.KindCard, tok, cardBody) },
		"createAndDeliver":   func() reply { return e.deliver(tok, deliverBody) },
		"cross-domain":       func() reply { return e.send(schema.KindCrossDomain, tok, wrap(crossDomainModel)) },
		"kdocs relay":        func() reply { return e.send(schema.KindRobot, "kdocs-token", robotBody) },
		"robot webhook":      func() reply { return e.hook(hookTok, nil, hookText) },
		"accessToken": func() reply {
			return e.do(e.request("POST", "/v1.0/oauth2/accessToken", `{"appKey":"key","appSecret":"secret"}`))
		},
		"gettoken": func() reply { return e.do(e.request("GET", "/gettoken?appkey=key&appsecret=secret", "")) },
	}
	must(t, e.sb.AddFault(Fault{Preset: PresetIPBan, Times: len(calls)}))
	for name, call := range calls {
		if r := call(); !isBanPage(r) {
			t.Errorf("%s, banned: %d %q %.200s", name, r.status, r.header.Get("Content-Type"), r.raw)
		}
	}
	if fs := e.sb.Faults(); len(fs) != 0 {
		t.Errorf("the ban's %d answers did not spend it: %+v", len(calls), fs)
	}
	for name, call := range calls {
		if r := call(); r.status != 200 || r.json == nil {
			t.Errorf("%s, after the ban: %d %.200s", name, r.status, r.raw)
		}
	}
	if len(e.sb.Deliveries()) != 5 {
		t.Errorf("%d deliveries, want 5: only those after the ban", len(e.sb.Deliveries()))
	}
}

// A ban of one kind covers that kind's sends only; Contains picks requests, on /gettoken by its
// query; a delay delays the ban page; a status replaces 403.
func TestIPBanScope(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.appToken()
	must(t, e.sb.AddFault(Fault{Kind: schema.KindCard, Preset: PresetIPBan}))
	if r := e.send(schema.KindCard, tok, cardBody); !isBanPage(r) {
		t.Errorf("card under a card ban: %d %s", r.status, r.raw)
	}
	if r := e.send(schema.KindCrossDomain, tok, wrap(crossDomainModel)); r.json["errcode"] != 0.0 {
		t.Errorf("cross-domain under a card ban: %s", r.raw)
	}
	if r := e.do(e.request("GET", "/gettoken?appkey=key&appsecret=secret", "")); r.json["errcode"] != 0.0 {
		t.Errorf("token under a card ban: %s", r.raw)
	}
	e.sb.ClearFaults()

	must(t, e.sb.AddFault(Fault{Preset: PresetIPBan, Contains: "appkey=banned-app", Delay: 20 * time.Millisecond, Status: 429}))
	start := time.Now()
	r := e.do(e.request("GET", "/gettoken?appkey=banned-app&appsecret=s", ""))
	if r.status != 429 || r.json != nil || time.Since(start) < 20*time.Millisecond {
		t.Errorf("the banned app's fetch: %d %s after %v", r.status, r.raw, time.Since(start))
	}
	if r := e.do(e.request("GET", "/gettoken?appkey=other-app&appsecret=s", "")); r.json["errcode"] != 0.0 {
		t.Errorf("another app's fetch: %s", r.raw)
	}
	if r := e.do(e.request("POST", "/v1.0/oauth2/accessToken", `{"appKey":"banned-app","appSecret":"s"}`)); r.status == 429 {
		t.Errorf("the new-style fetch's body does not hold the query's form: %d %s", r.status, r.raw)
	}
	if got := e.sb.TokenFetches(); got != 5 {
		t.Errorf("TokenFetches = %d, want 5 (banned ones count)", got)
	}
}

// The control endpoint takes the ipban preset.
func TestControlIPBan(t *testing.T) {
	e := newEnv(t, Config{})
	if r := e.do(e.request("POST", "/_sandbox/faults", `{"preset":"ipban","times":1}`)); r.status != 201 {
		t.Fatalf("add: %d %s", r.status, r.raw)
	}
	if r := e.do(e.request("POST", "/v1.0/oauth2/accessToken", `{"appKey":"k","appSecret":"s"}`)); !isBanPage(r) {
		t.Errorf("token fetch: %d %s", r.status, r.raw)
	}
	if err := e.sb.AddFault(Fault{Preset: PresetIPBan, Code: "ignored"}); err != nil {
		t.Errorf("an ipban fault with a code (ignored, as html's): %v", err)
	}
}

func TestConfigRefusesEmptyRobotSecrets(t *testing.T) {
	for name, secrets := range map[string]map[string]string{
		"empty secret": {"tok-3f1c": ""},
		"empty token":  {"": "SECsecret-4b2d"},
	} {
		_, err := New(Config{RobotSecrets: secrets})
		if err == nil {
			t.Errorf("%s: New = nil error", name)
			continue
		}
		if strings.Contains(err.Error(), "tok-3f1c") || strings.Contains(err.Error(), "SECsecret-4b2d") {
			t.Errorf("%s: the error shows a secret: %v", name, err)
		}
	}
	secrets := map[string]string{hookTok: "SECkept"}
	e := newEnv(t, Config{RobotSecrets: secrets})
	delete(secrets, hookTok) // the sandbox keeps its own copy
	if r := e.hook(hookTok, nil, hookText); r.json["errcode"] != 310000.0 {
		t.Errorf("after the caller's map changed: %s, want the robot still signing", r.raw)
	}
}
