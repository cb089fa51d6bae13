package dispatcher

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dingq/dingq/dispatcher/internal/wire"
)

// WebhookPath is DingTalk's group robot webhook, under the oapi base.
const WebhookPath = "/robot/send"

// RobotPenalty is how long DingTalk blocks a group robot that went over its 20 messages a minute
// (docs/dingtalk.md#robot-rate-limit): the default of [WebhookConfig.Penalty] and
// [RobotConfig.Penalty].
const RobotPenalty = 10 * time.Minute

// Robot is a group robot's webhook credentials.
type Robot struct {
	// AccessToken is the access_token of the robot's webhook URL. Required. A secret.
	AccessToken string
	// Secret is the robot's signing secret ("SEC..."), when the robot signs. A secret.
	Secret string
}

// WebhookConfig configures a [WebhookSender].
type WebhookConfig struct {
	// BaseURL is DingTalk's oapi base, e.g. "https://oapi.dingtalk.com", or the sandbox's.
	// Required: an absolute http(s) URL without query; a path prefix is kept.
	BaseURL string
	// Client sends the requests: its Transport, with its Timeout bounding each request; it
	// follows no redirect and keeps no cookies, whatever the client's settings. Default: a client
	// of its own from NewHTTPClient(0, 0); pass the process's shared one.
	Client *http.Client
	// Robots are the named robots that jobs may send to by {"robot": name}, so that producers
	// need no secrets. A name is 1 to 64 letters, digits, '-' and '_', as the schema allows,
	// and matches a job's name in any case.
	// Default nil: only jobs that carry a link can be sent.
	Robots map[string]Robot
	// Now gives the signature's timestamp. Default time.Now.
	Now func() time.Time
	// Penalty is how long a rate-limited robot is blocked: the MinDelay and Penalty of the
	// errors for errcodes 410100, 130101 and 660026. Default [RobotPenalty].
	Penalty time.Duration
}

