package sandbox

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/dingq/dingq/schema"
)

// The robot webhook's errcodes the sandbox answers, on HTTP 200 as DingTalk does.
const (
	errcodeHookBusy     = -1
	errcodeHookTooFast  = 410100 // over the robot's limit, and while it is blocked
	errcodeHookSecurity = 310000 // bad timestamp or sign
	errcodeHookToken    = 300005 // the token preset: no robot has this access_token
	errcodeHookNoRobot  = 400106 // the reject preset: the robot does not exist
	errcodeHookBadParam = 40035  // no access_token, or the body is not a robot message
	errcodeHookNoTitle  = 400402 // a markdown message without title or text
	errcodeHookTooLong  = 460101 // a message above schema.MaxRobotMessageBytes
)

// The webhook's errmsgs, as DingTalk words them today (errcode 310000's in its
// description/solution/link form; older answers said "sign not match" and "invalid timestamp").
const (
	msgHookBusy      = "系统繁忙"
	msgHookNoToken   = "缺少参数 access_token"
	msgHookBadToken  = "token is not exist"
	msgHookTooFast   = "send too fast, exceed 20 times per minute"
	msgHookSignWrong = "description:机器人发送签名不匹配;solution:请确认签名和生成签名的时间戳必须都放在调用的网址中，" +
		"请确认机器人的密钥加密和填写正确;link:请参考本接口对应文档获得具体要求，或者在https://open.dingtalk.com/document/  搜索相关文档;"
	msgHookSignExpired = "description:机器人发送签名过期;solution:签名生成时间和发送时间请保持在 timestampms 以内;"
)

// webhookSignMaxClockGap is how far a signed request's timestamp may be from the sandbox's clock,
// either way: DingTalk's window.
const webhookSignMaxClockGap = time.Hour

// OutcomeDuplicate is the outcome of a robot webhook message whose msgUuid the same robot has
// already posted: answered errcode 0, as DingTalk does, and not recorded as a delivery again.
const OutcomeDuplicate Outcome = "duplicate"

// WebhookRobot names the robot of a webhook access token as [Delivery.Robot] does: "webhook:" and
// the first 16 hex characters of the token's SHA-256, which is also what dispatcher.RobotTarget
// gives for a job whose link carries that token.
func WebhookRobot(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return "webhook:" + hex.EncodeToString(sum[:8])
}

// routesWebhook registers the direct robot webhook, POST /robot/send.
func (s *Sandbox) routesWebhook() {
	api := webhookAPI{s}
	book := newRobotBook(s.cfg.RobotLimit, s.cfg.RobotWindow, s.cfg.RobotBlock)
	s.mux.HandleFunc("POST /robot/send", func(w http.ResponseWriter, r *http.Request) {
		s.sendWebhook(api, book, w, r)
	})
}

// sendWebhook answers one webhook message as [Sandbox.send] answers the other APIs (latency,
// faults, random rates, then the robot's credentials and the message), and then plays what is the
// webhook's own: a msgUuid the robot has posted is answered as sent and not recorded again, and a
// message over the robot's limit blocks it. Deliveries record the robot they went to.
func (s *Sandbox) sendWebhook(api webhookAPI, book *robotBook, w http.ResponseWriter, r *http.Request) {
	s.rec.arrive(schema.KindRobot)
	buf, ok := s.readBody(api, w, r)
	if !ok {
		return
	}
	defer s.bufs.put(buf)
	body := buf.Bytes()
	a, outcome, key := s.decide(r.Context(), api, r, body)
	var id string
	if outcome == OutcomeDelivered {
		token := r.URL.Query().Get("access_token")
		switch book.admit(token, messageUUID(body), time.Now()) {
		case admitDuplicate:
			outcome = OutcomeDuplicate
		case admitLimited:
			a, outcome = api.fail(failure{preset: PresetThrottle}), OutcomeThrottled
		default:
			id = schema.JobID(schema.KindRobot, "", key)
			d := Delivery{Kind: schema.KindRobot, Key: id, At: time.Now(), Robot: WebhookRobot(token)}
			if s.cfg.RecordBodies {
				d.Body = bytes.Clone(key)
			}
			s.rec.record(d)
		}
	}
	s.answer(api, w, body, id, a, outcome)
}

