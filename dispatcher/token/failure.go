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

// failure is a token API's refusal: always [dispatcher.Retry], with a least delay of 1 s after
// HTTP 429. msg is cleaned of secrets by [wire.Line].
func failure(code string, status int, msg string, secrets ...string) *dispatcher.Error {
	var delay time.Duration
	if status == 429 {
		delay = time.Second
	}
	return &dispatcher.Error{
		Decision:   dispatcher.Retry,
		Code:       codePrefix + strings.TrimPrefix(code, codePrefix),
		HTTPStatus: status,
		Message:    wire.Line(msg, secrets...),
		MinDelay:   delay,
	}
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
