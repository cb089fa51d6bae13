// Package fleet builds the sender a dingq worker sends with, from its apps' credentials and named
// robots: for each app, the card sender (template send and createAndDeliver), the cross-domain
// sender and the robot sender, over token caches the fleet shares through a key-value bucket; the
// robot path (the kdocs relay or the robot's own webhook); and the fleet-wide rate limits, with
// the key each job's target is limited under.
//
// A job picks its app by [dispatcher.Job.App] (the worker takes it from the job's subject). A
// library user builds a worker's sender with [New] and hands it to the worker ready.
package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/ratelimit"
	"github.com/dingq/dingq/dispatcher/token"
	"github.com/dingq/dingq/schema"
)

// How robot jobs with a link are sent, the values of [Config.RobotVia].
const (
	ViaAuto   = "auto"   // the relay when the app has a kdocs token, else direct
	ViaRelay  = "relay"  // through the kdocs relay, with the app's kdocs token
	ViaDirect = "direct" // straight to the robot's webhook
)

// App is one DingTalk app's credentials.
type App struct {
	// Key and Secret are the app's credentials; the fleet fetches and shares its access tokens.
	// Without a Key, the app's card and cross-domain jobs retry as not configured.
	Key, Secret string
	// KdocsToken is the kdocs relay token of the app's robot jobs with a link.
	KdocsToken string
}

// Robot is a group robot named in the configuration, so that jobs carry no secret.
type Robot struct {
	Webhook string // https://oapi.dingtalk.com/robot/send?access_token=...
	Secret  string // the signing secret (SEC...), when the robot signs
}

// Config describes a fleet's sender.
type Config struct {
	// APIURL, OAPIURL and KdocsURL are the bases of DingTalk's new-style API, its old-style API
	// (cross-domain and the robot webhook) and the kdocs relay.
	APIURL, OAPIURL, KdocsURL string
	// Apps are the apps by name; "" is the default app. Required: at least the default one.
	Apps map[string]App
	// Robots are the named robots by lower-case name.
	Robots map[string]Robot
	// RobotVia is how robot jobs with a link are sent: ViaAuto (default), ViaRelay or ViaDirect.
	// Jobs that name a robot always go to its webhook.
	RobotVia string
	// RobotPenalty is how long the fleet holds a robot DingTalk answered with its rate-limit
	// code. Default [dispatcher.RobotPenalty].
	RobotPenalty time.Duration
	// RateAPI and RateRobot are the fleet-wide limits per app and API, and per robot webhook. A
	// zero Rate is no limit.
	RateAPI, RateRobot ratelimit.Rate
	// Client sends every request. Required (see [dispatcher.NewHTTPClient]).
	Client *http.Client
	// Tokens is the bucket the fleet shares access tokens in; Limits the one it keeps its rate
	// limits' turns in. Required.
	Tokens, Limits jetstream.KeyValue
	// Logger receives warnings about missing settings and an unavailable token bucket.
	Logger zerolog.Logger
	// Setting names an app's setting in messages about what is missing, e.g. ("sales", "KEY") →
	// "DINGQ_APP_SALES_KEY". Default: the app's name and the setting, "sales KEY".
	Setting func(app, setting string) string
}

// Sender sends each job with its app's senders, on its turn under the fleet's rate limits.
type Sender struct {
	dispatcher.Sender
	caches []*token.Cache
}

// TokenFetches returns how many token fetches the fleet's caches have made, failed ones
// included.
func (s *Sender) TokenFetches() int64 {
	var n int64
	for _, c := range s.caches {
		n += c.Fetches()
	}
	return n
}

// New builds the fleet's sender.
func New(cfg Config) (*Sender, error) {
	if cfg.Client == nil || cfg.Tokens == nil || cfg.Limits == nil {
		return nil, errors.New("fleet: Client, Tokens and Limits are required")
	}
	if _, ok := cfg.Apps[""]; !ok {
		return nil, errors.New("fleet: the default app (\"\") is required")
	}
	if cfg.Setting == nil {
		cfg.Setting = func(app, setting string) string { return strings.TrimSpace(app + " " + setting) }
	}
	if cfg.RobotVia == "" {
		cfg.RobotVia = ViaAuto
	}
	if cfg.RobotPenalty == 0 {
		cfg.RobotPenalty = dispatcher.RobotPenalty
	}
	webhook, err := dispatcher.NewWebhookSender(dispatcher.WebhookConfig{
		BaseURL: cfg.OAPIURL, Client: cfg.Client, Robots: webhookRobots(cfg.Robots), Penalty: cfg.RobotPenalty})
	if err != nil {
		return nil, err
	}
	s := &Sender{}
	apps := map[string]dispatcher.Sender{}
	for name, app := range cfg.Apps {
		a := appSenders{cfg: cfg, name: name, app: app, webhook: webhook,
			onCache: func(c *token.Cache) { s.caches = append(s.caches, c) }}
		if apps[name], err = a.sender(); err != nil {
			return nil, err
		}
	}
	limiter, err := ratelimit.New(cfg.Limits, ratelimit.Config{})
	if err != nil {
		return nil, err
	}
	s.Sender = limiter.Wrap(byApp(apps), targets(cfg))
	return s, nil
}

