package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/cmd/internal/config"
	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/ratelimit"
	"github.com/dingq/dingq/dispatcher/token"
	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
)

// newSender builds the worker's sender once its buckets exist: per credential profile (the
// default one and each DINGQ_APP_<NAME>_*), one sender per kind over one shared HTTP client, with
// the apps' tokens shared through the token bucket; a job picks its profile with the Dingq-App
// header; and every send waits for its turn under the fleet-wide rate limits. The sender counts
// its token caches' fetches, for the metrics.
func newSender(cfg config.Config, log zerolog.Logger, res *worker.Resources) (dispatcher.Sender, error) {
	client := dispatcher.NewHTTPClient(cfg.Concurrency, cfg.HTTPTimeout)
	webhook, err := dispatcher.NewWebhookSender(dispatcher.WebhookConfig{
		BaseURL: cfg.OAPIURL, Client: client, Robots: namedRobots(cfg), Penalty: cfg.RobotPenalty})
	if err != nil {
		return nil, err
	}
	profiles := map[string]dispatcher.Sender{}
	var caches []*token.Cache
	for _, name := range append([]string{""}, profileNames(cfg)...) {
		app, _ := cfg.App(name)
		p := profile{cfg: cfg, name: name, app: app, client: client, tokens: res.Tokens, webhook: webhook, log: log,
			onCache: func(c *token.Cache) { caches = append(caches, c) }}
		if profiles[name], err = p.sender(); err != nil {
			return nil, err
		}
	}
	limiter, err := ratelimit.New(res.Limits, ratelimit.Config{})
	if err != nil {
		return nil, err
	}
	return tokenCounted{Sender: limiter.Wrap(byProfile(profiles), targets(cfg)), caches: caches}, nil
}

// tokenCounted is a sender with the token caches it sends with, whose fetches the metrics count.
type tokenCounted struct {
	dispatcher.Sender
	caches []*token.Cache
}

// TokenFetches returns how many fetches the caches have made, failed ones included.
func (s tokenCounted) TokenFetches() int64 {
	var n int64
	for _, c := range s.caches {
		n += c.Fetches()
	}
	return n
}

// byProfile routes a job to the senders of the profile its Dingq-App header names. A profile the
// worker does not know is the job's mistake, or a worker not yet configured for it: the job is
// dead-lettered with the reason, to be replayed once the profile exists.
func byProfile(profiles map[string]dispatcher.Sender) dispatcher.Sender {
	return dispatcher.SenderFunc(func(ctx context.Context, job dispatcher.Job) error {
		name := strings.ToLower(job.App)
		if name == "default" {
			name = ""
		}
		s, ok := profiles[name]
		if !ok {
			return &dispatcher.Error{Decision: dispatcher.Reject, Code: dispatcher.CodeUnknownApp,
				Message: fmt.Sprintf("no credential profile %q on the worker (set DINGQ_APP_%s_KEY and _SECRET)", job.App, strings.ToUpper(name))}
		}
		return s.Send(ctx, job)
	})
}

// profile builds the senders of one credential profile.
type profile struct {
	cfg     config.Config
	name    string // "" for the default profile
	app     config.App
	client  *http.Client
	tokens  jetstream.KeyValue
	webhook dispatcher.Sender
	log     zerolog.Logger
	onCache func(*token.Cache) // if set, told of each token cache built
}

func (p profile) sender() (dispatcher.Sender, error) {
	senders := map[schema.Kind]dispatcher.Sender{}
	if p.app.AppKey == "" {
		p.log.Warn().Str("app", p.label()).Msgf("%s is not set: card and crossdomain jobs will wait and retry until it is", p.variable("KEY"))
		senders[schema.KindCard] = notConfigured(p.variable("KEY") + " and " + p.variable("SECRET"))
		senders[schema.KindCrossDomain] = senders[schema.KindCard]
	} else {
		card, cross, err := p.appSenders()
		if err != nil {
			return nil, err
		}
		senders[schema.KindCard], senders[schema.KindCrossDomain] = card, cross
	}
	robot, err := p.robotSender()
	if err != nil {
		return nil, err
	}
	senders[schema.KindRobot] = robot
	return dispatcher.NewMux(senders), nil
}

// appSenders builds the card (both modes) and cross-domain senders, over token caches whose
// fetches the fleet shares.
func (p profile) appSenders() (card, cross dispatcher.Sender, err error) {
	onBucketError := func(err error) {
		p.log.Warn().Err(err).Str("app", p.label()).Msg("the shared token bucket is unavailable; fetching the token directly")
	}
	shared := func(api string, f token.Fetcher) *token.Cache {
		sc := token.SharedConfig{OnBucketError: onBucketError}
		c := token.NewCache(token.NewShared(p.tokens, token.SharedKey(api, p.app.AppKey), f, sc), token.CacheConfig{})
		if p.onCache != nil {
			p.onCache(c)
		}
		return c
	}
	apiTokens := shared("api", token.NewAPIFetcher(p.cfg.APIURL, p.app.AppKey, p.app.AppSecret, p.client))
	oapiTokens := shared("oapi", token.NewOAPIFetcher(p.cfg.OAPIURL, p.app.AppKey, p.app.AppSecret, p.client))
	cardCfg := dispatcher.CardConfig{BaseURL: p.cfg.APIURL, Client: p.client, Tokens: apiTokens}
	template, err := dispatcher.NewCardSender(cardCfg)
	if err != nil {
		return nil, nil, err
	}
	deliver, err := dispatcher.NewCardDeliverSender(cardCfg)
	if err != nil {
		return nil, nil, err
	}
	crossDomain, err := dispatcher.NewCrossDomainSender(dispatcher.CrossDomainConfig{BaseURL: p.cfg.OAPIURL, Client: p.client, Tokens: oapiTokens})
	if err != nil {
		return nil, nil, err
	}
	return dispatcher.NewCardModeSender(template, deliver), crossDomain, nil
}

