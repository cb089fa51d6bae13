package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/dingq/dingq/schema"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Bodies that pass every check, and the keys they are recorded under.
const (
	cardBody = `{"cardTemplateId":"StandardCard","openConversationId":"cid123","outTrackId":"track-1",` +
		`"robotCode":"robot-1","cardData":"{\"cardParamMap\":{\"title\":\"hello\"}}"}`
	cardKey          = "track-1"
	crossDomainModel = `{"sender":"1001@domain","message_id":"msg-1","send_message_model":{"conversation_type":1,` +
		`"uuid":"u-1","content_type":1,"content":"{\"content\":\"test\"}","cid":"1011@domain:@domain$1@G"},` +
		`"message_receiver_scope_model":{"actual_receivers":["uid"]},"new_conversation_notification_off":true}`
	crossDomainKey = "msg-1"
	robotBody      = `{"link":"https://oapi.dingtalk.com/robot/send?access_token=robot-webhook-token",` +
		`"sk":"SECrobotsigningsecret","data":[{"msgtype":"text","text":{"content":"hello"}}]}`
)

// wrap puts a cross-domain model under its parameter name, as dingq sends it.
func wrap(model string) string { return `{"crossdomain_message_send_model":` + model + `}` }

// validBody is a body of kind that the sandbox accepts, as sent on the wire.
func validBody(kind schema.Kind) string {
	switch kind {
	case schema.KindCard:
		return cardBody
	case schema.KindCrossDomain:
		return wrap(crossDomainModel)
	}
	return robotBody
}

// env is a sandbox behind a real HTTP server.
type env struct {
	t      *testing.T
	sb     *Sandbox
	srv    *httptest.Server
	client *http.Client
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	sb, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &env{t: t, sb: sb, srv: srv, client: srv.Client()}
}

// reply is an HTTP answer: status, raw body, and the body decoded as a JSON object (nil if not).
type reply struct {
	status int
	header http.Header
	raw    string
	json   map[string]any
}

func (e *env) do(req *http.Request) reply {
	e.t.Helper()
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read answer: %v", err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if json.Unmarshal(raw, &r.json) != nil {
		r.json = nil
	}
	return r
}

func (e *env) request(method, path, body string) *http.Request {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req
}

// appToken fetches an app token from the new-style endpoint.
func (e *env) appToken() string {
	e.t.Helper()
	r := e.do(e.request("POST", "/v1.0/oauth2/accessToken", `{"appKey":"key","appSecret":"secret"}`))
	tok, _ := r.json["accessToken"].(string)
	if r.status != 200 || tok == "" {
		e.t.Fatalf("accessToken: %d %s", r.status, r.raw)
	}
	return tok
}

// sendRequest builds a send of kind carrying token where the kind's API expects it.
func (e *env) sendRequest(kind schema.Kind, token, body string) *http.Request {
	e.t.Helper()
	switch kind {
	case schema.KindCard:
		req := e.request("POST", "/v1.0/im/interactiveCards/templates/send", body)
		if token != "" {
			req.Header.Set("x-acs-dingtalk-access-token", token)
		}
		return req
	case schema.KindCrossDomain:
		return e.request("POST", "/topapi/dingtalk/impaas/message/crossdomain/send?access_token="+url.QueryEscape(token), body)
	}
	return e.request("POST", "/api/v1/openapi/notification/dingtalk?access_token="+url.QueryEscape(token), body)
}

// tokenFor returns a token good for kind's sends: an app token, or the kdocs token.
func (e *env) tokenFor(kind schema.Kind) string {
	if kind == schema.KindRobot {
		return "kdocs-token"
	}
	return e.appToken()
}

func (e *env) send(kind schema.Kind, token, body string) reply {
	e.t.Helper()
	return e.do(e.sendRequest(kind, token, body))
}

// keys returns the JSON object's keys, sorted and comma-separated.
func keys(m map[string]any) string { return strings.Join(slices.Sorted(maps.Keys(m)), ",") }

// compact returns s with JSON whitespace removed.
func compact(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