// webhookAPI plays DingTalk's robot webhook, POST /robot/send?access_token=..[&timestamp=&sign=]:
// the body is one robot message, and every answer is {"errcode","errmsg"} on HTTP 200. Its
// presets: busy errcode -1, throttle 410100, reject 400106 (no such robot), token 300005. Any
// non-empty access_token is a robot; one in [Config.RobotSecrets] signs.
type webhookAPI struct{ s *Sandbox }

func (webhookAPI) kind() schema.Kind { return schema.KindRobot }

func (c webhookAPI) authorize(r *http.Request) (answer, bool) {
	q := r.URL.Query()
	token := q.Get("access_token")
	if token == "" {
		return webhookError(errcodeHookBadParam, msgHookNoToken), false
	}
	if msg := checkSignature(c.s.cfg.RobotSecrets, token, q.Get("timestamp"), q.Get("sign"), time.Now()); msg != "" {
		return webhookError(errcodeHookSecurity, msg), false
	}
	return answer{}, true
}

// checkSignature checks a message to the robot of token, signed at timestamp (ms, as sent) with
// sign (as the decoded query gives it), at now: it returns DingTalk's errmsg for errcode 310000,
// or "" when the robot does not sign (no secret in secrets) or the signature holds. A timestamp
// that is missing or not a number, like a sign that is missing or wrong, is a sign mismatch; a
// timestamp more than an hour from now, either way, has expired.
func checkSignature(secrets map[string]string, token, timestamp, sign string, now time.Time) string {
	secret, signs := secrets[token]
	if !signs {
		return ""
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return msgHookSignWrong
	}
	if gap := now.Sub(time.UnixMilli(ts)); gap > webhookSignMaxClockGap || gap < -webhookSignMaxClockGap {
		return msgHookSignExpired
	}
	if !hmac.Equal([]byte(sign), []byte(webhookSign(secret, timestamp))) {
		return msgHookSignWrong
	}
	return ""
}

