package dispatcher

import (
	"strconv"
	"time"

	"github.com/dingq/dingq/dispatcher/internal/wire"
)

// httpCode is the code of a failed answer that names none of its own, e.g. "http_502".
func httpCode(status int) string { return "http_" + strconv.Itoa(status) }

// isSuccess reports whether status is 2xx.
func isSuccess(status int) bool { return status >= 200 && status < 300 }

// failure builds the classified error of an answer; msg is cleaned by [wire.Line]. A QPS refusal
// (minDelay throttleDelay) also carries that delay as a Penalty: DingTalk counts per app and API,
// so the rate limiter holds the API's other jobs too, across the fleet, not only this one.
func failure(d Decision, code string, status int, msg string, minDelay time.Duration) *Error {
	e := &Error{Decision: d, Code: code, HTTPStatus: status, Message: wire.Line(msg), MinDelay: minDelay}
	if minDelay == throttleDelay {
		e.Penalty = throttleDelay
	}
	return e
}

// snippet is the start of an answer that could not be read, as its error's message.
func snippet(body []byte) string {
	const n = 2 * wire.MaxMessage
	if len(body) > n {
		body = body[:n]
	}
	return string(body)
}
