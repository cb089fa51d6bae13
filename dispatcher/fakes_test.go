package dispatcher_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/dingq/dingq/dispatcher/internal/wiretest"
)

// request is what a fake DingTalk saw of one request.
type request struct {
	method, path, rawQuery, contentType, tokenHeader string
	query                                            map[string][]string
	body                                             []byte
}

// fakeAPI is an httptest server that records every request and answers with answer.
type fakeAPI struct {
	*httptest.Server
	mu       sync.Mutex
	requests []request
}

// newFakeAPI starts a fake DingTalk whose answer is chosen per request; it stops with the test.
func newFakeAPI(t testing.TB, answer func(r request) (status int, body string)) *fakeAPI {
	t.Helper()
	f := &fakeAPI{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := request{
			method: r.Method, path: r.URL.Path, rawQuery: r.URL.RawQuery, query: r.URL.Query(),
			contentType: r.Header.Get("Content-Type"), tokenHeader: r.Header.Get("x-acs-dingtalk-access-token"),
			body: body,
		}
		f.mu.Lock()
		f.requests = append(f.requests, req)
		f.mu.Unlock()
		status, answer := answer(req)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(f.Close)
	return f
}

// got returns the requests seen so far.
func (f *fakeAPI) got() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.requests...)
}

// answer returns a fixed answer.
func answer(status int, body string) func(request) (int, string) {
	return func(request) (int, string) { return status, body }
}

// newClient returns a client whose transport checks that every answer body it hands out is
// closed by the end of the test, and whose idle connections are closed then.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	cc := &wiretest.CloseCounter{Next: tr}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		if o, c := cc.Opened(), cc.Closed(); o != c {
			t.Errorf("answer bodies: %d handed out, %d closed", o, c)
		}
	})
	return &http.Client{Transport: cc, Timeout: 10 * time.Second}
}
