package dispatcher_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/token"
	"github.com/dingq/dingq/schema"
)

// The API senders share one implementation, told apart by parameters: each keeps its own names
// in its errors (the constructor's, and Send's with the job id) and puts the token where its
// API wants it, query-escaped when it goes in the URL.
func TestAPISenderParameters(t *testing.T) {
	const tok = "t k+/=&" // every character that needs escaping in a query
	build := map[string]func(base string, tokens dispatcher.TokenSource) (dispatcher.Sender, error){
		"card": func(base string, tokens dispatcher.TokenSource) (dispatcher.Sender, error) {
			return dispatcher.NewCardSender(dispatcher.CardConfig{BaseURL: base, Tokens: tokens})
		},
		"deliver": func(base string, tokens dispatcher.TokenSource) (dispatcher.Sender, error) {
			return dispatcher.NewCardDeliverSender(dispatcher.CardConfig{BaseURL: base, Tokens: tokens})
		},
		"crossdomain": func(base string, tokens dispatcher.TokenSource) (dispatcher.Sender, error) {
			return dispatcher.NewCrossDomainSender(dispatcher.CrossDomainConfig{BaseURL: base, Tokens: tokens})
		},
		"robot": func(base string, tokens dispatcher.TokenSource) (dispatcher.Sender, error) {
			return dispatcher.NewRobotSender(dispatcher.RobotConfig{BaseURL: base, Tokens: tokens})
		},
	}
	tests := []struct {
		name, configErr string
		status          int
		answer          string
		wantQuery       string
		wantHeader      string
		wantErr         string
	}{
		{"card", "card sender: no token source", 400, `{"code":"invalidParameter","message":"bad"}`,
			"", tok, "send card j1: dingtalk reject: http 400 code invalidParameter: bad"},
		{"deliver", "card deliver sender: no token source", 200,
			`{"success":true,"result":{"deliverResults":[{"spaceType":"IM_GROUP","success":false,"errorMsg":"robot not in group"}]}}`,
			"", tok, "deliver card j1: dingtalk reject: http 200 code deliver_failed: not delivered to 1 of 1 spaces: IM_GROUP: robot not in group"},
		{"crossdomain", "crossdomain sender: no token source", 200, `{"errcode":40035,"errmsg":"bad"}`,
			"access_token=t+k%2B%2F%3D%26", "", "send crossdomain j1: dingtalk reject: http 200 code 40035: bad"},
		{"robot", "robot sender: no token source", 200, `{"code":40001,"msg":"bad"}`,
			"access_token=t+k%2B%2F%3D%26", "", "send robot j1: dingtalk reject: http 200 code 40001: bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := build[tt.name]("https://h", nil); err == nil || err.Error() != tt.configErr {
				t.Errorf("without tokens: %v, want %q", err, tt.configErr)
			}
			api := newFakeAPI(t, answer(tt.status, tt.answer))
			s, err := build[tt.name](api.URL, token.Static(tok))
			if err != nil {
				t.Fatal(err)
			}
			err = s.Send(context.Background(), dispatcher.Job{Kind: schema.KindCard, ID: "j1", Body: []byte(`{}`)})
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Send() = %v, want %q", err, tt.wantErr)
			}
			got := api.got()
			if len(got) != 1 || got[0].rawQuery != tt.wantQuery || got[0].tokenHeader != tt.wantHeader {
				t.Fatalf("requests %+v, want one with query %q and token header %q", got, tt.wantQuery, tt.wantHeader)
			}
		})
	}
	_, err := dispatcher.NewRobotSender(dispatcher.RobotConfig{BaseURL: "https://h", Tokens: token.Static(tok), Penalty: -time.Second})
	if want := "robot sender: penalty -1s is negative"; err == nil || err.Error() != want {
		t.Errorf("negative penalty: %v, want %q", err, want)
	}
}

// Answers are read into reused buffers: the error classified from one answer keeps its text
// after the next answer is read.
func TestClassifiedErrorOutlivesItsAnswer(t *testing.T) {
	var n atomic.Int32
	api := newFakeAPI(t, func(request) (int, string) {
		if n.Add(1) == 1 {
			return 400, `{"code":"param.invalid","message":"the first answer"}`
		}
		return 400, `{"code":"xxxxx.xxxxxxx","message":"THE SECOND ONE!"}`
	})
	s, err := dispatcher.NewCardSender(dispatcher.CardConfig{BaseURL: api.URL, Client: newClient(t), Tokens: token.Static("tok")})
	if err != nil {
		t.Fatal(err)
	}
	job := dispatcher.Job{Kind: schema.KindCard, ID: "o-1", Body: []byte(`{"outTrackId":"o-1"}`)}
	first, ok := errors.AsType[*dispatcher.Error](s.Send(context.Background(), job))
	if !ok || !strings.Contains(first.Message, "the first answer") {
		t.Fatalf("first send: %v, want DingTalk's message", first)
	}
	want := first.Error()
	if err := s.Send(context.Background(), job); err == nil {
		t.Fatal("second send succeeded")
	}
	if got := first.Error(); got != want {
		t.Errorf("the first error reads %q after the second answer, was %q", got, want)
	}
}