func (c WebhookConfig) withDefaults() WebhookConfig {
	if c.Client == nil {
		c.Client = NewHTTPClient(0, 0)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Penalty == 0 {
		c.Penalty = RobotPenalty
	}
	c.Robots = maps.Clone(c.Robots)
	return c
}

func (c WebhookConfig) validate() error {
	var errs []error
	if c.Penalty < 0 {
		errs = append(errs, fmt.Errorf("penalty %v is negative", c.Penalty))
	}
	for name, r := range c.Robots {
		if !validRobotName(name) {
			errs = append(errs, fmt.Errorf("robot %q: a name is 1 to 64 letters, digits, '-' and '_'", name))
		}
		if r.AccessToken == "" {
			errs = append(errs, fmt.Errorf("robot %q: no access token", name))
		}
	}
	return errors.Join(errs...)
}

// WebhookSender sends robot jobs straight to DingTalk's robot webhook, without the kdocs relay:
// each message of the job's data is posted on its own to
// {BaseURL}/robot/send?access_token=...[&timestamp=...&sign=...]. It is safe for concurrent use.
//
// The robot is the job's link (only its access_token is used: the host a job names is never
// posted to) with the job's sk, or a robot named in [WebhookConfig.Robots]. A robot with a secret
// gets every request signed, timestamped by [WebhookConfig.Now].
//
// Each message carries a msgUuid, "dingq-", 32 hex characters of the SHA-256 of the job id, "-"
// and the message's index: the same on every attempt of the job, so that DingTalk posts a
// retried message once. A msgUuid the producer put in a message (a non-empty string) is kept.
type WebhookSender struct {
	ep      endpoint // no token source: the robot's token comes with the job
	robots  map[string]Robot
	now     func() time.Time
	penalty time.Duration
}

var _ Sender = (*WebhookSender)(nil)

// NewWebhookSender returns a webhook sender, or an error if BaseURL is not an absolute http(s)
// URL, Penalty is negative, or a robot has a bad name or no access token. The error names robots,
// never their secrets.
func NewWebhookSender(cfg WebhookConfig) (*WebhookSender, error) {
	cfg = cfg.withDefaults()
	base, err := wire.BaseURL(cfg.BaseURL)
	if err == nil {
		err = cfg.validate()
	}
	var ep endpoint
	if err == nil {
		ep, err = endpointAt(base+WebhookPath, cfg.Client)
	}
	if err != nil {
		return nil, fmt.Errorf("webhook sender: %w", err)
	}
	robots := make(map[string]Robot, len(cfg.Robots))
	for name, r := range cfg.Robots {
		robots[strings.ToLower(name)] = r
	}
	return &WebhookSender{
		ep:      ep,
		robots:  robots,
		now:     cfg.Now,
		penalty: cfg.Penalty,
	}, nil
}

// Send posts the job's messages in order, each with its msgUuid (see [WebhookSender]), starting
// after the [Job.Posted] messages an earlier attempt posted, and stops at the first failure with a
// [*PartialError] that says how many are posted, so that the next attempt resumes there (its
// turn under the robot's rate limit included). A message posted again after a lost record is
// dropped by DingTalk by its msgUuid. It returns
// nil when every message was posted, a [*Error] with [Reject] and a Code* code above when the job
// names no usable robot (nothing is sent then), a [*Error] classified by the webhook's errcode
// table otherwise, and a wrapped network or context error, which means retry, when the outcome is
// unknown. No error holds the access token, the secret or the signature.
func (s *WebhookSender) Send(ctx context.Context, job Job) error {
	robot, bodies, err := s.prepare(job)
	if err != nil {
		return fmt.Errorf("send robot webhook %s: %w", job.ID, err)
	}
	for i := job.Posted; i < len(bodies); i++ {
		if err := s.post(ctx, job.Gate, robot, bodies[i]); err != nil {
			return &PartialError{Posted: i, Err: fmt.Errorf("send robot webhook %s message %d: %w", job.ID, i, err)}
		}
	}
	return nil
}

// prepare resolves the job's robot and builds every message's body before the first is sent, so
// that a malformed last message rejects the job before any of it is posted.
func (s *WebhookSender) prepare(job Job) (Robot, [][]byte, error) {
	j, err := parseRobotJob(job.Body)
	if err != nil {
		return Robot{}, nil, err
	}
	robot, err := s.resolve(j)
	if err != nil {
		return Robot{}, nil, err
	}
	bodies := make([][]byte, len(j.Data))
	for i, msg := range j.Data {
		if bodies[i], err = withMsgUUID(msg, msgUUID(job.ID, i)); err != nil {
			return Robot{}, nil, rejectJob(CodeBadRobotJob, fmt.Sprintf("data[%d] is not a JSON object", i))
		}
	}
	return robot, bodies, nil
}

// resolve returns the robot a parsed job names: its link's token with its sk, or a named robot.
func (s *WebhookSender) resolve(j robotJob) (Robot, error) {
	if j.Robot != "" {
		r, ok := s.robots[strings.ToLower(j.Robot)] // names match in any case, as in the configuration
		if !ok {
			return Robot{}, rejectJob(CodeUnknownRobot, fmt.Sprintf("robot %q is not configured", j.Robot))
		}
		return r, nil
	}
	tok, err := linkToken(j.Link)
	if err != nil {
		return Robot{}, err
	}
	return Robot{AccessToken: tok, Secret: j.SK}, nil
}

// post sends one message to robot and classifies the answer, scrubbed of the robot's token,
// secret and signature in case DingTalk echoes them.
func (s *WebhookSender) post(ctx context.Context, gate func(context.Context) error, robot Robot, body []byte) error {
	query, sign := webhookQuery(robot, s.now())
	classify := func(status int, answer []byte) error {
		return classifyWebhook(status, wire.Scrub(answer, robot.Secret, sign, url.QueryEscape(sign)), s.penalty)
	}
	return s.ep.post(ctx, gate, s.ep.withQuery(query.Encode()), body, "", robot.AccessToken, classify)
}

// RobotTarget returns a stable identity of the robot a robot job's body sends to, free of secrets,
// for rate limiting per robot: "robot:" and the name for a named robot, "webhook:" and the first
// 16 hex characters of the SHA-256 of the access_token for a link. The two forms of the same
// robot get different identities, so jobs that mix them share no limit: that is accepted, since
// a deployment that names its robots gives producers no reason to use links. The error is a
// [*Error] with [Reject], as [WebhookSender.Send] would return for the same body. It needs no
// configuration and does not check that a named robot is configured.
func RobotTarget(body []byte) (string, error) {
	j, err := parseRobotJob(body)
	if err != nil {
		return "", err
	}
	if j.Robot != "" {
		if !validRobotName(j.Robot) {
			return "", rejectJob(CodeBadRobotJob, fmt.Sprintf("robot %q is not a robot name", j.Robot))
		}
		return "robot:" + j.Robot, nil
	}
	tok, err := linkToken(j.Link)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(tok))
	return "webhook:" + hex.EncodeToString(sum[:8]), nil
}

