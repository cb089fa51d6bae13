package dispatcher

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/dingq/dingq/dispatcher/internal/wire"
)

// relayAnswer is the kdocs relay's answer: {"code":0,"data":{}}, or a non-zero code with msg and
// hint.
type relayAnswer struct {
	Code json.RawMessage `json:"code"`
	Msg  json.RawMessage `json:"msg"`
	Hint json.RawMessage `json:"hint"`
}

// message joins msg and hint.
func (a *relayAnswer) message() string {
	msg, hint := wire.JSONText(a.Msg), wire.JSONText(a.Hint)
	switch {
	case hint == "":
		return msg
	case msg == "":
		return hint
	}
	return msg + " (" + hint + ")"
}

// classifyRobot reads the kdocs relay's answer: nil when the message was relayed, otherwise a
// [*Error]. Table: docs/dingtalk.md#relay-errors. The relay publishes no error codes, so its
// table is a guess: 5xx and 429 retry, a non-zero code rejects unless it is one of retryCodes.
// A retried code that is one of the robot's rate-limit errcodes, passed through from DingTalk,
// waits penalty, both as MinDelay and as Penalty, as the direct webhook does. Where the guess is
// silent, the choice is written at its case.
func classifyRobot(status int, body []byte, retryCodes []int, penalty time.Duration) error {
	if !wire.IsJSONObject(body) {
		// Not in the guess: a page that is not the relay's answer. On 403 or any other status it
		// may be DingTalk's per-IP ban page passed through, or the relay's own gateway banning
		// dingq's address (docs/dingtalk.md#ip-ban): waiting banDelay neither spends the job's
		// attempts inside a ban nor hammers the relay, where the quick backoff would do both.
		// 502-504 and 413 pages keep their status's meaning (see pageFailure).
		return pageFailure(status, body)
	}
	var a relayAnswer
	_ = json.Unmarshal(body, &a) // a valid object: an error is a type mismatch, leaving a field empty
	code := wire.JSONText(a.Code)
	if isSuccess(status) && code == "0" {
		return nil // {"code":0,"data":{}}
	}
	msg := a.message()
	n, numErr := strconv.Atoi(code)
	retry := numErr == nil && n != 0 && slices.Contains(retryCodes, n)
	if retry && isRobotRateLimit(n) {
		// DingTalk's 410100, 130101 or 660026 passed through (docs/dingtalk.md#robot-rate-limit):
		// the robot is blocked for its penalty, whatever status the relay put on it. The same
		// decision as the direct webhook's: a sooner retry, or another job to the same robot,
		// would only be refused again.
		e := failure(Retry, code, status, msg, penalty)
		e.Penalty = penalty
		return e
	}
	switch {
	case status == 429:
		return failure(Retry, orCode(code, httpCode(status)), status, msg, throttleDelay)
	case status >= 500:
		return failure(Retry, orCode(code, httpCode(status)), status, msg, 0)
	case status == 401, status == 403:
		// Not in the guess: the relay refused dingq's own token, which is not the job's fault.
		// Retry, so that jobs end "exhausted" and can be replayed once the token is fixed.
		return failure(Retry, orCode(code, httpCode(status)), status, msg, 0)
	case code == "" || code == "0":
		// Not in the guess: no code, or code 0 with a status that is not 2xx. Unknown: retry.
		return failure(Retry, orCode(code, CodeUnexpectedAnswer), status, msg, 0)
	case retry:
		return failure(Retry, code, status, msg, 0)
	}
	return failure(Reject, code, status, msg, 0)
}
