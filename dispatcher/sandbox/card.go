package sandbox

import (
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/dingq/dingq/schema"
)

// maxOutTrackID is the longest outTrackId accepted; DingTalk documents 64 on sibling APIs.
const maxOutTrackID = 64

// cardAPI plays POST /v1.0/im/interactiveCards/templates/send: token in the
// x-acs-dingtalk-access-token header, errors as {"code","message","requestid"} with the HTTP
// status carrying the class, and the gateway's throttling answer in PascalCase.
type cardAPI struct{ s *Sandbox }

func (cardAPI) kind() schema.Kind { return schema.KindCard }

// tokenHeader carries the new-style APIs' app token.
const tokenHeader = "x-acs-dingtalk-access-token"

// The new-style APIs' token refusals, as DingTalk words them: an expired token is as invalid as
// one never issued.
const (
	msgCardBadToken = "不合法的access_token"
	codeNoToken     = "AuthenticationFailed.MissingParameter"
	msgNoToken      = "缺少参数：" + tokenHeader
)

// authorize wants a live token in the header: without the header, HTTP 400
// AuthenticationFailed.MissingParameter; with one not live, HTTP 400 InvalidAuthentication.
func (c cardAPI) authorize(r *http.Request) (answer, bool) {
	tok := r.Header.Get(tokenHeader)
	if tok == "" {
		return cardError(http.StatusBadRequest, codeNoToken, msgNoToken, c.s.requestID()), false
	}
	if c.s.tokens.check(tok, time.Now()) == tokenLive {
		return answer{}, true
	}
	return c.fail(failure{preset: PresetToken}), false
}

// cardPreset returns the status, code and message a preset answers with.
func cardPreset(preset string) (int, string, string) {
	switch preset {
	case PresetBusy:
		return http.StatusInternalServerError, "systemBusy", "系统繁忙"
	case PresetThrottle:
		return http.StatusForbidden, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
			"the app has exceeded the API's QPS limit"
	case PresetReject:
		return http.StatusBadRequest, "chatbotNotInstall", "the robot is not installed in the conversation"
	case PresetToken:
		return http.StatusBadRequest, "InvalidAuthentication", msgCardBadToken
	}
	return http.StatusBadRequest, "", "dingq sandbox fault"
}

func (c cardAPI) fail(f failure) answer {
	status, code, msg := cardPreset(f.preset)
	status, code, msg = cmp.Or(f.status, status), cmp.Or(f.code, code), cmp.Or(f.msg, msg)
	if f.preset == PresetThrottle {
		return cardGatewayError(status, code, msg, c.s.requestID())
	}
	return cardError(status, code, msg, c.s.requestID())
}

// cardError is the new-style API's error body. The token endpoint
// /v1.0/oauth2/accessToken answers in the same form.
func cardError(status int, code, msg, requestID string) answer {
	a := jsonAnswer(status, struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"requestid"`
	}{code, msg, requestID})
	a.code = code
	return a
}

// cardGatewayError is the API gateway's error body, in PascalCase.
func cardGatewayError(status int, code, msg, requestID string) answer {
	a := jsonAnswer(status, struct {
		Code      string `json:"Code"`
		Message   string `json:"Message"`
		RequestID string `json:"RequestId"`
		HostID    string `json:"HostId"`
	}{code, msg, requestID, "api.dingtalk.com"})
	a.code = code
	return a
}

// success answers {"processQueryKey":"..."}; built by hand, as it is on every delivery's path
// (request ids need no escaping).
func (c cardAPI) success() answer {
	return answer{status: http.StatusOK, body: []byte(`{"processQueryKey":"` + c.s.requestID() + `"}`)}
}

func (cardAPI) unwrap(body []byte) []byte { return body }

func (c cardAPI) accept(body []byte) ([]byte, answer, bool) {
	var req struct {
		CardTemplateID     string `json:"cardTemplateId"`
		OpenConversationID string `json:"openConversationId"`
		SingleChatReceiver string `json:"singleChatReceiver"`
		OutTrackID         string `json:"outTrackId"`
		RobotCode          string `json:"robotCode"`
		CardData           string `json:"cardData"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, c.invalid("invalidParameter", "request body is not a valid JSON object: "+err.Error()), false
	}
	for _, f := range [...]struct{ name, v string }{
		{"cardTemplateId", req.CardTemplateID},
		{"outTrackId", req.OutTrackID},
		{"robotCode", req.RobotCode},
		{"cardData", req.CardData},
	} {
		if f.v == "" {
			return nil, c.invalid("paramBlank", f.name+" is blank"), false
		}
	}
	if len(req.OutTrackID) > maxOutTrackID {
		return nil, c.invalid("outTrackIdLengthLimited", "outTrackId is longer than 64 characters"), false
	}
	if req.OpenConversationID == "" && req.SingleChatReceiver == "" {
		return nil, c.invalid("paramBlank", "openConversationId and singleChatReceiver are both blank"), false
	}
	if req.SingleChatReceiver != "" {
		if err := checkReceiver(req.SingleChatReceiver); err != nil {
			return nil, c.invalid("invalidParameter", err.Error()), false
		}
	}
	if !json.Valid([]byte(req.CardData)) {
		return nil, c.invalid("invalidParameter", "cardData is not a JSON string"), false
	}
	return body, answer{}, true
}

// checkReceiver checks singleChatReceiver: a JSON string {"userId":"..."} or {"unionId":"..."}.
func checkReceiver(s string) error {
	var r struct {
		UserID  string `json:"userId"`
		UnionID string `json:"unionId"`
	}
	if json.Unmarshal([]byte(s), &r) != nil || r.UserID == "" && r.UnionID == "" {
		return errors.New(`singleChatReceiver must be a JSON string such as {"userId":"..."} or {"unionId":"..."}`)
	}
	return nil
}

func (c cardAPI) invalid(code, msg string) answer {
	return cardError(http.StatusBadRequest, code, msg, c.s.requestID())
}

// checkCode accepts any code: the card API's codes are strings.
func (cardAPI) checkCode(string) error { return nil }
