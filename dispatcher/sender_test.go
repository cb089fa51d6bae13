package dispatcher_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/token"
	"github.com/dingq/dingq/schema"
)

const (
	appKey    = "ding-app-key"
	appSecret = "s3cr3t-app-secret"
)

// newSender builds the sender of kind against baseURL.
func newSender(t *testing.T, kind schema.Kind, baseURL string, client *http.Client, tokens dispatcher.TokenSource) dispatcher.Sender {
	t.Helper()
	var (
		s   dispatcher.Sender
		err error
	)
	switch kind {
	case schema.KindCard:
		s, err = dispatcher.NewCardSender(dispatcher.CardConfig{BaseURL: baseURL, Client: client, Tokens: tokens})
	case schema.KindCrossDomain:
		s, err = dispatcher.NewCrossDomainSender(dispatcher.CrossDomainConfig{BaseURL: baseURL, Client: client, Tokens: tokens})
	case schema.KindRobot:
		s, err = dispatcher.NewRobotSender(dispatcher.RobotConfig{BaseURL: baseURL, Client: client, Tokens: tokens})
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSenderRequest(t *testing.T) {
	// Bodies with odd spacing, to show they are sent byte for byte, not re-marshalled.
	cardBody := `{"cardTemplateId":"StandardCard", "outTrackId":"o-1","robotCode":"r","cardData":"{\"cardParamMap\":{}}"}`
	crossBody := `{"sender":"1001@domain",  "message_id":"321443","send_message_model":{"content":"{\"content\":\"hi\"}"}}`
	robotBody := `{"link":"https://oapi.dingtalk.com/robot/send?access_token=robot-tok","data":[{"msgtype":"text","text":{"content":"hi"}}]}`
	tests := []struct {
		name      string
		kind      schema.Kind
		base      string // appended to the server's URL
		body      string
		ok        string
		wantPath  string
		wantQuery string
		wantHead  string // x-acs-dingtalk-access-token
		wantBody  string
	}{
		{"card", schema.KindCard, "", cardBody, `{"processQueryKey":"k"}`,
			"/v1.0/im/interactiveCards/templates/send", "", "tok-A", cardBody},
		{"card under a path prefix", schema.KindCard, "/prefix/", cardBody, `{"processQueryKey":"k"}`,
			"/prefix/v1.0/im/interactiveCards/templates/send", "", "tok-A", cardBody},
		{"crossdomain", schema.KindCrossDomain, "", crossBody, `{"errcode":0,"errmsg":"ok"}`,
			"/topapi/dingtalk/impaas/message/crossdomain/send", "access_token=tok-A", "",
			`{"crossdomain_message_send_model":` + crossBody + `}`},
		{"robot", schema.KindRobot, "", robotBody, `{"code":0,"data":{}}`,
			"/api/v1/openapi/notification/dingtalk", "access_token=tok-A", "", robotBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, answer(200, tt.ok))
			s := newSender(t, tt.kind, api.URL+tt.base, newClient(t), token.Static("tok-A"))
			if err := s.Send(context.Background(), dispatcher.Job{Kind: tt.kind, ID: "j1", Body: []byte(tt.body), Attempt: 1}); err != nil {
				t.Fatalf("Send() = %v", err)
			}
			got := api.got()
			if len(got) != 1 {
				t.Fatalf("%d requests, want 1", len(got))
			}
			r := got[0]
			if r.method != http.MethodPost || r.path != tt.wantPath || r.rawQuery != tt.wantQuery ||
				r.tokenHeader != tt.wantHead || r.contentType != "application/json" {
				t.Errorf("request %s %s ? %q, token header %q, content type %q; want POST %s ? %q, %q, application/json",
					r.method, r.path, r.rawQuery, r.tokenHeader, r.contentType, tt.wantPath, tt.wantQuery, tt.wantHead)
			}
			if !bytes.Equal(r.body, []byte(tt.wantBody)) {
				t.Errorf("body\n%s\nwant\n%s", r.body, tt.wantBody)
			}
		})
	}
}

