package sandbox

import (
	"errors"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/dingq/dingq/schema"
)

func TestStartAndClose(t *testing.T) {
	sb, err := New(Config{})
	must(t, err)
	srv, err := Start("127.0.0.1:0", sb)
	must(t, err)
	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") {
		t.Errorf("URL() = %q", srv.URL())
	}

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(srv.URL() + "/gettoken?appkey=k&appsecret=s")
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 200 || sb.TokenFetches() != 1 {
		t.Errorf("gettoken through Start: %d, fetches %d", resp.StatusCode, sb.TokenFetches())
	}

	must(t, srv.Close())
	must(t, srv.Close()) // a second Close is harmless
	if _, err := client.Get(srv.URL() + "/gettoken"); err == nil {
		t.Error("the server still answers after Close")
	}
}

func TestStartBadAddress(t *testing.T) {
	sb, err := New(Config{})
	must(t, err)
	if _, err := Start("256.0.0.1:http", sb); err == nil {
		t.Error("Start on an impossible address succeeded")
	}
}

// TestCloseCutsLongWaits: Close does not wait out an hour of latency.
func TestCloseCutsLongWaits(t *testing.T) {
	sb, err := New(Config{Latency: time.Hour})
	must(t, err)
	srv, err := Start("127.0.0.1:0", sb)
	must(t, err)

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequest("POST", srv.URL()+"/api/v1/openapi/notification/dingtalk?access_token=k", strings.NewReader(robotBody))
	must(t, err)
	wrote := make(chan struct{})
	req = req.WithContext(httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { close(wrote) },
	}))
	sent := make(chan error, 1)
	go func() {
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			err = errors.New(resp.Status)
		}
		sent <- err
	}()
	<-wrote

	start := time.Now()
	must(t, srv.Close())
	if d := time.Since(start); d > shutdownTimeout+5*time.Second {
		t.Errorf("Close took %v", d)
	}
	if err := <-sent; err == nil {
		t.Error("the cut request got an answer")
	}
	if n := sb.Stats().Deliveries[schema.KindRobot]; n != 0 {
		t.Errorf("%d deliveries, want none", n)
	}
}
