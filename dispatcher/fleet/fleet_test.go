package fleet

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/ratelimit"
	"github.com/dingq/dingq/schema"
)

func TestTargets(t *testing.T) {
	cfg := Config{
		Apps:      map[string]App{"": {Key: "key-a"}, "sales": {Key: "key-b"}, "twin": {Key: "key-a"}, "nokey": {}},
		Robots:    map[string]Robot{"ops": {Webhook: "https://oapi.dingtalk.com/robot/send?access_token=tok-ops"}},
		RateAPI:   ratelimit.Rate{N: 20, Per: time.Second},
		RateRobot: ratelimit.Rate{N: 20, Per: time.Minute},
	}
	target := targets(cfg)
	card := func(app string) dispatcher.Job {
		return dispatcher.Job{Kind: schema.KindCard, App: app, Body: []byte(`{"outTrackId":"x"}`)}
	}
	deliver := dispatcher.Job{Kind: schema.KindCard, Body: []byte(`{"openSpaceId":"dtv1.card//IM_GROUP.cid"}`)}
	robotLink := dispatcher.Job{Kind: schema.KindRobot, Body: []byte(`{"link":"https://oapi.dingtalk.com/robot/send?access_token=tok-ops","data":[{}]}`)}
	robotNamed := dispatcher.Job{Kind: schema.KindRobot, Body: []byte(`{"robot":"OPS","data":[{}]}`)}

	key := func(j dispatcher.Job) string {
		t.Helper()
		tg, ok := target(j)
		if !ok {
			return ""
		}
		return tg.Key
	}
	if a, b := key(card("")), key(card("sales")); a == "" || b == "" || a == b {
		t.Errorf("two apps' cards share a limit or have none: %q %q", a, b)
	}
	if a, b := key(card("")), key(card("twin")); a != b {
		t.Errorf("two apps with one key are limited apart: %q %q", a, b)
	}
	if a, b := key(card("")), key(card("default")); a != b {
		t.Errorf(`"default" is not the default app: %q %q`, a, b)
	}
	if a, b := key(card("")), key(deliver); a == b {
		t.Errorf("createAndDeliver shares the template send's limit: %q", a)
	}
	if k := key(card("nokey")); k != "" {
		t.Errorf("an app without a key is limited as %q", k)
	}
	if a, b := key(robotLink), key(robotNamed); a == "" || a != b {
		t.Errorf("a named robot and a link to its webhook are limited apart: %q %q", a, b)
	}
	cfg.RateAPI, cfg.RateRobot = ratelimit.Rate{}, ratelimit.Rate{}
	if _, ok := targets(cfg)(card("")); ok {
		t.Error("limited with the API limit off")
	}
	if _, ok := targets(cfg)(robotLink); ok {
		t.Error("limited with the robot limit off")
	}
}

func TestByAppRoutesByTheJobsApp(t *testing.T) {
	var got []string
	to := func(name string) dispatcher.Sender {
		return dispatcher.SenderFunc(func(context.Context, dispatcher.Job) error { got = append(got, name); return nil })
	}
	s := byApp(map[string]dispatcher.Sender{"": to("default"), "sales": to("sales")})
	for _, app := range []string{"", "default", "sales", "Sales"} {
		if err := s.Send(context.Background(), dispatcher.Job{App: app}); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"default", "default", "sales", "sales"}; len(got) != 4 || got[0] != want[0] || got[2] != want[2] || got[3] != want[3] {
		t.Errorf("routed to %v, want %v", got, want)
	}
	var de *dispatcher.Error
	if err := s.Send(context.Background(), dispatcher.Job{App: "nosuch"}); !errors.As(err, &de) || de.Decision != dispatcher.Reject || de.Code != dispatcher.CodeUnknownApp {
		t.Errorf("unknown app: %v", err)
	}
}

func TestNewRefusesAnIncompleteConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("built without a client and buckets")
	}
}

func TestWebhookToken(t *testing.T) {
	for in, want := range map[string]string{
		"https://oapi.dingtalk.com/robot/send?access_token=abc": "abc",
		"https://oapi.dingtalk.com/robot/send":                  "",
		"::not a url":                                           "",
	} {
		if got := WebhookToken(in); got != want {
			t.Errorf("WebhookToken(%q) = %q, want %q", in, got, want)
		}
	}
}