// tokenAPI is a fake token endpoint (both styles) that hands out tok-1, tok-2, ... and counts.
type tokenAPI struct {
	*fakeAPI
	fetches atomic.Int64
}

func newTokenAPI(t *testing.T) *tokenAPI {
	ta := &tokenAPI{}
	ta.fakeAPI = newFakeAPI(t, func(r request) (int, string) {
		n := ta.fetches.Add(1)
		if r.path == "/gettoken" {
			return 200, fmt.Sprintf(`{"errcode":0,"errmsg":"ok","access_token":"tok-%d","expires_in":7200}`, n)
		}
		return 200, fmt.Sprintf(`{"accessToken":"tok-%d","expireIn":7200}`, n)
	})
	return ta
}

// cacheFor returns a token cache over the token API style that kind uses.
func cacheFor(t *testing.T, kind schema.Kind, baseURL string, client *http.Client) *token.Cache {
	t.Helper()
	var f token.Fetcher = token.NewAPIFetcher(baseURL, appKey, appSecret, client)
	if kind == schema.KindCrossDomain {
		f = token.NewOAPIFetcher(baseURL, appKey, appSecret, client)
	}
	return token.NewCache(f, token.CacheConfig{})
}

// tokenOf returns the token a request carried.
func tokenOf(r request) string {
	if r.tokenHeader != "" {
		return r.tokenHeader
	}
	if v := r.query["access_token"]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func TestSenderTokenExpired(t *testing.T) {
	tests := []struct {
		name      string
		kind      schema.Kind
		refused   func(tok string) (int, string) // the answer to a refused token
		ok        string
		wantSends int
		wantErr   string // the code of the error, "" for sent
	}{
		{"card 400 InvalidAuthentication", schema.KindCard,
			func(string) (int, string) { return 400, `{"code":"InvalidAuthentication","message":"token invalid"}` },
			`{"processQueryKey":"k"}`, 2, ""},
		{"card 401", schema.KindCard, func(string) (int, string) { return 401, "" }, `{"processQueryKey":"k"}`, 2, ""},
		{"crossdomain 42001", schema.KindCrossDomain,
			func(string) (int, string) { return 200, `{"errcode":42001,"errmsg":"expired"}` },
			`{"errcode":0}`, 2, ""},
		{"crossdomain 88/40014", schema.KindCrossDomain,
			func(string) (int, string) { return 200, `{"errcode":88,"sub_code":"40014"}` },
			`{"errcode":0}`, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := newClient(t)
			tokens := newTokenAPI(t)
			cache := cacheFor(t, tt.kind, tokens.URL, client)
			api := newFakeAPI(t, func(r request) (int, string) {
				if tok := tokenOf(r); tok == "tok-1" {
					return tt.refused(tok)
				}
				return 200, tt.ok
			})
			s := newSender(t, tt.kind, api.URL, client, cache)
			if err := s.Send(context.Background(), dispatcher.Job{Kind: tt.kind, ID: "j1", Body: []byte(`{}`)}); err != nil {
				t.Fatalf("Send() = %v", err)
			}
			got := api.got()
			if len(got) != 2 || tokenOf(got[0]) != "tok-1" || tokenOf(got[1]) != "tok-2" {
				t.Errorf("sends %v, want 2 (tok-1 then tok-2)", got)
			}
			if n, m := tokens.fetches.Load(), cache.Fetches(); n != 2 || m != 2 {
				t.Errorf("token fetches: server %d, cache %d; want 2", n, m)
			}
		})
	}
}

