package dispatcher

import (
	"strings"
	"time"
)

// dingq's own error codes: what it puts in [Error.Code], and so in a dead letter's
// Dingq-Error-Code, a log line's code and the metrics' code label, where DingTalk gave none. They
// are stable: operators filter on them (`dingq dlq list --code`). This is their one home, beside
// the validation codes of [schema.ValidationError] (schema.CodeInvalidJSON, ...). A failed answer
// that names no code of its own gets "http_" and its status, e.g. "http_502", and a token fetch's
// failure "token:" and the token API's code, e.g. "token:invalidClientIdOrSecret".
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
	// CodeUnknownApp: no sender holds the credentials of the job's app. Reject.
	CodeUnknownApp = "unknown_app"
	// CodeNotConfigured: the worker lacks a setting the job needs (an app's key, a kdocs token).
	// Retry: the job is fine, and can be replayed once the worker is configured.
	CodeNotConfigured = "not_configured"

	// CodeDeliverFailed: createAndDeliver answered success, but the card was not delivered to
	// one or more of the spaces openSpaceId names. Reject: DingTalk documents no per-space
	// failure as transient, and a second call could deliver the card twice to the spaces that
	// did get it. The message names the failed spaces' types and DingTalk's errorMsg.
	CodeDeliverFailed = "deliver_failed"
	// CodeNoSuccess: a 2xx JSON answer from createAndDeliver without "success": true. Retry:
	// nothing says the card was delivered.
	CodeNoSuccess = "no_success"

	// CodeBadWebhook: a robot job's link is not a robot webhook: its path does not end in
	// /robot/send, or its query has no access_token. Reject, before any send.
	CodeBadWebhook = "bad_webhook"
	// CodeUnknownRobot: the job names a robot that the worker's configuration does not hold.
	// Reject, before any send.
	CodeUnknownRobot = "unknown_robot"
	// CodeBadRobotJob: the body is not a robot job: not a JSON object, neither or both of link
	// and robot, no data, or a message that is not a JSON object. Reject, before any send.
	CodeBadRobotJob = "bad_robot_job"

	// CodeRateLimitWait: the job's target has no free turn within the rate limiter's hold: the
	// job is deferred to the turn reserved for it (Defer, not an attempt).
	CodeRateLimitWait = "rate_limit_wait"
	// CodeRateLimitPenalty: DingTalk blocked the target for a while, and the fleet holds its
	// jobs (Defer).
	CodeRateLimitPenalty = "rate_limit_penalty"
	// CodeRateLimitUnavailable: the limiter's shared state could not be read or written (NATS
	// unreachable, the bucket gone): the job is deferred rather than sent unlimited.
	CodeRateLimitUnavailable = "rate_limit_unavailable"

	// CodeTimeout: the send did not finish within its deadline; whether it arrived is unknown.
	// Retry.
	CodeTimeout = "timeout"
	// CodeTransport: the request failed on the network before any answer. Retry.
	CodeTransport = "transport"
	// CodePanic: the sender panicked. Retry, as for any unknown failure.
	CodePanic = "panic"
	// CodeNoOutcome: the job's attempts were used up by deliveries that ended without a decision
	// (its workers died mid-send). Dead-lettered as exhausted, without another send.
	CodeNoOutcome = "no_outcome"
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
