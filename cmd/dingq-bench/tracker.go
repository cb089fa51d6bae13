package main

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
)

// tracker wraps the sandbox's handler and records, per job, when its requests arrive (before the
// sandbox's latency) and when the sandbox answered it. It knows a job by the number in its body
// (see jobNumber). Safe for concurrent use.
type tracker struct {
	next http.Handler
	// settles reports whether an answer puts job n in its final state, given whether the answer
	// was a successful send. dingq retries a busy answer, so there only a success or the
	// rejection of a job marked to be rejected settles it; the ceiling acks whatever it gets.
	settles func(n int, sent bool) bool

	arrive    []atomic.Int64 // first arrival of a request for the job
	sent      []atomic.Int64 // when the sandbox answered the first successful send
	settledAt []atomic.Int64 // arrival of the request whose answer settled the job
	settled   atomic.Int64   // jobs settled
	started   chan struct{}  // closed at the first request
	done      chan struct{}  // closed once every job is settled
	strays    atomic.Int64   // requests that carried no job number of this run
	startOnce sync.Once
	bufs      sync.Pool
}

func newTracker(next http.Handler, jobs int, settles func(n int, sent bool) bool) *tracker {
	return &tracker{
		next:      next,
		settles:   settles,
		arrive:    make([]atomic.Int64, jobs),
		sent:      make([]atomic.Int64, jobs),
		settledAt: make([]atomic.Int64, jobs),
		started:   make(chan struct{}),
		done:      make(chan struct{}),
		bufs:      sync.Pool{New: func() any { return new(bytes.Buffer) }},
	}
}

func (t *tracker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := now()
	buf := t.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer t.bufs.Put(buf)
	if _, err := buf.ReadFrom(r.Body); err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))
	n := jobNumber(buf.Bytes())
	if n < 0 || n >= len(t.arrive) {
		if r.Method == http.MethodPost && !isTokenPath(r.URL.Path) {
			t.strays.Add(1)
		}
		t.next.ServeHTTP(w, r)
		return
	}
	t.arrive[n].CompareAndSwap(0, at)
	t.startOnce.Do(func() { close(t.started) })

	aw := &answerWriter{ResponseWriter: w}
	t.next.ServeHTTP(aw, r)
	if aw.status == 0 {
		return // the client went away; no answer
	}
	ok := aw.succeeded()
	if ok {
		t.sent[n].CompareAndSwap(0, now())
	}
	if t.settles(n, ok) && t.settledAt[n].CompareAndSwap(0, at) {
		if t.settled.Add(1) == int64(len(t.arrive)) {
			close(t.done)
		}
	}
}

func isTokenPath(p string) bool { return p == "/v1.0/oauth2/accessToken" || p == "/gettoken" }

// answerWriter keeps the status and the first bytes of an answer.
type answerWriter struct {
	http.ResponseWriter
	status int
	head   []byte
}

func (w *answerWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *answerWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if len(w.head) < 32 {
		w.head = append(w.head, b[:min(len(b), 32-len(w.head))]...)
	}
	return w.ResponseWriter.Write(b)
}

// successHeads start the sandbox's answers to a delivered send: card, crossdomain, robot.
var successHeads = [][]byte{[]byte(`{"processQueryKey":`), []byte(`{"errcode":0,`), []byte(`{"code":0,`)}

func (w *answerWriter) succeeded() bool {
	if w.status != http.StatusOK {
		return false
	}
	for _, h := range successHeads {
		if bytes.HasPrefix(w.head, h) {
			return true
		}
	}
	return false
}
