package wire

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"sync"
	"time"
)

// Post sends body to u as a POST with header h and hands the answer's status and at most
// [MaxAnswer] bytes of its body to read, whose error it returns. It is the senders' hot path:
// it reads answers into buffers that it reuses, so read must not keep the answer once it returns,
// and h is shared between requests, so it must not change once passed.
//
// It is [Do] for a client that follows no redirect and keeps no cookies: Post calls client's
// transport itself, with client's Timeout as a deadline on ctx, and returns a 3xx answer as it
// is. A failure to send is a [*url.Error] ("Post \"<url>\": ..."), without u's query string.
func Post(ctx context.Context, client *http.Client, u *url.URL, h http.Header, body []byte, read func(status int, answer []byte) error) error {
	if client.Timeout > 0 {
		d := startDeadline(ctx, client.Timeout)
		defer d.stop()
		ctx = d.ctx
	}
	rt := client.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	// The body is a bytes.Reader in a NopCloser, which the transport knows to be in memory: it
	// writes the headers and the body in one go, where any other reader costs a write of its own.
	// The request's parts are not reused: the transport may still hold them after RoundTrip.
	tmpl := http.Request{Method: http.MethodPost, URL: u, Header: h, Body: http.NoBody}
	if len(body) > 0 {
		tmpl.Body, tmpl.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		tmpl.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	resp, err := rt.RoundTrip(tmpl.WithContext(ctx))
	if err != nil {
		return &url.Error{Op: "Post", URL: RedactURL(u.String()), Err: err}
	}
	a := answers.Get().(*answer)
	defer a.release()
	a.buf.Reset()
	a.limit = io.LimitedReader{R: resp.Body, N: MaxAnswer}
	_, err = a.buf.ReadFrom(&a.limit)
	if a.limit.N == 0 { // cut at MaxAnswer: a rest may wait
		drainClose(resp.Body)
	} else {
		_ = resp.Body.Close()
	}
	if err != nil {
		return fmt.Errorf("read answer (http %d): %w", resp.StatusCode, Redact(err))
	}
	return read(resp.StatusCode, a.buf.Bytes())
}

// deadlines holds the timeout contexts of finished posts whose timer did not fire, for the next
// post under the same parent: a context and a timer made afresh for every request cost six
// allocations. It is a bounded list rather than a sync.Pool because each holds a place in its
// parent's list of children until it is cancelled: one that a pool dropped would stay there.
var deadlines = make(chan *deadline, 1024)

// deadline is a context that its timer cancels, with a [timeoutError], after a post's timeout.
type deadline struct {
	parent context.Context
	after  time.Duration
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
}

// startDeadline returns a deadline on parent that ends after d, reusing one when it can.
func startDeadline(parent context.Context, d time.Duration) *deadline {
	select {
	case v := <-deadlines:
		// The parent must be the same (its values and its cancellation are the request's), and
		// only comparable contexts can be compared.
		if reflect.TypeOf(parent).Comparable() && v.parent == parent && v.after == d && v.ctx.Err() == nil {
			v.timer.Reset(d)
			return v
		}
		v.cancel(nil)
	default:
	}
	v := &deadline{parent: parent, after: d}
	v.ctx, v.cancel = context.WithCancelCause(parent)
	v.timer = time.AfterFunc(d, func() { v.cancel(timeoutError{d}) })
	return v
}

// stop ends the deadline and keeps it for the next post if its timer has not fired.
func (v *deadline) stop() {
	if v.timer.Stop() && v.ctx.Err() == nil {
		select {
		case deadlines <- v:
			return
		default:
		}
	}
	v.cancel(nil)
}

// timeoutError is a post that outlasted the client's Timeout: it is a timeout (for [url.Error]'s
// Timeout) and is [context.DeadlineExceeded].
type timeoutError struct{ after time.Duration }

func (e timeoutError) Error() string {
	return fmt.Sprintf("context deadline exceeded (Client.Timeout %v exceeded)", e.after)
}
func (timeoutError) Timeout() bool        { return true }
func (timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// maxKept is the largest answer buffer kept for the next answer.
const maxKept = 64 << 10

// answers are the buffers that answers are read into.
var answers = sync.Pool{New: func() any { return new(answer) }}

type answer struct {
	buf   bytes.Buffer
	limit io.LimitedReader
}

func (a *answer) release() {
	a.limit = io.LimitedReader{}
	if a.buf.Cap() > maxKept {
		a.buf = bytes.Buffer{}
	}
	answers.Put(a)
}
