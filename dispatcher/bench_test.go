package dispatcher_test

import (
	"context"
	"testing"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/token"
	"github.com/dingq/dingq/schema"
)

func BenchmarkCardSend(b *testing.B) {
	api := newFakeAPI(b, answer(200, `{"processQueryKey":"2a1b3c4d5e6f"}`))
	client := dispatcher.NewHTTPClient(0, 0)
	b.Cleanup(client.CloseIdleConnections)
	s, err := dispatcher.NewCardSender(dispatcher.CardConfig{BaseURL: api.URL, Client: client, Tokens: token.Static("tok")})
	if err != nil {
		b.Fatal(err)
	}
	job := dispatcher.Job{Kind: schema.KindCard, ID: "o-1", Body: []byte(
		`{"cardTemplateId":"StandardCard","openConversationId":"cid","outTrackId":"o-1","robotCode":"r","cardData":"{\"cardParamMap\":{\"title\":\"hi\"}}"}`)}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Send(context.Background(), job); err != nil {
			b.Fatal(err)
		}
	}
}
