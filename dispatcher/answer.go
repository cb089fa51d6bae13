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

// pageFailure decides an answer whose body is not a JSON object, on every API, before the
// API's own table (docs/dingtalk.md#ip-ban). DingTalk's per-IP ban is answered by an HTML page,
// with HTTP 403 or another status, on every host and path, and lasts five minutes: the quick
// backoff would spend a job's attempts inside it, so such a page waits banDelay. Two statuses say
// more than their page, whatever its form:
//   - 502, 503, 504: a gateway's failure, which passes (the card table's row "502, 503, 504 /
//     any"); gateways answer these with HTML pages of their own. Retried on the worker's backoff.
//   - 413: the body is too large, and will be as large next time. Reject, rather than spend
//     every attempt a minute apart on a page that cannot be the ban's.
func pageFailure(status int, body []byte) *Error {
	switch status {
	case 502, 503, 504:
		return failure(Retry, httpCode(status), status, snippet(body), 0)
	case 413:
		return failure(Reject, httpCode(status), status, snippet(body), 0)
	}
	return failure(Retry, CodeNonJSONBody, status, snippet(body), banDelay)
}

// snippet is the start of an answer that could not be read, as its error's message.
func snippet(body []byte) string {
	const n = 2 * wire.MaxMessage
	if len(body) > n {
		body = body[:n]
	}
	return string(body)
}
