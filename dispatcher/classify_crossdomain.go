package dispatcher

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/dingq/dingq/dispatcher/internal/wire"
)

// topAnswer is a TOP API answer (/topapi/ paths), and the robot webhook's. errcode and sub_code
// are read whether they come as numbers or strings. code and Code are a gateway's refusal on a
// status that is not 2xx, in the API gateway's form, read only to tell a QPS refusal.
type topAnswer struct {
	ErrCode     json.RawMessage `json:"errcode"`
	ErrMsg      json.RawMessage `json:"errmsg"`
	SubCode     json.RawMessage `json:"sub_code"`
	SubMsg      json.RawMessage `json:"sub_msg"`
	Code        json.RawMessage `json:"code"`
	CodeGateway json.RawMessage `json:"Code"`
}

// message is sub_msg when there is one, as it is the more precise, else errmsg.
func (a *topAnswer) message() string {
	if m := wire.JSONText(a.SubMsg); m != "" {
		return m
	}
	return wire.JSONText(a.ErrMsg)
}

// gatewayCode is the code of a gateway's refusal, in either form.
func (a *topAnswer) gatewayCode() string {
	return orCode(wire.JSONText(a.Code), wire.JSONText(a.CodeGateway))
}

// classifyCrossDomain reads the cross-domain send API's answer: nil when the message was sent,
// otherwise a [*Error]. It decides on errcode, never on errmsg.
// Table: docs/dingtalk.md#cross-domain-errors. Where that table has no row, the choice is
// written at its case.
func classifyCrossDomain(status int, body []byte) error {
	if !wire.IsJSONObject(body) {
		// Not in the table for this API: the per-IP ban page (docs/dingtalk.md#ip-ban), on 403
		// or any other status, or a proxy's page. It waits banDelay rather than spend the job's
		// attempts inside a five-minute ban; 502-504 and 413 pages keep their status's meaning.
		return pageFailure(status, body)
	}
	var a topAnswer
	_ = json.Unmarshal(body, &a) // a valid object: an error is a type mismatch, leaving a field empty
	errcode, err := strconv.Atoi(wire.JSONText(a.ErrCode))
	if isSuccess(status) && err == nil && errcode == 0 {
		return nil // row "0": sent
	}
	msg := a.message()
	if !isSuccess(status) {
		return topHTTPFailure(status, a.gatewayCode(), msg)
	}
	if err != nil {
		// Not in the table: no errcode, or one that is not a number. Unknown: retry.
		return failure(Retry, CodeUnexpectedAnswer, status, msg, 0)
	}
	if errcode == 88 {
		return topGatewayFailure(status, wire.JSONText(a.SubCode), msg)
	}
	d, delay := topDecision(errcode)
	return failure(d, strconv.Itoa(errcode), status, msg, delay)
}

// topDecision is the decision of a TOP errcode, the same whether it comes at the top level or as
// the sub_code of errcode 88 (docs/dingtalk.md#cross-domain-errors).
func topDecision(errcode int) (Decision, time.Duration) {
	switch {
	case errcode == -1:
		return Retry, 0 // row "-1": system busy
	case errcode == 40001, errcode == 40014, errcode == 42001:
		return TokenExpired, 0 // row "40001, 40014, 42001": token invalid or expired
	case errcode == 90018:
		// Row "90018": the QPS limit (docs/dingtalk.md#qps-limits). DingTalk counts per second:
		// a second's wait is enough, and a minute's would only delay the job.
		return Retry, throttleDelay
	case errcode >= 90001 && errcode <= 90019:
		// Row "90001-90019" (90018 aside): the caller's server, app or company is barred from
		// the API for a while. "Slow backoff" is banDelay, a minute, as for the IP ban page: the
		// quick backoff would spend the job's attempts inside the bar.
		return Retry, banDelay
	}
	// Rows "90020" (monthly quota used up), "40035, 22 and any other" and, under errcode 88,
	// "88 / 60011 and others": the request is wrong.
	return Reject, 0
}

// topHTTPFailure decides a JSON answer that is not 2xx, from a TOP API or the robot webhook. Not
// in their tables, which say the answer is always 200: it is a gateway's failure. 429, or a 403
// whose gateway code names a QPS limit in any case (docs/dingtalk.md#qps-limits), waits as after
// a QPS refusal; 413 rejects, as the body will be as large next time; every other status (5xx,
// 404, ...) retries.
func topHTTPFailure(status int, gatewayCode, msg string) error {
	switch {
	case status == 429, status == 403 && isQPSCode(gatewayCode):
		return failure(Retry, orCode(gatewayCode, httpCode(status)), status, msg, throttleDelay)
	case status == 413:
		return failure(Reject, httpCode(status), status, msg, 0)
	}
	return failure(Retry, httpCode(status), status, msg, 0)
}

// topGatewayFailure decides errcode 88, the gateway's failure, on its string sub_code. The code
// is "88/" and the sub_code, e.g. "88/90018". A numeric sub_code takes the decision of the same
// errcode at the top level (topDecision): -1 and 90001-90019 retry, 40001, 40014 and 42001 renew
// the token, others reject.
func topGatewayFailure(status int, sub, msg string) error {
	if sub == "" {
		// Not in the table: 88 without a sub_code says nothing of the cause. Retry.
		return failure(Retry, "88", status, msg, 0)
	}
	code := "88/" + sub
	n, err := strconv.Atoi(sub)
	if err != nil {
		// Row "88 / 60011 and others", for a sub_code that is not a number ("isv.*"): the
		// request is wrong.
		return failure(Reject, code, status, msg, 0)
	}
	// Rows "88 / 40014, 40001, 42001", "88 / 90018" (QPS limit, a second), and "88 / -1,
	// 90001-90019", as at the top level. 88/90002 waits banDelay, as 90002 does: the table's
	// "88 / 90018, 90002: retry, >= 1 s" asks for at least a second, and 90002 says every call of
	// the API from this server is barred for a while, which a second's wait would only hit again.
	d, delay := topDecision(n)
	return failure(d, code, status, msg, delay)
}
