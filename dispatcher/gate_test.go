package dispatcher_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/schema"
)

// The gate is passed once per request, after the token is in hand (a refused token's resend
// passes it again), and a gate that says no keeps the request from leaving.
func TestSendersPassTheGateBeforeEachRequest(t *testing.T) {
	client := newClient(t)
	tokens := newTokenAPI(t)
	cache := cacheFor(t, schema.KindCard, tokens.URL, client)
	api := newFakeAPI(t, func(r request) (int, string) {
		if tokenOf(r) == "tok-1" {
			return 401, ""
		}
		return 200, `{"processQueryKey":"k"}`
	})
	s := newSender(t, schema.KindCard, api.URL, client, cache)

	var passes []int64 // token fetches seen at each pass
	gate := func(context.Context) error {
		passes = append(passes, tokens.fetches.Load())
		return nil
	}
	if err := s.Send(context.Background(), dispatcher.Job{Kind: schema.KindCard, ID: "j1", Body: []byte(`{}`), Gate: gate}); err != nil {
		t.Fatalf("Send() = %v", err)
	}
	if len(passes) != 2 || passes[0] != 1 || passes[1] != 2 {
		t.Errorf("gate passed with %v token fetches behind it, want [1 2]: once per request, each after its token", passes)
	}

	closed := errors.New("not your turn")
	err := s.Send(context.Background(), dispatcher.Job{Kind: schema.KindCard, ID: "j2", Body: []byte(`{}`), Gate: func(context.Context) error { return closed }})
	if !errors.Is(err, closed) {
		t.Errorf("Send() through a closed gate = %v, want its error", err)
	}
	if n := len(api.got()); n != 2 {
		t.Errorf("%d requests, want 2: none through the closed gate", n)
	}
}
