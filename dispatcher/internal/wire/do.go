package wire

import (
	"fmt"
	"io"
	"net/http"
)

const (
	// MaxAnswer is the most of an answer's body that is read: 1 MiB. DingTalk's answers are a few
	// hundred bytes; a longer one is cut, and then fails to parse.
	MaxAnswer = 1 << 20
	// maxDrain is the most of an unread rest that is drained before the body is closed, so that a
	// short rest keeps its connection alive while a long one cannot hold the caller.
	maxDrain = 64 << 10
)

// Do sends req with client and returns the answer's status and at most [MaxAnswer] bytes of its
// body. The body is always drained (up to 64 KiB) and closed. A failure to send is returned
// through [Redact], so its text holds no query string; a failure to read the body comes with the
// status. Do never retries: the request must carry the caller's context.
func Do(client *http.Client, req *http.Request) (status int, body []byte, err error) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, Redact(err)
	}
	defer drainClose(resp.Body)
	body, err = io.ReadAll(io.LimitReader(resp.Body, MaxAnswer))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read answer (http %d): %w", resp.StatusCode, Redact(err))
	}
	return resp.StatusCode, body, nil
}

// drainClose reads what is left of body, up to a bound, and closes it.
func drainClose(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, maxDrain))
	_ = body.Close()
}
