package dispatcher

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/dingq/dingq/dispatcher/internal/wire"
)

// classifyWebhook reads the direct robot webhook's answer: nil when the message was posted,
// otherwise a [*Error]. It decides on errcode, never on errmsg. A rate-limit errcode waits
// penalty, DingTalk's block of the robot, both as MinDelay and as Penalty.
// Table: docs/dingtalk.md#webhook-errors. Where that table has no row, the choice is written at
// its case.
func classifyWebhook(status int, body []byte, penalty time.Duration) error {
	if !wire.IsJSONObject(body) {
		// The HTML page of DingTalk's per-IP ban (docs/dingtalk.md#ip-ban), on 403 or any other
		// status, or a proxy's page: it waits banDelay rather than spend the job's attempts
		// inside a five-minute ban. 502-504 and 413 pages keep their status's meaning (see
		// pageFailure).
		return pageFailure(status, body)
	}
	// The webhook answers as the TOP APIs do, without sub_code and sub_msg.
	var a topAnswer
	_ = json.Unmarshal(body, &a) // a valid object: an error is a type mismatch, leaving a field empty
	errcode, err := strconv.Atoi(wire.JSONText(a.ErrCode))
	if isSuccess(status) && err == nil && errcode == 0 {
		return nil // errcode 0: sent
	}
	msg := wire.JSONText(a.ErrMsg)
	switch {
	case !isSuccess(status):
		// Not in the table, which says the answer is always 200: a gateway's failure, decided as
		// on the TOP APIs (a QPS refusal waits, 413 rejects, any other status passes).
		return topHTTPFailure(status, a.gatewayCode(), msg)
	case err != nil:
		// Not in the table: no errcode, or one that is not a number. Unknown: retry.
		return failure(Retry, CodeUnexpectedAnswer, status, msg, 0)
	}
	code := strconv.Itoa(errcode)
	switch {
	case errcode == -1:
		return failure(Retry, code, status, msg, 0) // busy
	case isRobotRateLimit(errcode):
		// Rate limited (docs/dingtalk.md#robot-rate-limit): DingTalk now refuses every message to
		// this robot for its penalty, so a sooner retry would only be refused again.
		e := failure(Retry, code, status, msg, penalty)
		e.Penalty = penalty
		return e
	}
	// 310000 (security: keyword, sign, timestamp, IP), the token, robot, group, content and size
	// rows, and any code the table does not list: the request is wrong.
	return failure(Reject, code, status, msg, 0)
}
