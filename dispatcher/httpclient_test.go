package dispatcher_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/token"
	"github.com/dingq/dingq/schema"
)

func TestNewHTTPClient(t *testing.T) {
	tests := []struct {
		name        string
		conns       int
		timeout     time.Duration
		wantConns   int
		wantTimeout time.Duration
	}{
		{"defaults", 0, 0, dispatcher.DefaultMaxConnsPerHost, dispatcher.DefaultHTTPTimeout},
		{"negative means default", -1, -time.Second, dispatcher.DefaultMaxConnsPerHost, dispatcher.DefaultHTTPTimeout},
		{"sized", 128, 3 * time.Second, 128, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dispatcher.NewHTTPClient(tt.conns, tt.timeout)
			defer c.CloseIdleConnections()
			tr, ok := c.Transport.(*http.Transport)
			if !ok {
				t.Fatalf("transport %T, want *http.Transport", c.Transport)
			}
			if c.Timeout != tt.wantTimeout || tr.MaxIdleConnsPerHost != tt.wantConns ||
				tr.TLSHandshakeTimeout == 0 || tr.DialContext == nil || !tr.DisableCompression {
				t.Errorf("timeout %v, idle per host %d, TLS timeout %v, no compression %v; want %v, %d, true",
					c.Timeout, tr.MaxIdleConnsPerHost, tr.TLSHandshakeTimeout, tr.DisableCompression, tt.wantTimeout, tt.wantConns)
			}
		})
	}
}

func TestNewHTTPClientFollowsNoRedirect(t *testing.T) {
	elsewhere := newFakeAPI(t, answer(200, `{"processQueryKey":"k"}`))
	api := httptest.NewServer(http.RedirectHandler(elsewhere.URL, http.StatusTemporaryRedirect))
	defer api.Close()
	client := dispatcher.NewHTTPClient(1, 0)
	defer client.CloseIdleConnections()
	s, err := dispatcher.NewCardSender(dispatcher.CardConfig{BaseURL: api.URL, Client: client, Tokens: token.Static("tok")})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), dispatcher.Job{Kind: schema.KindCard, ID: "j1", Body: []byte(`{}`)})
	if dispatcher.DecisionOf(err) != dispatcher.Retry {
		t.Errorf("Send() = %v, want a retry", err)
	}
	if n := len(elsewhere.got()); n != 0 {
		t.Errorf("the redirect was followed: %d requests elsewhere", n)
	}
}