// byApp routes a job to the senders of its app. An app the fleet has no credentials for is a
// job the worker should not have taken: rejected with the reason.
func byApp(apps map[string]dispatcher.Sender) dispatcher.Sender {
	return dispatcher.SenderFunc(func(ctx context.Context, job dispatcher.Job) error {
		s, ok := apps[appKey(job.App)]
		if !ok {
			return &dispatcher.Error{Decision: dispatcher.Reject, Code: dispatcher.CodeUnknownApp,
				Message: fmt.Sprintf("no credentials for the app %q on the worker", job.App)}
		}
		return s.Send(ctx, job)
	})
}

// appKey is the key of the app job names in [Config.Apps]: its name in lower case, and "" for
// the default app.
func appKey(name string) string {
	name = strings.ToLower(name)
	if name == schema.DefaultApp {
		return ""
	}
	return name
}

// appSenders builds the senders of one app.
type appSenders struct {
	cfg     Config
	name    string // "" for the default app
	app     App
	webhook dispatcher.Sender
	onCache func(*token.Cache)
}

func (a appSenders) sender() (dispatcher.Sender, error) {
	senders := map[schema.Kind]dispatcher.Sender{}
	if a.app.Key == "" {
		a.cfg.Logger.Warn().Str("app", a.label()).Msgf("%s is not set: card and crossdomain jobs will wait and retry until it is", a.cfg.Setting(a.name, "KEY"))
		senders[schema.KindCard] = notConfigured(a.cfg.Setting(a.name, "KEY") + " and " + a.cfg.Setting(a.name, "SECRET"))
		senders[schema.KindCrossDomain] = senders[schema.KindCard]
	} else {
		card, cross, err := a.apiSenders()
		if err != nil {
			return nil, err
		}
		senders[schema.KindCard], senders[schema.KindCrossDomain] = card, cross
	}
	robot, err := a.robotSender()
	if err != nil {
		return nil, err
	}
	senders[schema.KindRobot] = robot
	return dispatcher.NewMux(senders), nil
}

// apiSenders builds the card (both modes) and cross-domain senders, over token caches whose
// fetches the fleet shares.
func (a appSenders) apiSenders() (card, cross dispatcher.Sender, err error) {
	onBucketError := func(err error) {
		a.cfg.Logger.Warn().Err(err).Str("app", a.label()).Msg("the shared token bucket is unavailable; fetching the token directly")
	}
	shared := func(api string, f token.Fetcher) *token.Cache {
		sc := token.SharedConfig{OnBucketError: onBucketError}
		c := token.NewCache(token.NewShared(a.cfg.Tokens, token.SharedKey(api, a.app.Key), f, sc), token.CacheConfig{})
		a.onCache(c)
		return c
	}
	client := a.cfg.Client
	apiTokens := shared(tokenAPI, token.NewAPIFetcher(a.cfg.APIURL, a.app.Key, a.app.Secret, client))
	oapiTokens := shared(tokenOAPI, token.NewOAPIFetcher(a.cfg.OAPIURL, a.app.Key, a.app.Secret, client))
	cardCfg := dispatcher.CardConfig{BaseURL: a.cfg.APIURL, Client: client, Tokens: apiTokens}
	template, err := dispatcher.NewCardSender(cardCfg)
	if err != nil {
		return nil, nil, err
	}
	deliver, err := dispatcher.NewCardDeliverSender(cardCfg)
	if err != nil {
		return nil, nil, err
	}
	crossDomain, err := dispatcher.NewCrossDomainSender(dispatcher.CrossDomainConfig{BaseURL: a.cfg.OAPIURL, Client: client, Tokens: oapiTokens})
	if err != nil {
		return nil, nil, err
	}
	return dispatcher.NewCardModeSender(template, deliver), crossDomain, nil
}

