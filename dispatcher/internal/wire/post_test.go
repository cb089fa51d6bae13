package wire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dingq/dingq/dispatcher/internal/wiretest"
)

var jsonHeader = http.Header{"Content-Type": {"application/json"}}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Post reads the answer to its bound, closes every body, and hands the server's bytes to read.
func TestPostReadsTheAnswer(t *testing.T) {
	big := strings.Repeat("x", MaxAnswer+100<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch {
		case r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json":
			w.WriteHeader(http.StatusBadRequest)
		case r.URL.Path == "/big":
			_, _ = io.WriteString(w, big)
		default:
			w.WriteHeader(http.StatusTeapot)
			_, _ = w.Write(b) // the body, echoed
		}
	}))
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	cc := &wiretest.CloseCounter{Next: tr}
	client := &http.Client{Transport: cc}

	for _, tt := range []struct {
		path, body string
		wantStatus int
		wantLen    int
	}{
		{"/echo?access_token=SECRET", `{"a":1}`, http.StatusTeapot, len(`{"a":1}`)},
		{"/big", `{}`, http.StatusOK, MaxAnswer},
	} {
		var status, n int
		err := Post(context.Background(), client, mustURL(t, srv.URL+tt.path), jsonHeader, []byte(tt.body), func(s int, a []byte) error {
			status, n = s, len(a)
			return nil
		})
		if err != nil || status != tt.wantStatus || n != tt.wantLen {
			t.Errorf("Post(%s) read %d, %d bytes, returned %v; want %d, %d bytes", tt.path, status, n, err, tt.wantStatus, tt.wantLen)
		}
	}
	if o, c := cc.Opened(), cc.Closed(); o != 2 || c != 2 {
		t.Errorf("bodies opened %d, closed %d; want 2, 2", o, c)
	}
}

// writeCounter counts the writes made on its connections.
type writeCounter struct {
	net.Conn
	writes *atomic.Int64
}

func (c writeCounter) Write(b []byte) (int, error) { c.writes.Add(1); return c.Conn.Write(b) }

// A request goes out in one write, headers and body together: a body the transport does not know
// to be in memory makes it flush the headers first, a second write for every send.
func TestPostWritesARequestOnce(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	var writes atomic.Int64
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		return writeCounter{c, &writes}, err
	}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	const sends = 5
	for range sends {
		if err := Post(context.Background(), client, mustURL(t, srv.URL), jsonHeader, []byte(`{"k":"v"}`), func(int, []byte) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if n := writes.Load(); n != sends {
		t.Errorf("%d sends made %d writes, want one each", sends, n)
	}
}

// Post keeps the client's timeout, follows no redirect, and says where it failed without the
// query string.
func TestPostTimeoutRedirectAndErrors(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		<-release
	}))
	defer srv.Close()
	defer close(release)
	client := &http.Client{Timeout: 50 * time.Millisecond}

	err := Post(context.Background(), client, mustURL(t, srv.URL+"/slow?access_token=SECRET"), jsonHeader, []byte(`{}`), func(int, []byte) error { return nil })
	var ue *url.Error
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ue) || !ue.Timeout() {
		t.Errorf("Post to a server that does not answer: %v, want a timeout *url.Error", err)
	}
	if err != nil && (strings.Contains(err.Error(), "SECRET") || !strings.HasPrefix(err.Error(), `Post "`+srv.URL+`/slow"`)) {
		t.Errorf("error %q: want it to name the URL without its query", err)
	}

	var status int
	err = Post(context.Background(), srv.Client(), mustURL(t, srv.URL+"/moved"), jsonHeader, []byte(`{}`), func(s int, _ []byte) error {
		status = s
		return nil
	})
	if err != nil || status != http.StatusFound {
		t.Errorf("Post to a redirect: status %d, %v; want 302 handed to read", status, err)
	}
}

// Posts reuse their timeout contexts: a reused one times out again, one that timed out or whose
// parent ended is not reused, and no post inherits another parent's cancellation.
func TestPostDeadlinesAreReusedSafely(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	defer srv.Close()
	defer close(release)
	client := &http.Client{Timeout: 100 * time.Millisecond}
	post := func(ctx context.Context, path string) error {
		return Post(ctx, client, mustURL(t, srv.URL+path), jsonHeader, []byte(`{}`), func(int, []byte) error { return nil })
	}
	bg := context.Background()
	for i := range 3 {
		if err := post(bg, "/fast"); err != nil {
			t.Fatalf("round %d: fast post: %v", i, err)
		}
		if err := post(bg, "/slow"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("round %d: slow post: %v, want a timeout", i, err)
		}
	}
	ctx, cancel := context.WithCancel(bg)
	if err := post(ctx, "/fast"); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := post(bg, "/fast"); err != nil {
		t.Errorf("a post after another's parent ended: %v", err)
	}
	if err := post(ctx, "/fast"); !errors.Is(err, context.Canceled) {
		t.Errorf("a post under an ended parent: %v, want context.Canceled", err)
	}
}

// DingTalk answers over HTTP/2: concurrent posts sharing one header map go through the HTTP/2
// transport, each with its body and answer intact (the race detector watches the shared map).
func TestPostOverHTTP2(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 || r.Header.Get("X-Token") != "tok" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		_, _ = io.Copy(w, r.Body)
	}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes cut short at Close
	srv.StartTLS()
	defer srv.Close()
	client := srv.Client()
	client.Timeout = 10 * time.Second
	h := http.Header{"Content-Type": {"application/json"}, "X-Token": {"tok"}}
	u := mustURL(t, srv.URL)
	errs := make(chan error, 32)
	for i := range cap(errs) {
		go func() {
			body := strings.Repeat(string(rune('a'+i%26)), 100+i)
			errs <- Post(context.Background(), client, u, h, []byte(body), func(status int, answer []byte) error {
				if status != http.StatusOK || string(answer) != body {
					return fmt.Errorf("post %d: status %d, answer %q", i, status, answer)
				}
				return nil
			})
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// rewindChecker is a transport that checks that each request can be rewound to its body before
// making it.
type rewindChecker struct {
	next http.RoundTripper
	t    *testing.T
}

func (c rewindChecker) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.GetBody == nil {
		c.t.Error("a post without GetBody: the transport cannot send it again on a fresh connection")
		return c.next.RoundTrip(r)
	}
	again, err := r.GetBody()
	if err != nil {
		c.t.Fatal(err)
	}
	b, _ := io.ReadAll(again)
	if int64(len(b)) != r.ContentLength {
		c.t.Errorf("GetBody gives %d bytes, the request has %d", len(b), r.ContentLength)
	}
	return c.next.RoundTrip(r)
}

// A POST on a pooled connection that turns out dead before anything is written is sent again on
// a new one only if the transport can rewind its body: Post gives it GetBody, as
// http.NewRequest does for in-memory bodies.
func TestPostCanBeSentAgain(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(w, r.Body)
	}))
	defer srv.Close()
	client := &http.Client{Transport: rewindChecker{next: srv.Client().Transport, t: t}}
	err := Post(context.Background(), client, mustURL(t, srv.URL), jsonHeader, []byte(`{"n":1}`), func(_ int, a []byte) error {
		if string(a) != `{"n":1}` {
			return fmt.Errorf("answer %q", a)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
