package dispatcher

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/dingq/dingq/dispatcher/internal/wire"
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
	// Client sends the requests. Default: a client of its own from NewHTTPClient(0, 0); pass the
	// process's shared one.
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
// it is. It is safe for concurrent use.
type RobotSender struct {
	ep      endpoint
	retry   []int
	penalty time.Duration
}

var _ Sender = (*RobotSender)(nil)

// NewRobotSender returns a robot sender, or an error if BaseURL is not an absolute http(s) URL,
// Tokens is nil or Penalty is negative.
func NewRobotSender(cfg RobotConfig) (*RobotSender, error) {
	ep, err := newEndpoint(cfg.BaseURL, RobotPath, cfg.Client, cfg.Tokens)
	if err == nil && cfg.Penalty < 0 {
		err = fmt.Errorf("penalty %v is negative", cfg.Penalty)
	}
	if err != nil {
		return nil, fmt.Errorf("robot sender: %w", err)
	}
	retry := slices.Clone(cfg.RetryCodes)
	if cfg.RetryCodes == nil {
		retry = DefaultRobotRetryCodes()
	}
	penalty := cfg.Penalty
	if penalty == 0 {
		penalty = RobotPenalty
	}
	return &RobotSender{ep: ep, retry: retry, penalty: penalty}, nil
}

// Send posts the robot message to the relay. It returns nil when the relay answered code 0, a
// [*Error] classified by the relay table otherwise, and a wrapped network or context error, which
// means retry, when the outcome is unknown. The error's message is scrubbed of the robot's signing
// secret and webhook token as well, in case the relay echoes them.
func (s *RobotSender) Send(ctx context.Context, job Job) error {
	classify := func(status int, body []byte) error {
		err := classifyRobot(status, body, s.retry, s.penalty)
		if err != nil {
			// Only a failure carries a message: read it again from an answer without the secrets.
			err = classifyRobot(status, wire.Scrub(body, robotSecrets(job.Body)...), s.retry, s.penalty)
		}
		return err
	}
	err := withToken(ctx, s.ep.tokens, func(ctx context.Context, tok string) error {
		u := s.ep.url + "?access_token=" + url.QueryEscape(tok)
		return s.ep.post(ctx, u, job.Body, "", tok, classify)
	})
	if err != nil {
		return fmt.Errorf("send robot %s: %w", job.ID, err)
	}
	return nil
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
