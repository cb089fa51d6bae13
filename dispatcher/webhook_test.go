package dispatcher_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/sandbox"
)

const (
	hookToken  = "hook-token-3f9a1c"
	hookSecret = "SEChook-secret-77d2e0"
	textMsg    = `{"msgtype":"text","text":{"content":"hi"}}`
)

// fixedNow is the clock of the webhook tests: 2024-05-01T08:00:00.123Z.
var fixedNow = time.UnixMilli(1714550400123)

// linkJob is a relay-form robot job to the robot whose token is tok, signed with sk when set.
func linkJob(id, tok, sk string, msgs ...string) dispatcher.Job {
	body := `{"link":"https://oapi.dingtalk.com/robot/send?access_token=` + tok + `"`
	if sk != "" {
		body += `,"sk":"` + sk + `"`
	}
	body += `,"data":[` + strings.Join(msgs, ",") + `]}`
	return dispatcher.Job{Kind: "robot", ID: id, Body: []byte(body), Attempt: 1}
}

// namedJob is a robot job to the configured robot name.
func namedJob(id, name string, msgs ...string) dispatcher.Job {
	return dispatcher.Job{Kind: "robot", ID: id, Body: []byte(`{"robot":"` + name + `","data":[` + strings.Join(msgs, ",") + `]}`), Attempt: 1}
}

