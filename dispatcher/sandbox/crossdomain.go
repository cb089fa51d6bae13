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

// crossDomainAPI plays POST /topapi/dingtalk/impaas/message/crossdomain/send: token in the
// access_token query parameter, the model under "crossdomain_message_send_model", every answer
// on HTTP 200 with errcode (and a string sub_code for gateway refusals).
type crossDomainAPI struct{ s *Sandbox }

func (crossDomainAPI) kind() schema.Kind { return schema.KindCrossDomain }

func (c crossDomainAPI) authorize(r *http.Request) (answer, bool) {
	switch c.s.tokens.check(r.URL.Query().Get("access_token"), time.Now()) {
	case tokenLive:
		return answer{}, true
	case tokenExpired:
		return c.fail(failure{preset: PresetToken, code: "88/42001", msg: "access_token has expired"}), false
	}
	return c.fail(failure{preset: PresetToken}), false
}

// crossDomainPreset returns the status, code and message a preset answers with. A code is
// "errcode" or "errcode/sub_code".
func crossDomainPreset(preset string) (int, string, string) {
	switch preset {
	case PresetBusy:
		return http.StatusOK, "-1", "system busy"
	case PresetThrottle:
		return http.StatusOK, "88/90018", "the app has exceeded the API's QPS limit"
	case PresetReject:
		return http.StatusOK, "40035", "invalid parameter"
	case PresetToken:
		return http.StatusOK, "88/40014", "invalid access_token"
	}
	return http.StatusOK, "", "sandbox fault"
}

func (c crossDomainAPI) fail(f failure) answer {
	status, code, msg := crossDomainPreset(f.preset)
	status, code, msg = cmp.Or(f.status, status), cmp.Or(f.code, code), cmp.Or(f.msg, msg)
	errcode, sub, _ := parseTopCode(code) // faults' codes were checked when added
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

// topError is a TOP API error body on HTTP 200; a sub_code, when given, comes with a sub_msg.
// requestID may be empty (the /gettoken endpoint gives none).
func topError(errcode int, sub, msg, requestID string) answer {
	var subMsg string
	if sub != "" {
		subMsg = msg
	}
	a := jsonAnswer(http.StatusOK, struct {
		Errcode   int    `json:"errcode"`
		SubCode   string `json:"sub_code,omitempty"`
		Errmsg    string `json:"errmsg"`
		SubMsg    string `json:"sub_msg,omitempty"`
		RequestID string `json:"request_id,omitempty"`
	}{errcode, sub, msg, subMsg, requestID})
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
		return nil, c.invalid("request body is not a valid JSON object: " + err.Error()), false
	}
	if len(model) == 0 {
		return nil, c.invalid("missing parameter crossdomain_message_send_model"), false
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
		return "invalid crossdomain_message_send_model: " + err.Error()
	}
	if m.Send == nil {
		return "missing parameter send_message_model"
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
			return "missing parameter " + f.name
		}
	}
	if !json.Valid([]byte(m.Send.Content)) {
		return "send_message_model.content is not a JSON string"
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