// robotSender sends a named robot's jobs to its webhook, and link jobs by DINGQ_ROBOT_VIA: the
// kdocs relay (with the profile's kdocs token) or the webhook.
func (p profile) robotSender() (dispatcher.Sender, error) {
	kdocs := p.app.KdocsToken
	via := p.cfg.RobotVia
	if via == config.RobotViaAuto {
		via = config.RobotViaDirect
		if kdocs != "" {
			via = config.RobotViaRelay
		}
	}
	links := p.webhook
	if via == config.RobotViaRelay {
		if kdocs == "" {
			p.log.Warn().Str("app", p.label()).Msgf("%s is not set: robot jobs with a link will wait and retry until it is", p.variable("KDOCS_TOKEN"))
			links = notConfigured(p.variable("KDOCS_TOKEN"))
		} else {
			relay, err := dispatcher.NewRobotSender(dispatcher.RobotConfig{BaseURL: p.cfg.KdocsURL, Client: p.client, Tokens: token.Static(kdocs),
				Penalty: p.cfg.RobotPenalty})
			if err != nil {
				return nil, err
			}
			links = relay
		}
	}
	return dispatcher.SenderFunc(func(ctx context.Context, job dispatcher.Job) error {
		if t, err := dispatcher.RobotTarget(job.Body); err == nil && strings.HasPrefix(t, "robot:") {
			return p.webhook.Send(ctx, job) // a named robot: its webhook and secret are ours
		}
		return links.Send(ctx, job)
	}), nil
}

// variable names the setting of this profile: DINGQ_DINGTALK_APP_KEY for the default profile,
// DINGQ_APP_<NAME>_KEY for a named one.
func (p profile) variable(suffix string) string {
	if p.name != "" {
		return "DINGQ_APP_" + strings.ToUpper(p.name) + "_" + suffix
	}
	switch suffix {
	case "KDOCS_TOKEN":
		return "DINGQ_KDOCS_ACCESS_TOKEN"
	default:
		return "DINGQ_DINGTALK_APP_" + suffix
	}
}

func (p profile) label() string {
	if p.name == "" {
		return "default"
	}
	return p.name
}

// targets names each job's rate-limit target: the app (by a hash of its key, so that profiles
// that share an app share its limit) and API for card and crossdomain jobs, the robot's webhook
// for robot jobs.
func targets(cfg config.Config) ratelimit.TargetFunc {
	return func(job dispatcher.Job) (ratelimit.Target, bool) {
		switch job.Kind {
		case schema.KindCard, schema.KindCrossDomain:
			if cfg.RateAPI.Off() {
				return ratelimit.Target{}, false
			}
			app, ok := cfg.App(job.App)
			if !ok || app.AppKey == "" {
				return ratelimit.Target{}, false
			}
			api := string(job.Kind)
			if job.Kind == schema.KindCard && schema.CardModeOf(job.Body) == schema.CardDeliver {
				api = "card-deliver"
			}
			return ratelimit.Target{Key: "api." + shortHash(app.AppKey) + "." + api, Rate: cfg.RateAPI}, true
		case schema.KindRobot:
			if cfg.RateRobot.Off() {
				return ratelimit.Target{}, false
			}
			t, err := dispatcher.RobotTarget(job.Body)
			if err != nil {
				return ratelimit.Target{}, false // the sender rejects it
			}
			if name, ok := strings.CutPrefix(t, "robot:"); ok {
				// A named robot shares its limit with links to the same webhook.
				if r, ok := cfg.Robot(name); ok {
					t = "webhook:" + shortHash(webhookToken(r.Webhook))
				}
			}
			return ratelimit.Target{Key: "robot." + strings.ReplaceAll(t, ":", "."), Rate: cfg.RateRobot}, true
		}
		return ratelimit.Target{}, false
	}
}

// shortHash is the first 16 hex characters of s's SHA-256: an identity free of the secret.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

func webhookToken(webhook string) string {
	u, err := url.Parse(webhook)
	if err != nil {
		return ""
	}
	return u.Query().Get("access_token")
}

// namedRobots turns the configured robots into the webhook sender's.
func namedRobots(cfg config.Config) map[string]dispatcher.Robot {
	robots := map[string]dispatcher.Robot{}
	for name, r := range cfg.Robots {
		robots[name] = dispatcher.Robot{AccessToken: webhookToken(r.Webhook), Secret: r.Secret}
	}
	return robots
}

func profileNames(cfg config.Config) []string {
	names := make([]string, 0, len(cfg.Apps))
	for name := range cfg.Apps {
		names = append(names, name)
	}
	return names
}

func notConfigured(what string) dispatcher.Sender {
	err := &dispatcher.Error{Decision: dispatcher.Retry, Code: dispatcher.CodeNotConfigured, Message: fmt.Sprintf("%s not set on the worker", what)}
	return dispatcher.SenderFunc(func(context.Context, dispatcher.Job) error { return err })
}