// robotSender sends a named robot's jobs to its webhook, and link jobs by RobotVia: the kdocs
// relay (with the app's kdocs token) or the webhook.
func (a appSenders) robotSender() (dispatcher.Sender, error) {
	kdocs := a.app.KdocsToken
	via := a.cfg.RobotVia
	if via == ViaAuto {
		via = ViaDirect
		if kdocs != "" {
			via = ViaRelay
		}
	}
	links := a.webhook
	if via == ViaRelay {
		if kdocs == "" {
			a.cfg.Logger.Warn().Str("app", a.label()).Msgf("%s is not set: robot jobs with a link will wait and retry until it is", a.cfg.Setting(a.name, "KDOCS_TOKEN"))
			links = notConfigured(a.cfg.Setting(a.name, "KDOCS_TOKEN"))
		} else {
			relay, err := dispatcher.NewRobotSender(dispatcher.RobotConfig{BaseURL: a.cfg.KdocsURL, Client: a.cfg.Client,
				Tokens: token.Static(kdocs), Penalty: a.cfg.RobotPenalty})
			if err != nil {
				return nil, err
			}
			links = relay
		}
	}
	webhook := a.webhook
	return dispatcher.SenderFunc(func(ctx context.Context, job dispatcher.Job) error {
		if t, err := dispatcher.RobotTarget(job.Body); err == nil && strings.HasPrefix(t, "robot:") {
			return webhook.Send(ctx, job) // a named robot: its webhook and secret are ours
		}
		return links.Send(ctx, job)
	}), nil
}

func (a appSenders) label() string {
	if a.name == "" {
		return schema.DefaultApp
	}
	return a.name
}

// targets names each job's rate-limit target: the app (by a hash of its key, so that apps that
// share credentials share its limit) and API for card and cross-domain jobs, the robot's webhook
// for robot jobs.
func targets(cfg Config) ratelimit.TargetFunc {
	return func(job dispatcher.Job) (ratelimit.Target, bool) {
		switch job.Kind {
		case schema.KindCard, schema.KindCrossDomain:
			if cfg.RateAPI.Off() {
				return ratelimit.Target{}, false
			}
			app, ok := cfg.Apps[appKey(job.App)]
			if !ok || app.Key == "" {
				return ratelimit.Target{}, false
			}
			api := string(job.Kind)
			if job.Kind == schema.KindCard && schema.CardModeOf(job.Body) == schema.CardDeliver {
				api = apiCardDeliver
			}
			return ratelimit.Target{Key: apiTarget(app.Key, api), Rate: cfg.RateAPI}, true
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
				if r, ok := cfg.Robots[strings.ToLower(name)]; ok {
					t = webhookTarget(r)
				}
			}
			return ratelimit.Target{Key: robotTarget(t), Rate: cfg.RateRobot}, true
		}
		return ratelimit.Target{}, false
	}
}

// The token APIs an app's tokens are fetched from, as [token.SharedKey] takes them: the
// new-style API (for cards) and the old-style one (for cross-domain sends).
const (
	tokenAPI  = "api"
	tokenOAPI = "oapi"
)

// apiCardDeliver is the API of card jobs in createAndDeliver mode, limited apart from the
// template send's ("card"); cross-domain jobs are limited as "crossdomain".
const apiCardDeliver = "card-deliver"

// apiTarget is the rate-limit key of an app's API: the app by a hash of its key, and the API.
func apiTarget(appKey, api string) string { return "api." + shortHash(appKey) + "." + api }

// robotTarget is the rate-limit key of a robot, from its [dispatcher.RobotTarget]
// ("webhook:<hash>", or "robot:<name>" for a name the fleet does not know).
func robotTarget(t string) string { return "robot." + strings.ReplaceAll(t, ":", ".") }

// webhookTarget is a named robot's target in [dispatcher.RobotTarget]'s form: a link to the same
// webhook has the same one, so that the two share a limit.
func webhookTarget(r Robot) string { return "webhook:" + shortHash(WebhookToken(r.Webhook)) }

// shortHash is the first 16 hex characters of s's SHA-256: an identity free of the secret.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// WebhookToken returns the access_token of a robot's webhook URL, or "" when it has none.
func WebhookToken(webhook string) string {
	u, err := url.Parse(webhook)
	if err != nil {
		return ""
	}
	return u.Query().Get("access_token")
}

// webhookRobots turns the named robots into the webhook sender's.
func webhookRobots(robots map[string]Robot) map[string]dispatcher.Robot {
	out := map[string]dispatcher.Robot{}
	for name, r := range robots {
		out[name] = dispatcher.Robot{AccessToken: WebhookToken(r.Webhook), Secret: r.Secret}
	}
	return out
}

func notConfigured(what string) dispatcher.Sender {
	err := &dispatcher.Error{Decision: dispatcher.Retry, Code: dispatcher.CodeNotConfigured, Message: fmt.Sprintf("%s not set on the worker", what)}
	return dispatcher.SenderFunc(func(context.Context, dispatcher.Job) error { return err })
}
