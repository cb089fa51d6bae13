// Package wiretest helps the tests of dingq's HTTP callers check that every answer body they are
// handed is closed.
package wiretest

import (
	"io"
	"net/http"
	"sync/atomic"
)

// CloseCounter is a transport that counts the answer bodies it hands out and the ones closed.
// It is safe for concurrent use.
type CloseCounter struct {
	// Next makes the requests. Required.
	Next           http.RoundTripper
	opened, closed atomic.Int64
}

// RoundTrip makes the request through Next and wraps the answer's body to count its Close.
func (c *CloseCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.Next.RoundTrip(r)
	if err == nil {
		c.opened.Add(1)
		resp.Body = &countedBody{ReadCloser: resp.Body, closed: &c.closed}
	}
	return resp, err
}

// Opened returns how many answer bodies were handed out.
func (c *CloseCounter) Opened() int64 { return c.opened.Load() }

// Closed returns how many of them were closed.
func (c *CloseCounter) Closed() int64 { return c.closed.Load() }

type countedBody struct {
	io.ReadCloser
	closed *atomic.Int64
}

func (b *countedBody) Close() error { b.closed.Add(1); return b.ReadCloser.Close() }
