package dispatcher

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/valyala/fastjson"

	"github.com/dingq/dingq/dispatcher/internal/wire"
)

// cardAnswer is the card API's answer. Error keys come in camelCase from the API and in
// PascalCase from the gateway: both are read, explicitly, rather than through encoding/json's
// case-insensitive matching.
type cardAnswer struct {
	ProcessQueryKey string          `json:"processQueryKey"`
	Code            json.RawMessage `json:"code"`
	CodeGateway     json.RawMessage `json:"Code"`
	Message         json.RawMessage `json:"message"`
	MessageGateway  json.RawMessage `json:"Message"`
}

// readCardAnswer decodes body, and reports whether it is a JSON object at all.
func readCardAnswer(body []byte) (a cardAnswer, ok bool) {
	if !wire.IsJSONObject(body) {
		return a, false
	}
	_ = json.Unmarshal(body, &a) // a valid object: an error is a type mismatch, leaving a field empty
	return a, true
}

func (a *cardAnswer) code() string {
	if c := wire.JSONText(a.Code); c != "" {
		return c
	}
	return wire.JSONText(a.CodeGateway)
}

func (a *cardAnswer) message() string {
	if m := wire.JSONText(a.Message); m != "" {
		return m
	}
	return wire.JSONText(a.MessageGateway)
}

// cardSent reports whether body is the card API's success answer, {"processQueryKey": "..."}
// with a non-empty string, without decoding the rest: the answer to nearly every send. It says
// yes only where readCardAnswer would find the key (encoding/json matches keys without regard to
// case, the last one winning): one key of that name in any case, spelled exactly so.
func cardSent(body []byte) bool {
	if !wire.IsJSONObject(body) { // fastjson takes what JSON does not, a raw control character
		return false
	}
	p := answerParsers.Get()
	defer answerParsers.Put(p)
	v, err := p.ParseBytes(body)
	if err != nil {
		return false
	}
	o, err := v.Object()
	if err != nil {
		return false
	}
	var keys int
	var key []byte
	o.Visit(func(k []byte, v *fastjson.Value) {
		if strings.EqualFold(string(k), "processQueryKey") {
			keys++
			if string(k) == "processQueryKey" && v.Type() == fastjson.TypeString {
				key = v.GetStringBytes()
			}
		}
	})
	return keys == 1 && len(key) > 0
}

// answerParsers parse answers on the way to a decision.
var answerParsers fastjson.ParserPool

// classifyCard reads the card API's answer: nil when the card was sent, otherwise a [*Error].
// Table: docs/dingtalk.md#card-errors. Where that table has no row, the choice is written at its
// case.
func classifyCard(status int, body []byte) error {
	if isSuccess(status) && cardSent(body) {
		return nil // success row, read quickly
	}
	a, isJSON := readCardAnswer(body)
	if isJSON && isSuccess(status) && a.ProcessQueryKey != "" {
		return nil // success row: 200 {"processQueryKey": ...}
	}
	code, msg := orCode(a.code(), httpCode(status)), a.message()
	switch {
	case status == 502 || status == 503 || status == 504:
		// Row "502, 503, 504 / any", whatever the body: gateways answer with HTML pages.
		if !isJSON {
			return pageFailure(status, body)
		}
		return failure(Retry, code, status, msg, 0)
	case status == 401:
		// Row "401 / any", whatever the body.
		if !isJSON {
			msg = snippet(body)
		}
		return failure(TokenExpired, code, status, msg, 0)
	case !isJSON:
		// Row "any / not JSON": the per-IP ban page (docs/dingtalk.md#ip-ban), waited out with
		// banDelay. Also taken for a 2xx whose body is not JSON: whether it was sent is unknown,
		// and outTrackId makes a second send harmless. A 413 page rejects (see pageFailure).
		return pageFailure(status, body)
	case isSuccess(status):
		// Not in the table: a 2xx without processQueryKey. Retry, since nothing says the card
		// was sent, and sending it again is harmless.
		return failure(Retry, orCode(a.code(), CodeUnexpectedAnswer), status, msg, 0)
	}
	d, delay := cardDecision(status, a.code())
	return failure(d, code, status, msg, delay)
}

// cardDecision maps a failed JSON answer's status and code to the decision, row by row
// (docs/dingtalk.md#card-errors). Codes match in any case: DingTalk's gateway and its API
// spell the same code differently.
func cardDecision(status int, code string) (Decision, time.Duration) {
	switch status {
	case 400:
		if strings.EqualFold(code, "InvalidAuthentication") {
			return TokenExpired, 0 // row "400 / InvalidAuthentication"
		}
		// Row "400 / every other code". A 400 without a code is taken as the same: the status
		// says the request is wrong.
		return Reject, 0
	case 429:
		// Row "429 / systemBusy, system.busy", and, as the table is silent, any other code.
		return Retry, throttleDelay
	case 403:
		return cardForbidden(code)
	case 413:
		// Not in the table: the body is too large, and will be as large next time.
		return Reject, 0
	}
	// Row "500 / systemBusy, system.busy, unknownError", and, as the table is silent, every
	// other 500 code, other 5xx, other 4xx (404 and 405 point at a wrong base URL rather than a
	// wrong job: retrying ends the job "exhausted", not "rejected") and 1xx/3xx.
	return Retry, 0
}

// cardForbidden decides a 403 by the last dot-separated part of its code, in any case, so that
// the rows match with or without the "Forbidden.AccessDenied." prefix and however the gateway
// spells it.
func cardForbidden(code string) (Decision, time.Duration) {
	name := code[strings.LastIndexByte(code, '.')+1:]
	switch {
	case isQPSCode(name):
		// Row "403 / QPS limits" (docs/dingtalk.md#qps-limits): QpsLimitForAppkeyAndApi,
		// QpsLimitForApi, QpmLimit..., in any case ("forbidden.accessDenied.qpsLimitForApi"), and
		// any other QpsLimit/QpmLimit variant: waiting a second costs little, retrying at once
		// hammers an API that said it is over its limit.
		return Retry, throttleDelay
	case strings.EqualFold(name, "AccessTokenPermissionDenied"), strings.EqualFold(name, "IpNotInWhiteList"),
		strings.EqualFold(name, "ApiCountLimitForOrg"):
		return Reject, 0 // row "403 / no permission, monthly quota"
	}
	// Not in the table: another 403 code. Retry, as for any unknown answer; a lasting refusal
	// still ends dead-lettered, as "exhausted".
	return Retry, 0
}

// orCode returns code, or fallback when code is empty.
func orCode(code, fallback string) string {
	if code != "" {
		return code
	}
	return fallback
}
