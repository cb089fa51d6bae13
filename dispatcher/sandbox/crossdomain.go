package sandbox

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dingq/dingq/schema"
)

// errcodeInvalid is the TOP API's "a parameter is missing or wrong".
const errcodeInvalid = 40035

// The TOP API's messages, as DingTalk words them. A gateway refusal (errcode 88) carries its
// reason as sub_code and sub_msg, and repeats both in errmsg: "ding talk error[subcode=40014,
// submsg=不合法的access_token]".
const (
	msgTopMissingParam = "缺少参数 "   // and the parameter's name
	msgTopInvalidParam = "不合法的参数 " // and the parameter's name
)

// topMsgs are DingTalk's words for the errcodes and sub_codes the sandbox answers: the errmsg of
// an errcode, the sub_msg of a sub_code. A fault's other codes get msgTopOther.
var topMsgs = map[string]string{
	"-1":    "系统繁忙",
	"40035": "不合法的参数",
	"40000": "access_token is blank",
	"40014": "不合法的access_token",
	"42001": "access_token超时",
	"90018": "当前企业所有应用调用该接口次数过多，超出了该接口承受的最大qps，请求被暂时限制了，建议错开整点时刻调用该接口",
	"60011": "没有调用该接口的权限",
}

// msgTopOther is the message of a code the sandbox knows no wording of.
const msgTopOther = "dingq sandbox fault"

// crossDomainAPI plays POST /topapi/dingtalk/impaas/message/crossdomain/send: token in the
// access_token query parameter, the model under "crossdomain_message_send_model", every answer
// on HTTP 200 with errcode (and a string sub_code for gateway refusals).
type crossDomainAPI struct{ s *Sandbox }

func (crossDomainAPI) kind() schema.Kind { return schema.KindCrossDomain }

func (c crossDomainAPI) authorize(r *http.Request) (answer, bool) {
	tok := r.URL.Query().Get("access_token")
	switch c.s.tokens.check(tok, time.Now()) {
	case tokenLive:
		return answer{}, true
	case tokenExpired:
		return c.fail(failure{preset: PresetToken, code: "88/42001"}), false
	}
	if tok == "" {
		return c.fail(failure{preset: PresetToken, code: "88/40000"}), false
	}
	return c.fail(failure{preset: PresetToken}), false
}

// crossDomainPreset returns the status and code a preset answers with: "errcode" or
// "errcode/sub_code".
func crossDomainPreset(preset string) (int, string) {
	switch preset {
	case PresetBusy:
		return http.StatusOK, "-1"
	case PresetThrottle:
		return http.StatusOK, "88/90018"
	case PresetReject:
		return http.StatusOK, "40035"
	case PresetToken:
		return http.StatusOK, "88/40014"
	}
	return http.StatusOK, ""
}

// fail renders f with DingTalk's words for its code: the sub_code's, or the errcode's.
func (c crossDomainAPI) fail(f failure) answer {
	status, code := crossDomainPreset(f.preset)
	status, code = cmp.Or(f.status, status), cmp.Or(f.code, code)
	errcode, sub, _ := parseTopCode(code) // faults' codes were checked when added
	msg := cmp.Or(f.msg, topMsgs[cmp.Or(sub, strconv.Itoa(errcode))], msgTopOther)
	a := topError(errcode, sub, msg, c.s.requestID())
	a.status = status
	return a
}

// parseTopCode splits "errcode" or "errcode/sub_code" (e.g. "88/60011").
func parseTopCode(code string) (errcode int, sub string, err error) {
	num, sub, hasSub := strings.Cut(code, "/")
	errcode, err = strconv.Atoi(num)
	if err != nil || hasSub && sub == "" {
		return 0, "", fmt.Errorf("code %q is not an errcode or errcode/sub_code such as 40035 or 88/60011", code)
	}
	return errcode, sub, nil
}

