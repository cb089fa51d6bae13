package dispatcher_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/sandbox"
	"github.com/dingq/dingq/dispatcher/token"
	"github.com/dingq/dingq/schema"
)

// deliverBody has odd spacing, to show it is sent byte for byte, not re-marshalled.
const deliverBody = `{"cardTemplateId":"t.schema", "outTrackId":"o-1","openSpaceId":"dtv1.card//IM_GROUP.cid1",` +
	`"cardData":{"cardParamMap":{"title":"hi"}},  "imGroupOpenDeliverModel":{"robotCode":"r"}}`

// deliverOK answers createAndDeliver's success for one space.
const deliverOK = `{"success":true,"result":{"outTrackId":"o-1","deliverResults":[` +
	`{"spaceType":"IM_GROUP","spaceId":"cid1","success":true,"errorMsg":"","carrierId":"c-1"}]}}`

func newDeliverSender(t *testing.T, baseURL string, client *http.Client, tokens dispatcher.TokenSource) *dispatcher.CardDeliverSender {
	t.Helper()
	s, err := dispatcher.NewCardDeliverSender(dispatcher.CardConfig{BaseURL: baseURL, Client: client, Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCardDeliverRequest(t *testing.T) {
	for _, tt := range []struct{ base, wantPath string }{
		{"", "/v1.0/card/instances/createAndDeliver"},
		{"/prefix/", "/prefix/v1.0/card/instances/createAndDeliver"},
	} {
		api := newFakeAPI(t, answer(200, deliverOK))
		s := newDeliverSender(t, api.URL+tt.base, newClient(t), token.Static("tok-A"))
		if err := s.Send(context.Background(), dispatcher.Job{Kind: schema.KindCard, ID: "o-1", Body: []byte(deliverBody), Attempt: 1}); err != nil {
			t.Fatalf("Send() = %v", err)
		}
		got := api.got()
		if len(got) != 1 {
			t.Fatalf("%d requests, want 1", len(got))
		}
		r := got[0]
		if r.method != http.MethodPost || r.path != tt.wantPath || r.rawQuery != "" || r.tokenHeader != "tok-A" || r.contentType != "application/json" {
			t.Errorf("request %s %s ? %q, token header %q, content type %q; want POST %s, tok-A, application/json",
				r.method, r.path, r.rawQuery, r.tokenHeader, r.contentType, tt.wantPath)
		}
		if !bytes.Equal(r.body, []byte(deliverBody)) {
			t.Errorf("body\n%s\nwant\n%s", r.body, deliverBody)
		}
	}
}

func TestCardDeliverTokenExpired(t *testing.T) {
	for _, tt := range []struct {
		name    string
		status  int
		refusal string
	}{
		{"400 InvalidAuthentication", 400, `{"code":"InvalidAuthentication","message":"token invalid"}`},
		{"400 InvalidAuthentication, gateway form", 400, `{"Code":"InvalidAuthentication","Message":"m","RequestId":"r"}`},
		{"401", 401, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			client := newClient(t)
			tokens := newTokenAPI(t)
			cache := cacheFor(t, schema.KindCard, tokens.URL, client)
			api := newFakeAPI(t, func(r request) (int, string) {
				if r.tokenHeader == "tok-1" {
					return tt.status, tt.refusal
				}
				return 200, deliverOK
			})
			s := newDeliverSender(t, api.URL, client, cache)
			if err := s.Send(context.Background(), dispatcher.Job{Kind: schema.KindCard, ID: "o-1", Body: []byte(deliverBody)}); err != nil {
				t.Fatalf("Send() = %v", err)
			}
			got := api.got()
			if len(got) != 2 || got[0].tokenHeader != "tok-1" || got[1].tokenHeader != "tok-2" {
				t.Errorf("sends %v, want 2 (tok-1 then tok-2)", got)
			}
			if n := tokens.fetches.Load(); n != 2 {
				t.Errorf("%d token fetches, want 2", n)
			}
		})
	}
}

func TestCardDeliverTokenExpiredTwice(t *testing.T) {
	client := newClient(t)
	cache := cacheFor(t, schema.KindCard, newTokenAPI(t).URL, client)
	api := newFakeAPI(t, answer(400, `{"code":"InvalidAuthentication","message":"token invalid"}`))
	err := newDeliverSender(t, api.URL, client, cache).Send(context.Background(), dispatcher.Job{Kind: schema.KindCard, ID: "o-1", Body: []byte(deliverBody)})
	var de *dispatcher.Error
	if !errors.As(err, &de) || de.Decision != dispatcher.Retry || de.Code != "InvalidAuthentication" {
		t.Fatalf("Send() = %v, want a retry with code InvalidAuthentication", err)
	}
	if n := len(api.got()); n != 2 {
		t.Errorf("%d sends, want 2", n)
	}
}

// The sender carries the classifier's decision out, wrapped with the job id, and scrubs the token
// from what DingTalk echoes.
func TestCardDeliverFailures(t *testing.T) {
	const tok = "tok-echoed-secret"
	tests := []struct {
		name   string
		status int
		answer string
		want   dispatcher.Decision
		code   string
	}{
		{"space failed", 200, `{"success":true,"result":{"deliverResults":[{"spaceType":"IM_GROUP","success":false,"errorMsg":"robot not in group"}]}}`,
			dispatcher.Reject, dispatcher.CodeDeliverFailed},
		{"no success", 200, `{"success":false}`, dispatcher.Retry, dispatcher.CodeNoSuccess},
		{"bad request echoing the token", 400, `{"code":"param.outTrackIdEmpty","message":"token ` + tok + `"}`, dispatcher.Reject, "param.outTrackIdEmpty"},
		{"busy", 500, `{"code":"systemBusy"}`, dispatcher.Retry, "systemBusy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, answer(tt.status, tt.answer))
			err := newDeliverSender(t, api.URL, newClient(t), token.Static(tok)).
				Send(context.Background(), dispatcher.Job{Kind: schema.KindCard, ID: "o-7", Body: []byte(deliverBody)})
			var de *dispatcher.Error
			if !errors.As(err, &de) || de.Decision != tt.want || de.Code != tt.code {
				t.Fatalf("Send() = %v, want %s with code %s", err, tt.want, tt.code)
			}
			if msg := err.Error(); !strings.Contains(msg, "o-7") || strings.Contains(msg, tok) {
				t.Errorf("error %q: want the job id and no token", msg)
			}
		})
	}
}

func TestCardDeliverConfigValidation(t *testing.T) {
	for _, cfg := range []dispatcher.CardConfig{
		{BaseURL: "", Tokens: token.Static("t")},
		{BaseURL: "/v1.0", Tokens: token.Static("t")},
		{BaseURL: "https://h?access_token=x", Tokens: token.Static("t")},
		{BaseURL: "https://h"},
	} {
		if _, err := dispatcher.NewCardDeliverSender(cfg); err == nil {
			t.Errorf("NewCardDeliverSender(%+v) accepted", cfg)
		}
	}
}

// recordingSender records the ids of the jobs it is given.
type recordingSender struct {
	mu  sync.Mutex
	ids []string
}

func (r *recordingSender) Send(_ context.Context, job dispatcher.Job) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, job.ID)
	return nil
}

