package dispatcher

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// RobotPath is the kdocs relay's DingTalk robot notification API, under the relay's base.
const RobotPath = "/api/v1/openapi/notification/dingtalk"

// DefaultRobotRetryCodes returns the relay codes retried when [RobotConfig.RetryCodes] is nil:
// DingTalk's own retryable robot errcodes (-1 busy; 410100, 130101, 660026 rate limited), in case
// the relay passes them through. The relay publishes no codes, so this is a guess
// (docs/dingtalk.md#relay-errors).
func DefaultRobotRetryCodes() []int { return []int{-1, 410100, 130101, 660026} }

// RobotConfig configures a [RobotSender].
type RobotConfig struct {
	// BaseURL is the kdocs relay base, e.g. "https://developer.kdocs.cn". Required: an absolute
	// http(s) URL without query; a path prefix is kept.
	BaseURL string
	// Client sends the requests: its Transport, with its Timeout bounding each request; it
	// follows no redirect and keeps no cookies, whatever the client's settings. Default: a client
	// of its own from NewHTTPClient(0, 0); pass the process's shared one.
	Client *http.Client
	// Tokens gives the kdocs relay token, usually token.Static. Required.
	Tokens TokenSource
	// RetryCodes are the relay's non-zero codes that mean retry; every other non-zero code means
	// reject. The relay does not publish its codes, so this table is a guess to be tuned from what
	// it answers. nil means [DefaultRobotRetryCodes]; an empty non-nil slice retries none. A
	// retried code that is one of the robot's rate-limit errcodes (410100, 130101, 660026) waits
	// Penalty, as on the direct webhook.
	RetryCodes []int
	// Penalty is how long a robot that the relay reports rate-limited (errcodes 410100, 130101,
	// 660026 passed through) is blocked: the MinDelay and Penalty of those errors, as
	// [WebhookConfig.Penalty] is for the direct webhook. Default [RobotPenalty]; negative is an
	// error.
	Penalty time.Duration
}

// RobotSender sends robot jobs through the kdocs relay: POST
// {BaseURL}/api/v1/openapi/notification/dingtalk?access_token=<kdocs token> with the job body as
// it is. Its Send returns nil when the relay answered code 0, a [*Error] classified by the relay
// table otherwise, and a wrapped network or context error, which means retry, when the outcome is
// unknown. The error's message is scrubbed of the robot's signing secret and webhook token as
// well, in case the relay echoes them. It is safe for concurrent use.
type RobotSender struct{ apiSender }

var _ Sender = (*RobotSender)(nil)

// NewRobotSender returns a robot sender, or an error if BaseURL is not an absolute http(s) URL,
// Tokens is nil or Penalty is negative.
func NewRobotSender(cfg RobotConfig) (*RobotSender, error) {
	retry := slices.Clone(cfg.RetryCodes)
	if cfg.RetryCodes == nil {
		retry = DefaultRobotRetryCodes()
	}
	penalty := cmp.Or(cfg.Penalty, RobotPenalty)
	classify := func(status int, body []byte) error { return classifyRobot(status, body, retry, penalty) }
	s, err := apiSender{name: "robot sender", verb: "send robot", path: RobotPath, classify: classify,
		secrets: robotSecrets}.build(cfg.BaseURL, cfg.Client, cfg.Tokens)
	if err == nil && cfg.Penalty < 0 {
		err = fmt.Errorf("robot sender: penalty %v is negative", cfg.Penalty)
	}
	if err != nil {
		return nil, err
	}
	return &RobotSender{s}, nil
}

// robotSecrets returns the signing secret and the webhook's access token of a relay body.
func robotSecrets(body []byte) []string {
	var b struct {
		Link string `json:"link"`
		SK   string `json:"sk"`
	}
	if json.Unmarshal(body, &b) != nil {
		return nil
	}
	secrets := []string{b.SK}
	if u, err := url.Parse(b.Link); err == nil {
		secrets = append(secrets, u.Query().Get("access_token"))
	}
	return secrets
}
