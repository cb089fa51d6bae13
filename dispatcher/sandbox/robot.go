package sandbox

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/dingq/dingq/schema"
)

// codeRelayInvalid is the code the relay answers a bad request with, on HTTP 200. The relay's
// codes are not published; this one is the sandbox's choice.
const codeRelayInvalid = 400001

// robotAPI plays the kdocs relay, POST /api/v1/openapi/notification/dingtalk: its own token
// in the access_token query parameter ([Config.KdocsToken]), {"code":0,"data":{}} on success
// and {"code","msg","hint"} on failure. Transport-level failures (busy 503, throttled 429, bad
// token 401) carry their HTTP status as their code too, so a client may key on either.
type robotAPI struct{ s *Sandbox }

func (robotAPI) kind() schema.Kind { return schema.KindRobot }

func (c robotAPI) authorize(r *http.Request) (answer, bool) {
	if matches(c.s.cfg.KdocsToken, r.URL.Query().Get("access_token")) {
		return answer{}, true
	}
	return c.fail(failure{preset: PresetToken}), false
}

// robotPreset returns the status, code, message and hint a preset answers with.
func robotPreset(preset string) (status int, code, msg, hint string) {
	switch preset {
	case PresetBusy:
		return http.StatusServiceUnavailable, "503", "service unavailable", "retry later"
	case PresetThrottle:
		return http.StatusTooManyRequests, "429", "too many requests", "slow down and retry later"
	case PresetReject:
		return http.StatusOK, strconv.Itoa(codeRelayInvalid), "invalid request", "check the request body"
	case PresetToken:
		return http.StatusUnauthorized, "401", "invalid access_token", "check the kdocs access token"
	}
	return http.StatusOK, "", "sandbox fault", "injected by the dingq sandbox"
}

func (c robotAPI) fail(f failure) answer {
	status, code, msg, hint := robotPreset(f.preset)
	status, code, msg = cmp.Or(f.status, status), cmp.Or(f.code, code), cmp.Or(f.msg, msg)
	n, _ := strconv.Atoi(code) // faults' codes were checked when added
	return relayError(status, n, msg, hint)
}

func relayError(status, code int, msg, hint string) answer {
	a := jsonAnswer(status, struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
		Hint string `json:"hint"`
	}{code, msg, hint})
	a.code = strconv.Itoa(code)
	return a
}

func (robotAPI) success() answer {
	return answer{status: http.StatusOK, body: []byte(`{"code":0,"data":{}}`)}
}

func (robotAPI) unwrap(body []byte) []byte { return body }

// accept requires a link and at least one message with a msgtype; and, when the link's robot is
// one of [Config.RobotSecrets], the robot's secret as sk, or it answers what the robot's webhook
// answered the relay: code 310000 with DingTalk's errmsg as msg (the relay's form for DingTalk's
// refusals is not published: passing DingTalk's errcode on is the sandbox's choice). The secret
// is never logged or echoed.
func (c robotAPI) accept(body []byte) ([]byte, answer, bool) {
	var req struct {
		Link string `json:"link"`
		SK   string `json:"sk"`
		Data []struct {
			MsgType string `json:"msgtype"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, relayInvalid("request body is not a valid JSON object: " + err.Error()), false
	}
	if req.Link == "" {
		return nil, relayInvalid("link is required"), false
	}
	if len(req.Data) == 0 {
		return nil, relayInvalid("data is required"), false
	}
	for i, m := range req.Data {
		if m.MsgType == "" {
			return nil, relayInvalid(fmt.Sprintf("data[%d].msgtype is required", i)), false
		}
	}
	if secret, signs := c.s.cfg.RobotSecrets[linkToken(req.Link)]; signs && !matches(secret, req.SK) {
		const hint = "the robot's webhook refused the relay's signature: sk must be the robot's signing secret"
		return nil, relayError(http.StatusOK, errcodeHookSecurity, msgHookSignWrong, hint), false
	}
	return body, answer{}, true
}

// linkToken returns the access_token of a robot webhook URL, "" for none.
func linkToken(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	return u.Query().Get("access_token")
}

func relayInvalid(msg string) answer {
	return relayError(http.StatusOK, codeRelayInvalid, msg, "check the request body")
}

func (robotAPI) checkCode(code string) error {
	if _, err := strconv.Atoi(code); err != nil {
		return fmt.Errorf("code %q is not a number, as the relay's codes are", code)
	}
	return nil
}