// robotJob is a robot job's body: {"link","sk"?,"data"} or {"robot","data"}.
type robotJob struct {
	Link  string            `json:"link"`
	SK    string            `json:"sk"`
	Robot string            `json:"robot"`
	Data  []json.RawMessage `json:"data"`
}

// parseRobotJob reads a robot job's body; the schema has checked it, so a failure here is a job
// that skipped validation. The error never quotes the body, which holds secrets.
func parseRobotJob(body []byte) (robotJob, error) {
	var j robotJob
	switch {
	case json.Unmarshal(body, &j) != nil:
		return j, rejectJob(CodeBadRobotJob, "body is not a robot job's JSON object")
	case (j.Link == "") == (j.Robot == ""):
		return j, rejectJob(CodeBadRobotJob, "a robot job needs exactly one of link and robot")
	case len(j.Data) == 0:
		return j, rejectJob(CodeBadRobotJob, "a robot job needs at least one message in data")
	}
	return j, nil
}

// linkToken returns the access_token of a robot webhook URL, the only part of it dingq uses.
func linkToken(link string) (string, error) {
	u, err := url.Parse(link)
	if err != nil {
		return "", rejectJob(CodeBadWebhook, "link is not a URL")
	}
	if !strings.HasSuffix(u.Path, WebhookPath) {
		return "", rejectJob(CodeBadWebhook, "link "+wire.RedactURL(link)+" is not a robot webhook: its path must end in "+WebhookPath)
	}
	tok := u.Query().Get("access_token")
	if tok == "" {
		return "", rejectJob(CodeBadWebhook, "link "+wire.RedactURL(link)+" has no access_token")
	}
	return tok, nil
}

// validRobotName reports whether name is 1 to 64 letters, digits, '-' and '_'.
func validRobotName(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// msgUUID is the msgUuid of a job's message i (see [WebhookSender]). Hashing the job id, rather
// than using it, keeps it within DingTalk's 64 characters of [A-Za-z0-9-] whatever the id holds.
func msgUUID(jobID string, i int) string {
	sum := sha256.Sum256([]byte(jobID))
	return "dingq-" + hex.EncodeToString(sum[:16]) + "-" + strconv.Itoa(i)
}

// withMsgUUID returns msg, a JSON object, with "msgUuid": id added after its last member, its
// own bytes unchanged. A msgUuid the producer set (a non-empty string) is kept, as the producer's
// own idempotency key; one that is empty or not a string is replaced, and then the message is
// re-encoded (members sorted by name, values unchanged) rather than given a duplicate key.
func withMsgUUID(msg json.RawMessage, id string) ([]byte, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(msg, &members); err != nil || members == nil {
		return nil, errors.New("not a JSON object")
	}
	if v, ok := members["msgUuid"]; ok {
		if v[0] == '"' && wire.JSONText(v) != "" {
			return msg, nil
		}
		members["msgUuid"] = json.RawMessage(strconv.Quote(id)) // id is plain ASCII: a valid JSON string
		return json.Marshal(members)
	}
	obj := bytes.TrimSpace(msg) // "{...}"
	out := make([]byte, 0, len(obj)+len(id)+14)
	out = append(out, obj[:len(obj)-1]...)
	if len(members) > 0 {
		out = append(out, ',')
	}
	out = append(out, `"msgUuid":"`...)
	out = append(out, id...)
	return append(out, `"}`...), nil
}