// topError is a TOP API error body on HTTP 200. With a sub_code, msg is the sub_msg, and errmsg
// is DingTalk's "ding talk error[subcode=<sub_code>,submsg=<sub_msg>]". requestID may be empty
// (the /gettoken endpoint gives none).
func topError(errcode int, sub, msg, requestID string) answer {
	errmsg, subMsg := msg, ""
	if sub != "" {
		errmsg, subMsg = "ding talk error[subcode="+sub+",submsg="+msg+"]", msg
	}
	a := jsonAnswer(http.StatusOK, struct {
		Errcode   int    `json:"errcode"`
		SubCode   string `json:"sub_code,omitempty"`
		SubMsg    string `json:"sub_msg,omitempty"`
		Errmsg    string `json:"errmsg"`
		RequestID string `json:"request_id,omitempty"`
	}{errcode, sub, subMsg, errmsg, requestID})
	a.code = strconv.Itoa(errcode)
	if sub != "" {
		a.code += "/" + sub
	}
	return a
}

// success answers {"errcode":0,"errmsg":"","request_id":"..."}, built by hand like the card's.
func (c crossDomainAPI) success() answer {
	return answer{status: http.StatusOK, body: []byte(`{"errcode":0,"errmsg":"","request_id":"` + c.s.requestID() + `"}`)}
}

// unwrap returns the model, the job body dingq was given, or body itself when it holds none.
func (crossDomainAPI) unwrap(body []byte) []byte {
	if m, err := unwrapModel(body); err == nil && len(m) > 0 {
		return m
	}
	return body
}

func unwrapModel(body []byte) (json.RawMessage, error) {
	var req struct {
		Model json.RawMessage `json:"crossdomain_message_send_model"`
	}
	err := json.Unmarshal(body, &req)
	if string(req.Model) == "null" {
		req.Model = nil
	}
	return req.Model, err
}

func (c crossDomainAPI) accept(body []byte) ([]byte, answer, bool) {
	model, err := unwrapModel(body)
	if err != nil {
		return nil, c.invalid(msgTopInvalidParam + "crossdomain_message_send_model"), false
	}
	if len(model) == 0 {
		return nil, c.invalid(msgTopMissingParam + "crossdomain_message_send_model"), false
	}
	if msg := checkCrossDomainModel(model); msg != "" {
		return nil, c.invalid(msg), false
	}
	return model, answer{}, true
}

// checkCrossDomainModel returns what is wrong with the model, or "".
func checkCrossDomainModel(model []byte) string {
	var m struct {
		Sender    string `json:"sender"`
		MessageID string `json:"message_id"`
		Send      *struct {
			ConversationType *int64 `json:"conversation_type"`
			UUID             string `json:"uuid"`
			ContentType      *int64 `json:"content_type"`
			Content          string `json:"content"`
			CID              string `json:"cid"`
		} `json:"send_message_model"`
	}
	if err := json.Unmarshal(model, &m); err != nil {
		return msgTopInvalidParam + "crossdomain_message_send_model"
	}
	if m.Send == nil {
		return msgTopMissingParam + "send_message_model"
	}
	for _, f := range [...]struct {
		name string
		ok   bool
	}{
		{"sender", m.Sender != ""},
		{"message_id", m.MessageID != ""},
		{"send_message_model.conversation_type", m.Send.ConversationType != nil},
		{"send_message_model.uuid", m.Send.UUID != ""},
		{"send_message_model.content_type", m.Send.ContentType != nil},
		{"send_message_model.content", m.Send.Content != ""},
		{"send_message_model.cid", m.Send.CID != ""},
	} {
		if !f.ok {
			return msgTopMissingParam + f.name
		}
	}
	if !json.Valid([]byte(m.Send.Content)) {
		return msgTopInvalidParam + "send_message_model.content"
	}
	return ""
}

func (c crossDomainAPI) invalid(msg string) answer {
	return topError(errcodeInvalid, "", msg, c.s.requestID())
}

func (crossDomainAPI) checkCode(code string) error {
	_, _, err := parseTopCode(code)
	return err
}