func TestSenderTokenExpiredTwice(t *testing.T) {
	client := newClient(t)
	tokens := newTokenAPI(t)
	cache := cacheFor(t, schema.KindCard, tokens.URL, client)
	api := newFakeAPI(t, answer(400, `{"code":"InvalidAuthentication","message":"token invalid"}`))
	s := newSender(t, schema.KindCard, api.URL, client, cache)
	err := s.Send(context.Background(), dispatcher.Job{Kind: schema.KindCard, ID: "j1", Body: []byte(`{}`)})
	var de *dispatcher.Error
	if !errors.As(err, &de) || de.Decision != dispatcher.Retry || de.Code != "InvalidAuthentication" {
		t.Fatalf("Send() = %v, want a retry with code InvalidAuthentication", err)
	}
	if n := len(api.got()); n != 2 {
		t.Errorf("%d sends, want 2", n)
	}
	if n := cache.Fetches(); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
}

func TestSenderConcurrentColdCache(t *testing.T) {
	const senders = 50
	client := newClient(t)
	tokens := newTokenAPI(t)
	cache := cacheFor(t, schema.KindCard, tokens.URL, client)
	api := newFakeAPI(t, answer(200, `{"processQueryKey":"k"}`))
	s := newSender(t, schema.KindCard, api.URL, client, cache)

	start := make(chan struct{})
	errs := make(chan error, senders)
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			<-start
			errs <- s.Send(context.Background(), dispatcher.Job{Kind: schema.KindCard, ID: fmt.Sprint(i), Body: []byte(`{}`)})
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Send() = %v", err)
		}
	}
	if n := tokens.fetches.Load(); n != 1 {
		t.Errorf("%d token fetches for %d concurrent sends, want 1", n, senders)
	}
	if n := len(api.got()); n != senders {
		t.Errorf("%d sends, want %d", n, senders)
	}
}

func TestSenderTokenFetchFailure(t *testing.T) {
	client := newClient(t)
	tokens := newFakeAPI(t, answer(400, `{"code":"invalidClientIdOrSecret","message":"bad secret `+appSecret+`","requestid":"r"}`))
	cache := cacheFor(t, schema.KindCard, tokens.URL, client)
	api := newFakeAPI(t, answer(200, `{"processQueryKey":"k"}`))
	s := newSender(t, schema.KindCard, api.URL, client, cache)

	err := s.Send(context.Background(), dispatcher.Job{Kind: schema.KindCard, ID: "j1", Body: []byte(`{}`)})
	var de *dispatcher.Error
	if !errors.As(err, &de) || de.Decision != dispatcher.Retry || de.Code != "token:invalidClientIdOrSecret" {
		t.Fatalf("Send() = %v, want a retry with code token:invalidClientIdOrSecret", err)
	}
	if strings.Contains(err.Error(), appSecret) {
		t.Errorf("error shows the app secret: %v", err)
	}
	if n := len(api.got()); n != 0 {
		t.Errorf("%d sends without a token, want 0", n)
	}
}

func TestSenderNetworkError(t *testing.T) {
	const tok = "tok-network-secret"
	for _, kind := range schema.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			api := newFakeAPI(t, answer(200, `{}`))
			api.Close() // nothing listens any more
			s := newSender(t, kind, api.URL, newClient(t), token.Static(tok))
			err := s.Send(context.Background(), dispatcher.Job{Kind: kind, ID: "j1", Body: []byte(`{}`)})
			if err == nil {
				t.Fatal("Send() to a closed server succeeded")
			}
			if dispatcher.DecisionOf(err) != dispatcher.Retry {
				t.Errorf("decision %s, want retry", dispatcher.DecisionOf(err))
			}
			if msg := err.Error(); strings.Contains(msg, "access_token=") || strings.Contains(msg, tok) {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
}

func TestSenderScrubsEchoedSecrets(t *testing.T) {
	const tok = "tok-echoed-secret"
	robotBody := `{"link":"https://oapi.dingtalk.com/robot/send?access_token=robot-webhook-tok","sk":"SECsigning","data":[]}`
	tests := []struct {
		name    string
		kind    schema.Kind
		body    string
		status  int
		answer  string
		secrets []string
	}{
		{"card echoes its token", schema.KindCard, `{}`, 400,
			`{"code":"invalidParameter","message":"token ` + tok + ` cannot send"}`, []string{tok}},
		{"crossdomain echoes its url", schema.KindCrossDomain, `{}`, 200,
			`{"errcode":40035,"errmsg":"bad request to /topapi/x?access_token=` + tok + `"}`, []string{tok}},
		{"robot echoes sk and webhook", schema.KindRobot, robotBody, 200,
			`{"code":40001,"msg":"robot SECsigning failed","hint":"link https://oapi.dingtalk.com/robot/send?access_token=robot-webhook-tok"}`,
			[]string{"SECsigning", "robot-webhook-tok", tok}},
		{"robot echoes the webhook token alone", schema.KindRobot, robotBody, 200,
			`{"code":40001,"msg":"webhook robot-webhook-tok refused"}`, []string{"robot-webhook-tok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, answer(tt.status, tt.answer))
			s := newSender(t, tt.kind, api.URL, newClient(t), token.Static(tok))
			err := s.Send(context.Background(), dispatcher.Job{Kind: tt.kind, ID: "j1", Body: []byte(tt.body)})
			if dispatcher.DecisionOf(err) != dispatcher.Reject {
				t.Fatalf("Send() = %v, want a reject", err)
			}
			for _, secret := range tt.secrets {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error shows %q: %v", secret, err)
				}
			}
		})
	}
}