func (r *recordingSender) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...)
}

func TestCardModeSender(t *testing.T) {
	template, deliver := &recordingSender{}, &recordingSender{}
	s := dispatcher.NewCardModeSender(template, deliver)
	jobs := []dispatcher.Job{
		{Kind: schema.KindCard, ID: "t-1", Body: []byte(`{"cardTemplateId":"StandardCard","openConversationId":"cid"}`)},
		{Kind: schema.KindCard, ID: "d-1", Body: []byte(deliverBody)},
		{Kind: schema.KindCard, ID: "t-2", Body: []byte(`{"cardData":"{\"openSpaceId\":\"x\"}"}`)}, // named only inside a value
		{Kind: schema.KindCard, ID: "d-2", Body: []byte(`{"openSpaceId":null}`)},
	}
	for _, job := range jobs {
		if err := s.Send(context.Background(), job); err != nil {
			t.Fatalf("Send(%s) = %v", job.ID, err)
		}
	}
	if got := strings.Join(template.got(), ","); got != "t-1,t-2" {
		t.Errorf("template sender got %s, want t-1,t-2", got)
	}
	if got := strings.Join(deliver.got(), ","); got != "d-1,d-2" {
		t.Errorf("deliver sender got %s, want d-1,d-2", got)
	}
}

