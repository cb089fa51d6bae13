package token

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/internal/wire"
)

// codePrefix starts the code of every token failure, so that a dead letter tells a credential
// problem from a refused send.
const codePrefix = "token:"

// Least delays of a token API's refusal, as the dispatcher's classifiers wait them.
const (
	// qpsDelay follows a QPS refusal: DingTalk counts per second and sends no Retry-After
	// (docs/dingtalk.md#qps-limits).
	qpsDelay = time.Second
	// banDelay follows a sign that DingTalk bars the caller for a while: a page that is not JSON
	// (the five-minute IP ban, docs/dingtalk.md#ip-ban) or a TOP errcode 90001-90019 other than
	// 90018. A minute between attempts lets a job outlive the ban.
	banDelay = time.Minute
)

// failure is a token API's refusal: always [dispatcher.Retry], with the least delay fetchDelay
// gives its code and status. msg is cleaned of secrets by [wire.Line].
func failure(code string, status int, msg string, secrets ...string) *dispatcher.Error {
	code = strings.TrimPrefix(code, codePrefix)
	return &dispatcher.Error{
		Decision:   dispatcher.Retry,
		Code:       codePrefix + code,
		HTTPStatus: status,
		Message:    wire.Line(msg, secrets...),
		MinDelay:   fetchDelay(code, status),
	}
}

// fetchDelay is the least wait after a token fetch refused with code (without "token:") and
// HTTP status, for both token APIs. Table: docs/dingtalk.md#token-errors. It reads the code and
// status only, so that a failure passed on through the shared lock (which keeps both) waits as
// long as the fetch's own.
func fetchDelay(code string, status int) time.Duration {
	switch {
	case code == dispatcher.CodeNonJSONBody:
		// A page that is not JSON: the per-IP ban's (docs/dingtalk.md#ip-ban), as on the send
		// APIs, but on a gateway's 502-504, which passes.
		if status == 502 || status == 503 || status == 504 {
			return 0
		}
		return banDelay
	case status == 429, isQPSCode(code):
		// 429, or a QPS refusal by its code on any status (403 "Forbidden.AccessDenied.
		// QpsLimitForApi", in any case): at least a second (docs/dingtalk.md#qps-limits).
		return qpsDelay
	case status == 403 && code == httpCode(403):
		// A 403 whose code is not known: the old-style API keeps only the status of an answer
		// that is not 200, so its gateway's QPS refusal looks like this. A token fetch is
		// retried whatever it is, so a second's wait costs little, where a fetch at once could
		// hammer a throttled token API for every job of the app.
		return qpsDelay
	}
	// The old-style API's errcode, at the top level or as errcode 88's sub_code, read as the
	// cross-domain table reads it (docs/dingtalk.md#cross-domain-errors).
	n, err := strconv.Atoi(strings.TrimPrefix(code, "88/"))
	switch {
	case err != nil:
		return 0
	case n == 90018:
		return qpsDelay // the QPS limit
	case n >= 90001 && n <= 90019:
		return banDelay // barred for a while
	}
	return 0
}

// isQPSCode reports whether a gateway code names a QPS or QPM refusal, in any case and with or
// without the "Forbidden.AccessDenied." prefix (docs/dingtalk.md#qps-limits); the dispatcher's
// classifiers match the same way.
func isQPSCode(code string) bool {
	name := strings.ToLower(code[strings.LastIndexByte(code, '.')+1:])
	return strings.Contains(name, "qpslimit") || strings.Contains(name, "qpmlimit")
}

// asRetry returns err with the [dispatcher.Retry] decision: a [*dispatcher.Error] that carries
// another decision is copied with Retry and a "token:" code; any other error already means retry.
func asRetry(err error) error {
	var de *dispatcher.Error
	if !errors.As(err, &de) || de.Decision == dispatcher.Retry {
		return err
	}
	again := *de
	again.Decision = dispatcher.Retry
	again.Code = codePrefix + strings.TrimPrefix(de.Code, codePrefix)
	return &again
}

// httpCode is the code of a refusal that names none: "http_" and the status.
func httpCode(status int) string { return "http_" + strconv.Itoa(status) }

// checkConfig checks a fetcher's base URL and credentials. It returns the base URL ready for a
// path, and a [dispatcher.Retry] error with code "token:bad_config" that names no secret.
func checkConfig(baseURL, appKey, appSecret string) (string, error) {
	base, err := wire.BaseURL(baseURL)
	switch {
	case err != nil:
		return "", failure("bad_config", 0, "token API "+err.Error(), appSecret)
	case appKey == "" || appSecret == "":
		return "", failure("bad_config", 0, "the app key and app secret are required")
	}
	return base, nil
}
