package dispatcher

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/dingq/dingq/dispatcher/internal/wire"
)

// webhookAnswer is the robot webhook's answer: {"errcode":0,"errmsg":"ok"}, always on HTTP 200.
type webhookAnswer struct {
	ErrCode json.RawMessage `json:"errcode"`
	ErrMsg  json.RawMessage `json:"errmsg"`
}

// classifyWebhook reads the direct robot webhook's answer (reference section 4): nil when the
// message was posted, otherwise a [*Error]. It decides on errcode, never on errmsg. A rate-limit
// errcode waits penalty, DingTalk's block of the robot, both as MinDelay and as Penalty. Where the
// reference has no row, the choice is written at its case.
func classifyWebhook(status int, body []byte, penalty time.Duration) error {
	var a webhookAnswer
	isJSON := wire.IsJSONObject(body)
	if isJSON {
		_ = json.Unmarshal(body, &a) // a valid object: an error is a type mismatch, leaving a field empty
	}
	errcode, err := strconv.Atoi(wire.JSONText(a.ErrCode))
	if isJSON && isSuccess(status) && err == nil && errcode == 0 {
		return nil // errcode 0: sent
	}
	msg := wire.JSONText(a.ErrMsg)
	if !isJSON {
		msg = snippet(body)
	}
	switch {
	case status == 429:
		// Not in the reference, which says the answer is always 200: a gateway's QPS refusal.
		return failure(Retry, httpCode(status), status, msg, throttleDelay)
	case status == 413:
		// Not in the reference: a gateway refused the body's size, as it will next time.
		return failure(Reject, httpCode(status), status, msg, 0)
	case !isSuccess(status):
		// Not in the reference: 5xx and any other status is a gateway's failure, which passes.
		return failure(Retry, httpCode(status), status, msg, 0)
	case !isJSON:
		// The HTML page of DingTalk's per-IP ban (reference section 6), or a proxy's page.
		return failure(Retry, CodeNonJSONBody, status, msg, banDelay)
	case err != nil:
		// Not in the reference: no errcode, or one that is not a number. Unknown: retry.
		return failure(Retry, CodeUnexpectedAnswer, status, msg, 0)
	}
	code := strconv.Itoa(errcode)
	switch errcode {
	case -1:
		return failure(Retry, code, status, msg, 0) // busy
	case 410100, 130101, 660026:
		// Rate limited: DingTalk now refuses every message to this robot for its penalty, so a
		// sooner retry would only be refused again.
		e := failure(Retry, code, status, msg, penalty)
		e.Penalty = penalty
		return e
	}
	// 310000 (security: keyword, sign, timestamp, IP), the token, robot, group, content and size
	// rows, and any code the reference does not list: the request is wrong.
	return failure(Reject, code, status, msg, 0)
}