// Through a Mux, as the worker wires it, with one mode left out.
func TestCardModeSenderMissingMode(t *testing.T) {
	template := &recordingSender{}
	mux := dispatcher.NewMux(map[schema.Kind]dispatcher.Sender{schema.KindCard: dispatcher.NewCardModeSender(template, nil)})
	err := mux.Send(context.Background(), dispatcher.Job{Kind: schema.KindCard, ID: "d-1", Body: []byte(deliverBody)})
	var de *dispatcher.Error
	if !errors.As(err, &de) || de.Decision != dispatcher.Reject || de.Code != dispatcher.CodeUnknownKind || !strings.Contains(de.Message, "deliver") {
		t.Fatalf("Send() = %v, want a reject naming the deliver mode", err)
	}
	if err := mux.Send(context.Background(), dispatcher.Job{Kind: schema.KindCard, ID: "t-1", Body: []byte(`{}`)}); err != nil {
		t.Fatalf("template job: %v", err)
	}
	if got := template.got(); len(got) != 1 {
		t.Errorf("template sender got %v, want t-1", got)
	}
}

// The deliver sender against the sandbox, through the mode sender as the worker wires it: both
// modes reach their endpoint, a refused token is refreshed once, and a space the card cannot
// reach dead-letters the job.
func TestCardModesAgainstSandbox(t *testing.T) {
	sb, err := sandbox.New(sandbox.Config{AppKey: appKey, AppSecret: appSecret})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	client := newClient(t)
	cache := cacheFor(t, schema.KindCard, srv.URL, client)
	cfg := dispatcher.CardConfig{BaseURL: srv.URL, Client: client, Tokens: cache}
	template, err := dispatcher.NewCardSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := dispatcher.NewCardModeSender(template, newDeliverSender(t, srv.URL, client, cache))
	send := func(id, body string) error {
		return s.Send(context.Background(), dispatcher.Job{Kind: schema.KindCard, ID: id, Body: []byte(body), Attempt: 1})
	}

	if err := send("o-1", deliverBody); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	templateBody := `{"cardTemplateId":"StandardCard","openConversationId":"cid","outTrackId":"t-1","robotCode":"r","cardData":"{\"cardParamMap\":{}}"}`
	if err := send("t-1", templateBody); err != nil {
		t.Fatalf("template: %v", err)
	}
	sb.ExpireTokens()
	again := strings.Replace(deliverBody, `"o-1"`, `"o-2"`, 1)
	if err := send("o-2", again); err != nil {
		t.Fatalf("deliver after the tokens expired: %v", err)
	}
	if n := cache.Fetches(); n != 2 {
		t.Errorf("%d token fetches, want 2", n)
	}
	for _, key := range []string{"o-1", "t-1", "o-2"} {
		if n := sb.DeliveryCount(key); n != 1 {
			t.Errorf("%s delivered %d times, want 1", key, n)
		}
	}

	unreachable := strings.Replace(deliverBody, "IM_GROUP.cid1", "IM_GROUP."+sandbox.FailSpacePrefix, 1)
	err = send("o-3", strings.Replace(unreachable, `"o-1"`, `"o-3"`, 1))
	var de *dispatcher.Error
	if !errors.As(err, &de) || de.Decision != dispatcher.Reject || de.Code != dispatcher.CodeDeliverFailed || !strings.Contains(de.Message, "IM_GROUP") {
		t.Fatalf("an unreachable space: %v, want a reject %s naming IM_GROUP", err, dispatcher.CodeDeliverFailed)
	}
}
