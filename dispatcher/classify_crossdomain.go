package dispatcher

import (
	"encoding/json"
	"strconv"

	"github.com/dingq/dingq/dispatcher/internal/wire"
)

// topAnswer is a TOP API answer (/topapi/ paths). errcode and sub_code are read whether they
// come as numbers or strings.
type topAnswer struct {
	ErrCode json.RawMessage `json:"errcode"`
	ErrMsg  json.RawMessage `json:"errmsg"`
	SubCode json.RawMessage `json:"sub_code"`
	SubMsg  json.RawMessage `json:"sub_msg"`
}

// message is sub_msg when there is one, as it is the more precise, else errmsg.
func (a *topAnswer) message() string {
	if m := wire.JSONText(a.SubMsg); m != "" {
		return m
	}
	return wire.JSONText(a.ErrMsg)
}

// classifyCrossDomain reads the cross-domain send API's answer (reference section 2): nil when the
// message was sent, otherwise a [*Error]. It decides on errcode, never on errmsg. Where the
// reference has no row, the choice is written at its case.
func classifyCrossDomain(status int, body []byte) error {
	var a topAnswer
	isJSON := wire.IsJSONObject(body)
	if isJSON {
		_ = json.Unmarshal(body, &a) // a valid object: an error is a type mismatch, leaving a field empty
	}
	errcode, err := strconv.Atoi(wire.JSONText(a.ErrCode))
	if isJSON && isSuccess(status) && err == nil && errcode == 0 {
		return nil // row "0": sent
	}
	msg := a.message()
	if !isJSON {
		msg = snippet(body)
	}
	if !isSuccess(status) {
		return topHTTPFailure(status, msg)
	}
	if !isJSON {
		// Not in the reference for this API: the per-IP ban page of section 6, or a proxy's page.
		return failure(Retry, CodeNonJSONBody, status, msg, banDelay)
	}
	if err != nil {
		// Not in the reference: no errcode, or one that is not a number. Unknown: retry.
		return failure(Retry, CodeUnexpectedAnswer, status, msg, 0)
	}
	if errcode == 88 {
		return topGatewayFailure(status, wire.JSONText(a.SubCode), msg)
	}
	code := strconv.Itoa(errcode)
	switch {
	case errcode == -1:
		return failure(Retry, code, status, msg, 0) // row "-1": system busy
	case errcode == 40001, errcode == 40014, errcode == 42001:
		return failure(TokenExpired, code, status, msg, 0) // row "40001, 40014, 42001"
	case errcode >= 90001 && errcode <= 90019:
		// Row "90001, 90002, 90003-90019": throttled or banned for a while; "slow backoff" is a
		// least delay of a minute, as for the IP ban page.
		return failure(Retry, code, status, msg, banDelay)
	}
	// Rows "90020" (monthly quota used up) and "40035, 22 and any other": the request is wrong.
	return failure(Reject, code, status, msg, 0)
}

// topHTTPFailure decides an answer that is not 2xx. Not in the reference, which says the answer
// is always 200: it is a gateway's failure. 429 waits as after a QPS refusal; 413 rejects, as the
// body will be as large next time; every other status (5xx, 404, ...) retries.
func topHTTPFailure(status int, msg string) error {
	switch status {
	case 429:
		return failure(Retry, httpCode(status), status, msg, throttleDelay)
	case 413:
		return failure(Reject, httpCode(status), status, msg, 0)
	}
	return failure(Retry, httpCode(status), status, msg, 0)
}

// topGatewayFailure decides errcode 88, the gateway's failure, on its string sub_code. The code
// is "88/" and the sub_code, e.g. "88/90018".
func topGatewayFailure(status int, sub, msg string) error {
	code := "88/" + sub
	switch sub {
	case "40014", "40001", "42001":
		return failure(TokenExpired, code, status, msg, 0) // row "88 / 40014, 40001, 42001"
	case "90018", "90002":
		return failure(Retry, code, status, msg, throttleDelay) // row "88 / 90018, 90002": QPS limit
	case "":
		// Not in the reference: 88 without a sub_code says nothing of the cause. Retry.
		return failure(Retry, "88", status, msg, 0)
	}
	return failure(Reject, code, status, msg, 0) // row "88 / 60011 and others"
}