func TestSenderCarriesContext(t *testing.T) {
	arrived := make(chan struct{})
	// The server holds the request until the client gives up. It reads the body first: only then
	// does it notice a closed connection.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		close(arrived)
		<-r.Context().Done()
	}))
	defer api.Close()
	s := newSender(t, schema.KindCard, api.URL, newClient(t), token.Static("tok"))
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	err := s.Send(ctx, dispatcher.Job{Kind: schema.KindCard, ID: "j1", Body: []byte(`{}`)})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Send() = %v, want context.Canceled", err)
	}
}

func TestSenderConfigValidation(t *testing.T) {
	tokens := token.Static("t")
	tests := []struct {
		name   string
		base   string
		tokens dispatcher.TokenSource
	}{
		{"empty base", "", tokens},
		{"relative base", "/v1.0", tokens},
		{"ftp base", "ftp://h", tokens},
		{"base with query", "https://h?access_token=x", tokens},
		{"nil tokens", "https://h", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err1 := dispatcher.NewCardSender(dispatcher.CardConfig{BaseURL: tt.base, Tokens: tt.tokens})
			_, err2 := dispatcher.NewCrossDomainSender(dispatcher.CrossDomainConfig{BaseURL: tt.base, Tokens: tt.tokens})
			_, err3 := dispatcher.NewRobotSender(dispatcher.RobotConfig{BaseURL: tt.base, Tokens: tt.tokens})
			if err1 == nil || err2 == nil || err3 == nil {
				t.Errorf("accepted: card %v, crossdomain %v, robot %v", err1, err2, err3)
			}
		})
	}
}

func TestRobotRetryCodes(t *testing.T) {
	tests := []struct {
		name  string
		codes []int
		code  int
		want  dispatcher.Decision
	}{
		{"nil: default table retries 410100", nil, 410100, dispatcher.Retry},
		{"nil: default table rejects others", nil, 40001, dispatcher.Reject},
		{"empty: retries none", []int{}, 410100, dispatcher.Reject},
		{"configured", []int{777}, 777, dispatcher.Retry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, answer(200, fmt.Sprintf(`{"code":%d,"msg":"m"}`, tt.code)))
			s, err := dispatcher.NewRobotSender(dispatcher.RobotConfig{
				BaseURL: api.URL, Client: newClient(t), Tokens: token.Static("t"), RetryCodes: tt.codes,
			})
			if err != nil {
				t.Fatal(err)
			}
			err = s.Send(context.Background(), dispatcher.Job{Kind: schema.KindRobot, ID: "j1", Body: []byte(`{}`)})
			if got := dispatcher.DecisionOf(err); got != tt.want {
				t.Errorf("decision %s (%v), want %s", got, err, tt.want)
			}
		})
	}
}
