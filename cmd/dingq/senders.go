package main

import (
	"strings"

	"github.com/rs/zerolog"

	"github.com/dingq/dingq/cmd/internal/config"
	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/fleet"
	"github.com/dingq/dingq/worker"
	"github.com/dingq/dingq/worker/metrics"
)

// fleetConfig is the fleet the configuration describes: its DingTalk endpoints, apps, named
// robots and rate limits.
func fleetConfig(cfg config.Config) fleet.Config {
	apps := map[string]fleet.App{}
	for _, name := range append([]string{""}, cfg.Worker().Apps...) {
		a, _ := cfg.App(name)
		apps[name] = fleet.App{Key: a.AppKey, Secret: a.AppSecret, KdocsToken: a.KdocsToken}
	}
	robots := map[string]fleet.Robot{}
	for name, r := range cfg.Robots {
		robots[name] = fleet.Robot{Webhook: r.Webhook, Secret: r.Secret}
	}
	return fleet.Config{
		APIURL: cfg.APIURL, OAPIURL: cfg.OAPIURL, KdocsURL: cfg.KdocsURL,
		Apps: apps, Robots: robots, RobotVia: cfg.RobotVia, RobotPenalty: cfg.RobotPenalty,
		RateAPI: cfg.RateAPI, RateRobot: cfg.RateRobot, Setting: settingVariable,
	}
}

// newSender builds the worker's sender on its buckets with dispatcher/fleet, which decides
// everything else.
func newSender(cfg config.Config, log zerolog.Logger, res *worker.Resources) (*fleet.Sender, error) {
	fc := fleetConfig(cfg)
	fc.Client = dispatcher.NewHTTPClient(cfg.Concurrency, cfg.HTTPTimeout)
	fc.Tokens, fc.Limits, fc.Logger = res.Tokens, res.Limits, log
	return fleet.New(fc)
}

// settingVariable names an app's setting as the worker reads it: DINGQ_DINGTALK_APP_KEY (or
// DINGQ_KDOCS_ACCESS_TOKEN) for the default app, DINGQ_APP_<NAME>_<SETTING> for a named one.
func settingVariable(app, setting string) string {
	if app != "" {
		return "DINGQ_APP_" + strings.ToUpper(app) + "_" + setting
	}
	if setting == "KDOCS_TOKEN" {
		return "DINGQ_KDOCS_ACCESS_TOKEN"
	}
	return "DINGQ_DINGTALK_APP_" + setting
}

// newSender's senders count their token fetches, for dingq_token_fetches_total.
var _ metrics.TokenCounter = (*fleet.Sender)(nil)