// webhookSign is DingTalk's signature of a webhook request: base64(hmac_sha256(key=secret,
// msg=timestamp + "\n" + secret)), compared with the sign parameter once the query is decoded.
func webhookSign(secret, timestamp string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// webhookPreset returns the errcode and message a preset answers with.
func webhookPreset(preset string) (string, string) {
	switch preset {
	case PresetBusy:
		return strconv.Itoa(errcodeHookBusy), msgHookBusy
	case PresetThrottle:
		return strconv.Itoa(errcodeHookTooFast), msgHookTooFast
	case PresetReject:
		return strconv.Itoa(errcodeHookNoRobot), "robot does not exist"
	case PresetToken:
		return strconv.Itoa(errcodeHookToken), msgHookBadToken
	}
	return "", "sandbox fault"
}

func (webhookAPI) fail(f failure) answer {
	code, msg := webhookPreset(f.preset)
	code, msg = cmp.Or(f.code, code), cmp.Or(f.msg, msg)
	n, _ := strconv.Atoi(code) // faults' codes were checked when added
	a := webhookError(n, msg)
	a.status = cmp.Or(f.status, http.StatusOK)
	return a
}

func webhookError(errcode int, msg string) answer {
	a := jsonAnswer(http.StatusOK, struct {
		Errcode int    `json:"errcode"`
		Errmsg  string `json:"errmsg"`
	}{errcode, msg})
	a.code = strconv.Itoa(errcode)
	return a
}

func (webhookAPI) success() answer {
	return answer{status: http.StatusOK, body: []byte(`{"errcode":0,"errmsg":"ok"}`)}
}

func (webhookAPI) unwrap(body []byte) []byte { return body }

// checkCode takes what the relay takes, numbers: a fault of kind robot hits both robot endpoints.
func (webhookAPI) checkCode(code string) error {
	if _, err := strconv.Atoi(code); err != nil {
		return fmt.Errorf("code %q is not a number, as the webhook's errcodes are", code)
	}
	return nil
}

// webhookMessage is what the sandbox checks of a robot message.
type webhookMessage struct {
	MsgType  string `json:"msgtype"`
	Markdown *struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"markdown"`
	MsgUUID string `json:"msgUuid"`
}

// accept requires one robot message of a known msgtype with the member it names, a markdown's
// title and text, and at most schema.MaxRobotMessageBytes of compact JSON. The key is the message.
func (webhookAPI) accept(body []byte) ([]byte, answer, bool) {
	var m webhookMessage
	var members map[string]json.RawMessage
	if json.Unmarshal(body, &members) != nil || members == nil || json.Unmarshal(body, &m) != nil {
		return nil, webhookError(errcodeHookBadParam, "the body is not a robot message object"), false
	}
	switch m.MsgType {
	case schema.RobotMsgText, schema.RobotMsgMarkdown, schema.RobotMsgLink, schema.RobotMsgActionCard, schema.RobotMsgFeedCard:
	default:
		return nil, webhookError(errcodeHookBadParam, "msgtype must be text, markdown, link, actionCard or feedCard"), false
	}
	if len(members[m.MsgType]) == 0 || string(members[m.MsgType]) == "null" {
		return nil, webhookError(errcodeHookBadParam, m.MsgType+" is required"), false
	}
	if m.MsgType == schema.RobotMsgMarkdown && (m.Markdown == nil || m.Markdown.Title == "" || m.Markdown.Text == "") {
		return nil, webhookError(errcodeHookNoTitle, "markdown title and text are required"), false
	}
	if len(body) > schema.MaxRobotMessageBytes {
		var compact bytes.Buffer
		if json.Compact(&compact, body) != nil || compact.Len() > schema.MaxRobotMessageBytes {
			return nil, webhookError(errcodeHookTooLong, "message too long"), false
		}
	}
	return body, answer{}, true
}

// messageUUID returns the msgUuid of an accepted message, "" for none.
func messageUUID(body []byte) string {
	var m webhookMessage
	_ = json.Unmarshal(body, &m) // accepted: it decodes
	return m.MsgUUID
}

// admission is what a robot makes of an accepted message.
type admission int

const (
	admitted       admission = iota // post it
	admitDuplicate                  // its msgUuid was posted: answer sent, post nothing
	admitLimited                    // over the limit, or blocked: answer 410100
)

// robotBook is the state of the webhook robots, by access token: the msgUuids each has posted,
// the times of its recent messages and the end of its block. Posted msgUuids are kept for the
// sandbox's life, as a 64-bit hash each (see [recorder] for the odds of a collision). Safe for
// concurrent use.
type robotBook struct {
	limit         int
	window, block time.Duration
	seed          maphash.Seed

	mu     sync.Mutex
	robots map[string]*robotLimit
	posted map[uint64]struct{} // hashes of access token and msgUuid
}

// robotLimit is one robot's place against [Config.RobotLimit].
type robotLimit struct {
	recent       []time.Time // the messages posted in the last window, oldest first
	blockedUntil time.Time
}

func newRobotBook(limit int, window, block time.Duration) *robotBook {
	return &robotBook{
		limit: limit, window: window, block: block, seed: maphash.MakeSeed(),
		robots: make(map[string]*robotLimit), posted: make(map[uint64]struct{}),
	}
}

// admit decides a message to the robot of token at now, and counts it if it is admitted. A
// blocked robot refuses everything, repeats included; a repeated msgUuid does not count against
// the limit; the message that would make more than limit in any window blocks the robot for
// block, and the block starts a new window.
func (b *robotBook) admit(token, msgUUID string, now time.Time) admission {
	b.mu.Lock()
	defer b.mu.Unlock()
	rl := b.robots[token]
	if rl == nil && b.limit > 0 {
		rl = &robotLimit{}
		b.robots[token] = rl
	}
	if rl != nil && now.Before(rl.blockedUntil) {
		return admitLimited
	}
	var h uint64
	if msgUUID != "" {
		h = maphash.String(b.seed, url.QueryEscape(token)+"&"+msgUUID) // escaped: no token holds '&'
		if _, ok := b.posted[h]; ok {
			return admitDuplicate
		}
	}
	if rl != nil {
		i := 0
		for i < len(rl.recent) && now.Sub(rl.recent[i]) >= b.window {
			i++
		}
		rl.recent = rl.recent[i:]
		if len(rl.recent) >= b.limit {
			rl.recent, rl.blockedUntil = nil, now.Add(b.block)
			return admitLimited
		}
		rl.recent = append(rl.recent, now)
	}
	if msgUUID != "" {
		b.posted[h] = struct{}{}
	}
	return admitted
}