// newWebhookSender builds a webhook sender against baseURL with the fixed clock.
func newWebhookSender(t *testing.T, baseURL string, robots map[string]dispatcher.Robot) *dispatcher.WebhookSender {
	t.Helper()
	s, err := dispatcher.NewWebhookSender(dispatcher.WebhookConfig{
		BaseURL: baseURL, Client: newClient(t), Robots: robots, Now: func() time.Time { return fixedNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// expectedSign is DingTalk's signature, computed here independently of the sender.
func expectedSign(secret, timestamp string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// awkwardSecret returns a secret whose signature at fixedNow holds '+' and '/', the characters
// that go wrong when a signature is escaped twice or not at all.
func awkwardSecret(t *testing.T) string {
	ts := strconv.FormatInt(fixedNow.UnixMilli(), 10)
	for i := range 1000 {
		secret := fmt.Sprintf("SECawkward%d", i)
		if sig := expectedSign(secret, ts); strings.Contains(sig, "+") && strings.Contains(sig, "/") {
			return secret
		}
	}
	t.Fatal("no secret with '+' and '/' in its signature")
	return ""
}

func TestWebhookSignature(t *testing.T) {
	secret := awkwardSecret(t)
	api := newFakeAPI(t, answer(200, `{"errcode":0,"errmsg":"ok"}`))
	s := newWebhookSender(t, api.URL, nil)
	if err := s.Send(context.Background(), linkJob("j1", hookToken, secret, textMsg)); err != nil {
		t.Fatalf("Send() = %v", err)
	}
	r := api.got()[0]
	ts, sign := url.Values(r.query).Get("timestamp"), url.Values(r.query).Get("sign")
	if ts != strconv.FormatInt(fixedNow.UnixMilli(), 10) {
		t.Errorf("timestamp %q, want the clock's milliseconds %d", ts, fixedNow.UnixMilli())
	}
	if want := expectedSign(secret, ts); sign != want {
		t.Errorf("sign %q, want %q", sign, want)
	}
	// Escaped exactly once: the raw query holds the sign's one escape, and no "%25" (an escaped %).
	if !strings.Contains(r.rawQuery, "sign="+url.QueryEscape(sign)) || strings.Contains(r.rawQuery, "%25") {
		t.Errorf("raw query %q does not carry the sign escaped once", r.rawQuery)
	}
	if r.method != "POST" || r.path != "/robot/send" || url.Values(r.query).Get("access_token") != hookToken || r.contentType != "application/json" {
		t.Errorf("request %s %s token %q content type %q", r.method, r.path, url.Values(r.query).Get("access_token"), r.contentType)
	}
}

func TestWebhookUnsigned(t *testing.T) {
	api := newFakeAPI(t, answer(200, `{"errcode":0,"errmsg":"ok"}`))
	s := newWebhookSender(t, api.URL+"/prefix/", nil)
	if err := s.Send(context.Background(), linkJob("j1", hookToken, "", textMsg)); err != nil {
		t.Fatalf("Send() = %v", err)
	}
	r := api.got()[0]
	if r.path != "/prefix/robot/send" || r.rawQuery != "access_token="+hookToken {
		t.Errorf("request %s ? %s, want /prefix/robot/send ? access_token=%s alone", r.path, r.rawQuery, hookToken)
	}
}

// The job names the host; the sender posts to its BaseURL all the same.
func TestWebhookForeignHost(t *testing.T) {
	api := newFakeAPI(t, answer(200, `{"errcode":0,"errmsg":"ok"}`))
	s := newWebhookSender(t, api.URL, nil)
	job := dispatcher.Job{Kind: "robot", ID: "j1", Body: []byte(`{"link":"http://attacker.example:8080/hook/robot/send?access_token=` +
		hookToken + `&timestamp=1&sign=x","data":[` + textMsg + `]}`)}
	if err := s.Send(context.Background(), job); err != nil {
		t.Fatalf("Send() = %v", err)
	}
	got := api.got()
	if len(got) != 1 || got[0].path != "/robot/send" || got[0].rawQuery != "access_token="+hookToken {
		t.Errorf("requests %+v, want one to the base URL with the link's token alone", got)
	}
}

// msgUuidRE is what DingTalk takes as a msgUuid.
var msgUuidRE = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// sentUUIDs returns the msgUuid of every request, and checks that each body is the job's message
// with the msgUuid added.
func sentUUIDs(t *testing.T, reqs []request, msgs []string) []string {
	t.Helper()
	var ids []string
	for i, r := range reqs {
		var m struct {
			MsgUUID string `json:"msgUuid"`
		}
		if err := json.Unmarshal(r.body, &m); err != nil || !msgUuidRE.MatchString(m.MsgUUID) {
			t.Fatalf("body %s: msgUuid %q (%v), want one of [A-Za-z0-9-]{1,64}", r.body, m.MsgUUID, err)
		}
		own := msgs[i%len(msgs)]
		want := strings.TrimSuffix(own, "}") + `,"msgUuid":"` + m.MsgUUID + `"}`
		if string(r.body) != want {
			t.Errorf("body\n%s\nwant the message as it is, msgUuid added\n%s", r.body, want)
		}
		ids = append(ids, m.MsgUUID)
	}
	return ids
}

func TestWebhookMsgUUID(t *testing.T) {
	msgs := []string{
		`{"msgtype":"text",  "text":{"content":"one"}}`, // odd spacing, kept
		`{"msgtype":"markdown","markdown":{"title":"t","text":"# two"}}`,
		`{"msgtype":"text","text":{"content":"three"},"at":{"isAtAll":true}}`,
	}
	api := newFakeAPI(t, answer(200, `{"errcode":0,"errmsg":"ok"}`))
	s := newWebhookSender(t, api.URL, nil)
	job := linkJob("job-1", hookToken, "", msgs...)
	for attempt := 1; attempt <= 2; attempt++ {
		job.Attempt = attempt
		if err := s.Send(context.Background(), job); err != nil {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
	}
	other := linkJob(strings.Repeat("a very long job id ", 20)+"\u5355", hookToken, "", msgs...)
	if err := s.Send(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	ids := sentUUIDs(t, api.got(), msgs)
	if len(ids) != 9 {
		t.Fatalf("%d requests, want 9", len(ids))
	}
	seen := map[string]bool{}
	for i, id := range ids[:3] {
		if ids[3+i] != id {
			t.Errorf("message %d: msgUuid %q on the retry, %q first", i, ids[3+i], id)
		}
		seen[id] = true
	}
	for _, id := range ids[6:] {
		seen[id] = true
	}
	if len(seen) != 6 {
		t.Errorf("msgUuids %q: want one per message and job", ids)
	}
}

func TestWebhookKeepsProducerMsgUUID(t *testing.T) {
	api := newFakeAPI(t, answer(200, `{"errcode":0,"errmsg":"ok"}`))
	s := newWebhookSender(t, api.URL, nil)
	msgs := []string{
		`{"msgtype":"text","text":{"content":"a"},"msgUuid":"mine-1"}`,
		`{"msgtype":"text","text":{"content":"b"},"msgUuid":""}`,
		`{ }`,
	}
	if err := s.Send(context.Background(), linkJob("j1", hookToken, "", msgs...)); err != nil {
		t.Fatal(err)
	}
	got := api.got()
	if string(got[0].body) != msgs[0] {
		t.Errorf("body %s, want the producer's message as it is", got[0].body)
	}
	members := func(b []byte) map[string]json.RawMessage {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("body %s: %v", b, err)
		}
		return m
	}
	if m := members(got[1].body); !msgUuidRE.Match(bytes.Trim(m["msgUuid"], `"`)) || len(m) != 3 {
		t.Errorf("body %s: an empty msgUuid must be replaced by dingq's", got[1].body)
	}
	if m := members(got[2].body); len(m) != 1 || m["msgUuid"] == nil {
		t.Errorf("body %s: want an empty object given a msgUuid", got[2].body)
	}
}

func TestWebhookStopsAtFirstFailure(t *testing.T) {
	api := newFakeAPI(t, func(r request) (int, string) {
		if bytes.Contains(r.body, []byte(`"two"`)) {
			return 200, `{"errcode":-1,"errmsg":"busy"}`
		}
		return 200, `{"errcode":0,"errmsg":"ok"}`
	})
	s := newWebhookSender(t, api.URL, nil)
	msg := func(s string) string { return `{"msgtype":"text","text":{"content":"` + s + `"}}` }
	err := s.Send(context.Background(), linkJob("j1", hookToken, "", msg("one"), msg("two"), msg("three")))
	var de *dispatcher.Error
	if !errors.As(err, &de) || de.Decision != dispatcher.Retry || de.Code != "-1" {
		t.Fatalf("Send() = %v, want retry -1", err)
	}
	if !strings.Contains(err.Error(), "message 1") {
		t.Errorf("error %q does not say which message failed", err)
	}
	if n := len(api.got()); n != 2 {
		t.Errorf("%d requests, want 2: nothing after the failure", n)
	}
}

func TestWebhookNamedRobot(t *testing.T) {
	secret := awkwardSecret(t)
	api := newFakeAPI(t, answer(200, `{"errcode":0,"errmsg":"ok"}`))
	s := newWebhookSender(t, api.URL, map[string]dispatcher.Robot{
		"ops":      {AccessToken: hookToken, Secret: secret},
		"plain_01": {AccessToken: "plain-token"},
	})
	for _, job := range []dispatcher.Job{namedJob("j1", "ops", textMsg), namedJob("j2", "Plain_01", textMsg)} { // any case
		if err := s.Send(context.Background(), job); err != nil {
			t.Fatalf("Send(%s) = %v", job.ID, err)
		}
	}
	got := api.got()
	if q := url.Values(got[0].query); q.Get("access_token") != hookToken || q.Get("sign") != expectedSign(secret, q.Get("timestamp")) {
		t.Errorf("ops: query %q, want its token and a valid sign", got[0].rawQuery)
	}
	if got[1].rawQuery != "access_token=plain-token" {
		t.Errorf("plain_01: query %q, want its token alone", got[1].rawQuery)
	}

	err := s.Send(context.Background(), namedJob("j3", "nobody", textMsg))
	var de *dispatcher.Error
	if !errors.As(err, &de) || de.Decision != dispatcher.Reject || de.Code != dispatcher.CodeUnknownRobot || !strings.Contains(de.Message, `"nobody"`) {
		t.Errorf("unknown robot: %v, want reject unknown_robot naming it", err)
	}
	if n := len(api.got()); n != 2 {
		t.Errorf("%d requests, want none for the unknown robot", n)
	}
}

// Jobs that name no usable robot are rejected before anything is sent.
func TestWebhookRejectsJob(t *testing.T) {
	link := func(l string) string { return `{"link":"` + l + `","data":[` + textMsg + `]}` }
	tests := []struct {
		name, body, code string
	}{
		{"path not /robot/send", link("https://oapi.dingtalk.com/robot/other?access_token=" + hookToken), dispatcher.CodeBadWebhook},
		{"no access_token", link("https://oapi.dingtalk.com/robot/send?token=" + hookToken), dispatcher.CodeBadWebhook},
		{"empty access_token", link("https://oapi.dingtalk.com/robot/send?access_token="), dispatcher.CodeBadWebhook},
		{"link not a URL", link("https://[::1/robot/send?access_token=" + hookToken), dispatcher.CodeBadWebhook},
		{"not JSON", `{"link":`, dispatcher.CodeBadRobotJob},
		{"neither link nor robot", `{"data":[` + textMsg + `]}`, dispatcher.CodeBadRobotJob},
		{"both link and robot", `{"robot":"ops","link":"https://oapi.dingtalk.com/robot/send?access_token=t","data":[` + textMsg + `]}`, dispatcher.CodeBadRobotJob},
		{"no data", `{"robot":"ops"}`, dispatcher.CodeBadRobotJob},
		{"last message not an object", `{"robot":"ops","data":[` + textMsg + `,"hello"]}`, dispatcher.CodeBadRobotJob},
		{"message null", `{"robot":"ops","data":[null]}`, dispatcher.CodeBadRobotJob},
	}
	api := newFakeAPI(t, answer(200, `{"errcode":0,"errmsg":"ok"}`))
	s := newWebhookSender(t, api.URL, map[string]dispatcher.Robot{"ops": {AccessToken: "ops-token"}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Send(context.Background(), dispatcher.Job{Kind: "robot", ID: "j1", Body: []byte(tt.body)})
			var de *dispatcher.Error
			if !errors.As(err, &de) || de.Decision != dispatcher.Reject || de.Code != tt.code {
				t.Fatalf("Send() = %v, want reject %s", err, tt.code)
			}
			if strings.Contains(err.Error(), hookToken) {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
	if n := len(api.got()); n != 0 {
		t.Errorf("%d requests, want none", n)
	}
}

func TestWebhookErrcodes(t *testing.T) {
	tests := []struct {
		answer   string
		want     dispatcher.Decision
		code     string
		minDelay time.Duration
		penalty  time.Duration
	}{
		{`{"errcode":-1,"errmsg":"busy"}`, dispatcher.Retry, "-1", 0, 0},
		{`{"errcode":410100,"errmsg":"send too fast"}`, dispatcher.Retry, "410100", 90 * time.Second, 90 * time.Second},
		{`{"errcode":310000,"errmsg":"sign not match"}`, dispatcher.Reject, "310000", 0, 0},
		{`{"errcode":400102,"errmsg":"robot disabled"}`, dispatcher.Reject, "400102", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			api := newFakeAPI(t, answer(200, tt.answer))
			s, err := dispatcher.NewWebhookSender(dispatcher.WebhookConfig{BaseURL: api.URL, Client: newClient(t), Penalty: 90 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			err = s.Send(context.Background(), linkJob("j1", hookToken, "", textMsg))
			var de *dispatcher.Error
			if !errors.As(err, &de) || de.Decision != tt.want || de.Code != tt.code || de.MinDelay != tt.minDelay || de.Penalty != tt.penalty {
				t.Errorf("Send() = %#v, want %s %s min %v penalty %v", de, tt.want, tt.code, tt.minDelay, tt.penalty)
			}
		})
	}
}

func TestWebhookDefaultPenalty(t *testing.T) {
	api := newFakeAPI(t, answer(200, `{"errcode":130101,"errmsg":"send too fast"}`))
	s := newWebhookSender(t, api.URL, nil)
	var de *dispatcher.Error
	if err := s.Send(context.Background(), linkJob("j1", hookToken, "", textMsg)); !errors.As(err, &de) ||
		de.MinDelay != dispatcher.RobotPenalty || de.Penalty != dispatcher.RobotPenalty {
		t.Errorf("Send() = %v, want retry after RobotPenalty", err)
	}
}

// No error shows the robot's token, secret or signature, even when DingTalk echoes the request.
func TestWebhookHidesSecrets(t *testing.T) {
	ts := strconv.FormatInt(fixedNow.UnixMilli(), 10)
	sign := expectedSign(hookSecret, ts)
	secrets := []string{hookToken, hookSecret, sign, url.QueryEscape(sign)}
	echo := func(status int, html bool) func(r request) (int, string) {
		return func(r request) (int, string) {
			all := fmt.Sprintf("%s %s?%s %s %s %s %s", r.method, r.path, r.rawQuery, hookToken, hookSecret, sign, url.QueryEscape(sign))
			if html {
				return status, "<html>" + all + "</html>"
			}
			b, _ := json.Marshal(all)
			return status, `{"errcode":310000,"errmsg":` + string(b) + `}`
		}
	}
	tests := []struct {
		name   string
		answer func(r request) (int, string)
		closed bool
	}{
		{"errmsg echoes", echo(200, false), false},
		{"html echoes", echo(200, true), false},
		{"5xx echoes", echo(502, true), false},
		{"network error", answer(200, "{}"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, tt.answer)
			if tt.closed {
				api.Close()
			}
			s := newWebhookSender(t, api.URL, map[string]dispatcher.Robot{"ops": {AccessToken: hookToken, Secret: hookSecret}})
			for _, job := range []dispatcher.Job{linkJob("j1", hookToken, hookSecret, textMsg), namedJob("j2", "ops", textMsg)} {
				err := s.Send(context.Background(), job)
				if err == nil {
					t.Fatal("Send() succeeded")
				}
				var de *dispatcher.Error
				texts := []string{err.Error()}
				if errors.As(err, &de) {
					texts = append(texts, de.Message, de.Code)
				}
				for _, text := range texts {
					for _, secret := range secrets {
						if strings.Contains(text, secret) {
							t.Errorf("%s: error shows %q: %v", job.ID, secret, text)
						}
					}
				}
			}
		})
	}
}

func TestWebhookConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  dispatcher.WebhookConfig
	}{
		{"no base URL", dispatcher.WebhookConfig{}},
		{"base URL with a query", dispatcher.WebhookConfig{BaseURL: "https://oapi.dingtalk.com?access_token=" + hookToken}},
		{"negative penalty", dispatcher.WebhookConfig{BaseURL: "https://oapi.dingtalk.com", Penalty: -time.Second}},
		{"robot without token", dispatcher.WebhookConfig{BaseURL: "https://oapi.dingtalk.com",
			Robots: map[string]dispatcher.Robot{"ops": {Secret: hookSecret}}}},
		{"bad robot name", dispatcher.WebhookConfig{BaseURL: "https://oapi.dingtalk.com",
			Robots: map[string]dispatcher.Robot{"ops team": {AccessToken: hookToken, Secret: hookSecret}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := dispatcher.NewWebhookSender(tt.cfg)
			if err == nil || s != nil {
				t.Fatalf("NewWebhookSender() = %v, %v; want an error", s, err)
			}
			if strings.Contains(err.Error(), hookToken) || strings.Contains(err.Error(), hookSecret) {
				t.Errorf("error shows a secret: %v", err)
			}
		})
	}
}

func TestRobotTarget(t *testing.T) {
	tokenHash := sha256.Sum256([]byte(hookToken))
	hookID := "webhook:" + fmt.Sprintf("%x", tokenHash[:8])
	tests := []struct {
		name, body, want, code string
	}{
		{"named", `{"robot":"ops-1","data":[` + textMsg + `]}`, "robot:ops-1", ""},
		{"link", string(linkJob("j", hookToken, hookSecret, textMsg).Body), hookID, ""},
		{"link elsewhere, same token", `{"link":"http://127.0.0.1:9/x/robot/send?access_token=` + hookToken + `&a=b","data":[{}]}`, hookID, ""},
		{"bad name", `{"robot":"ops 1","data":[{}]}`, "", dispatcher.CodeBadRobotJob},
		{"bad link", `{"link":"https://oapi.dingtalk.com/robot/send","data":[{}]}`, "", dispatcher.CodeBadWebhook},
		{"both", `{"robot":"ops","link":"https://oapi.dingtalk.com/robot/send?access_token=t","data":[{}]}`, "", dispatcher.CodeBadRobotJob},
		{"not JSON", `[`, "", dispatcher.CodeBadRobotJob},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dispatcher.RobotTarget([]byte(tt.body))
			if tt.code != "" {
				var de *dispatcher.Error
				if !errors.As(err, &de) || de.Decision != dispatcher.Reject || de.Code != tt.code {
					t.Errorf("RobotTarget() = %q, %v; want reject %s", got, err, tt.code)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("RobotTarget() = %q, %v; want %q", got, err, tt.want)
			}
			if strings.Contains(got, hookToken) || strings.Contains(got, hookSecret) {
				t.Errorf("target %q shows a secret", got)
			}
		})
	}
}

// Against the sandbox, which checks the signature itself and drops repeated msgUuids: a job,
// retried, is posted once, to the robot it names.
func TestWebhookAgainstSandbox(t *testing.T) {
	const secret = "SECsandbox-robot-secret"
	sb, err := sandbox.New(sandbox.Config{RobotSecrets: map[string]string{hookToken: secret}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	s, err := dispatcher.NewWebhookSender(dispatcher.WebhookConfig{BaseURL: srv.URL, Client: newClient(t),
		Robots: map[string]dispatcher.Robot{"ops": {AccessToken: hookToken, Secret: secret}}})
	if err != nil {
		t.Fatal(err)
	}
	msg2 := `{"msgtype":"markdown","markdown":{"title":"t","text":"# two"}}`
	named, link := namedJob("j1", "ops", textMsg, msg2), linkJob("j2", "plain-robot", "", textMsg)
	for attempt := 1; attempt <= 2; attempt++ {
		for _, job := range []dispatcher.Job{named, link} {
			job.Attempt = attempt
			if err := s.Send(context.Background(), job); err != nil {
				t.Fatalf("%s attempt %d: %v", job.ID, attempt, err)
			}
		}
	}
	ds := sb.Deliveries()
	if len(ds) != 3 {
		t.Fatalf("%d deliveries, want 3: each message once, retries dropped by msgUuid", len(ds))
	}
	linkTarget, _ := dispatcher.RobotTarget(link.Body)
	if ds[0].Robot != sandbox.WebhookRobot(hookToken) || ds[1].Robot != ds[0].Robot || ds[2].Robot != linkTarget {
		t.Errorf("robots %q %q %q, want ops twice, then the link's", ds[0].Robot, ds[1].Robot, ds[2].Robot)
	}

	unsigned := dispatcher.Job{Kind: "robot", ID: "j3", Body: []byte(`{"link":"https://oapi.dingtalk.com/robot/send?access_token=` +
		hookToken + `","data":[` + textMsg + `]}`)}
	var de *dispatcher.Error
	if err := s.Send(context.Background(), unsigned); !errors.As(err, &de) || de.Decision != dispatcher.Reject || de.Code != "310000" {
		t.Errorf("a signing robot sent to without its sk: %v, want reject 310000", err)
	}
}
