package dispatcher

import (
	"strings"
	"time"
)

// Codes that dingq puts in [Error.Code] where DingTalk gave none. Beside these, a failed answer
// that names no code of its own gets "http_" and its status, e.g. "http_502", and a token fetch's
// failure is "token:" and the token API's code, e.g. "token:invalidClientIdOrSecret".
const (
	// CodeNonJSONBody: the answer was not a JSON object, such as the HTML page of DingTalk's
	// five-minute per-IP ban or a proxy's error page. Retry after banDelay
	// (docs/dingtalk.md#ip-ban).
	CodeNonJSONBody = "non_json_body"
	// CodeUnexpectedAnswer: a JSON answer without the field that says whether the send succeeded
	// (a card answer with neither processQueryKey nor error, a TOP answer without errcode, a relay
	// answer without code). Retry: nothing says the job was sent, and the API may have changed.
	CodeUnexpectedAnswer = "unexpected_answer"
	// CodeUnknownKind: a [Mux] holds no sender for the job's kind. Reject.
	CodeUnknownKind = "unknown_kind"
)

// Least delays the classifiers put in [Error.MinDelay].
const (
	// throttleDelay follows a QPS refusal: DingTalk counts per second and sends no Retry-After
	// (docs/dingtalk.md#qps-limits).
	throttleDelay = time.Second
	// banDelay follows a sign that DingTalk has banned the caller for a while: a page that is not
	// JSON, such as the HTML page of the five-minute IP ban, on any API (docs/dingtalk.md#ip-ban),
	// or a TOP errcode 90001-90019 other than the QPS limit 90018
	// (docs/dingtalk.md#cross-domain-errors). Waiting a minute between sends lets a job outlive a
	// five-minute ban within the default eight attempts, where the worker's own backoff (1 s,
	// 2 s, 4 s, ...) would spend them all inside it.
	banDelay = time.Minute
)

// isQPSCode reports whether a gateway code names a QPS or QPM refusal
// (docs/dingtalk.md#qps-limits): "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
// "...QpsLimitForApi", "...QpmLimit...". DingTalk's codes vary in case (the API's camelCase
// "forbidden.accessDenied.qpsLimitForApi" beside the gateway's PascalCase), so the match ignores
// case, and reads the last dot-separated part only, so that it holds with or without the prefix.
func isQPSCode(code string) bool {
	name := strings.ToLower(code[strings.LastIndexByte(code, '.')+1:])
	return strings.Contains(name, "qpslimit") || strings.Contains(name, "qpmlimit")
}

// isRobotRateLimit reports whether n is one of the group robot's rate-limit errcodes: the robot
// went over its 20 messages a minute and DingTalk blocks it for 10 minutes
// (docs/dingtalk.md#robot-rate-limit). The direct webhook and the kdocs relay, which passes the
// codes through, both wait the robot's penalty on them.
func isRobotRateLimit(n int) bool { return n == 410100 || n == 130101 || n == 660026 }
