package dispatcher

import (
	"encoding/json"
	"slices"
	"strconv"

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

// classifyRobot reads the kdocs relay's answer (reference section 3): nil when the message was
// relayed, otherwise a [*Error]. The relay publishes no error codes, so its table is the
// reference's guess: 5xx and 429 retry, a non-zero code rejects unless it is one of retryCodes.
// Where the guess is silent, the choice is written at its case.
func classifyRobot(status int, body []byte, retryCodes []int) error {
	var a relayAnswer
	isJSON := wire.IsJSONObject(body)
	if isJSON {
		_ = json.Unmarshal(body, &a) // a valid object: an error is a type mismatch, leaving a field empty
	}
	code := wire.JSONText(a.Code)
	if isSuccess(status) && code == "0" {
		return nil // {"code":0,"data":{}}
	}
	msg := a.message()
	if !isJSON {
		msg = snippet(body)
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
	case !isJSON:
		// Not in the guess: a page that is not the relay's answer (a proxy's). Retry, without the
		// ban's delay: the relay, not DingTalk, answers here.
		return failure(Retry, CodeNonJSONBody, status, msg, 0)
	case code == "" || code == "0":
		// Not in the guess: no code, or code 0 with a status that is not 2xx. Unknown: retry.
		return failure(Retry, orCode(code, CodeUnexpectedAnswer), status, msg, 0)
	}
	if n, err := strconv.Atoi(code); err == nil && slices.Contains(retryCodes, n) {
		return failure(Retry, code, status, msg, 0)
	}
	return failure(Reject, code, status, msg, 0)
}
