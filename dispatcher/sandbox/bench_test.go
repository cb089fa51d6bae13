package sandbox

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// discard is a ResponseWriter that keeps nothing, so that the benchmarks measure the sandbox.
type discard struct {
	h      http.Header
	status int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(status int)      { d.status = status }

// benchCards returns n distinct card send requests carrying a live token, and their bodies.
func benchCards(b *testing.B, sb *Sandbox, n int) ([]*http.Request, [][]byte) {
	rec := httptest.NewRecorder()
	sb.ServeHTTP(rec, httptest.NewRequest("GET", "/gettoken?appkey=k&appsecret=s", nil))
	tok := rec.Body.String()
	tok = tok[strings.Index(tok, `"access_token":"`)+16:]
	tok = tok[:strings.IndexByte(tok, '"')]

	reqs, bodies := make([]*http.Request, n), make([][]byte, n)
	for i := range reqs {
		bodies[i] = []byte(strings.Replace(cardBody, cardKey, "bench-"+strconv.Itoa(i), 1))
		reqs[i] = httptest.NewRequest("POST", "/v1.0/im/interactiveCards/templates/send", nil)
		reqs[i].Header.Set("x-acs-dingtalk-access-token", tok)
	}
	return reqs, bodies
}

// BenchmarkCardSend is the sandbox's own cost per accepted card send, through the handler.
func BenchmarkCardSend(b *testing.B) {
	sb, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	reqs, bodies := benchCards(b, sb, 1024)
	w := &discard{h: http.Header{}}
	var body bytes.Reader
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := reqs[i%len(reqs)]
		body.Reset(bodies[i%len(reqs)])
		r.Body = io.NopCloser(&body)
		sb.ServeHTTP(w, r)
		if w.status != 200 {
			b.Fatalf("status %d", w.status)
		}
		i++
	}
}

// BenchmarkCardSendParallel is the same under concurrent sends, to show lock contention.
func BenchmarkCardSendParallel(b *testing.B) {
	sb, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	reqs, bodies := benchCards(b, sb, 1024)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &discard{h: http.Header{}}
		var body bytes.Reader
		i := 0
		for pb.Next() {
			r := reqs[i%len(reqs)].Clone(b.Context())
			body.Reset(bodies[i%len(reqs)])
			r.Body = io.NopCloser(&body)
			sb.ServeHTTP(w, r)
			i++
		}
	})
}
