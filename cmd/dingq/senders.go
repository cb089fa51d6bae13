package main

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/dingq/dingq/cmd/internal/config"
	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/token"
	"github.com/dingq/dingq/schema"
)

// newSender builds one sender per kind over one shared HTTP client. A kind whose credentials are
// not configured gets a sender that answers "retry: not configured", so its jobs wait (and, once
// their attempts are used, land in the dead letters to be replayed) instead of being dropped.
func newSender(cfg config.Config, log zerolog.Logger) (dispatcher.Sender, error) {
	client := dispatcher.NewHTTPClient(cfg.Concurrency, cfg.HTTPTimeout)
	senders := map[schema.Kind]dispatcher.Sender{}

	if cfg.AppKey != "" {
		apiTokens := token.NewCache(token.NewAPIFetcher(cfg.APIURL, cfg.AppKey, cfg.AppSecret, client), token.CacheConfig{})
		oapiTokens := token.NewCache(token.NewOAPIFetcher(cfg.OAPIURL, cfg.AppKey, cfg.AppSecret, client), token.CacheConfig{})
		card, err := dispatcher.NewCardSender(dispatcher.CardConfig{BaseURL: cfg.APIURL, Client: client, Tokens: apiTokens})
		if err != nil {
			return nil, err
		}
		cross, err := dispatcher.NewCrossDomainSender(dispatcher.CrossDomainConfig{BaseURL: cfg.OAPIURL, Client: client, Tokens: oapiTokens})
		if err != nil {
			return nil, err
		}
		senders[schema.KindCard], senders[schema.KindCrossDomain] = card, cross
	} else {
		log.Warn().Msg("DINGQ_DINGTALK_APP_KEY is not set: card and crossdomain jobs will wait and retry until it is")
		senders[schema.KindCard] = notConfigured("DINGQ_DINGTALK_APP_KEY and DINGQ_DINGTALK_APP_SECRET")
		senders[schema.KindCrossDomain] = senders[schema.KindCard]
	}

	if cfg.KdocsToken != "" {
		robot, err := dispatcher.NewRobotSender(dispatcher.RobotConfig{BaseURL: cfg.KdocsURL, Client: client, Tokens: token.Static(cfg.KdocsToken)})
		if err != nil {
			return nil, err
		}
		senders[schema.KindRobot] = robot
	} else {
		log.Warn().Msg("DINGQ_KDOCS_ACCESS_TOKEN is not set: robot jobs will wait and retry until it is")
		senders[schema.KindRobot] = notConfigured("DINGQ_KDOCS_ACCESS_TOKEN")
	}
	return dispatcher.NewMux(senders), nil
}

func notConfigured(what string) dispatcher.Sender {
	err := &dispatcher.Error{Decision: dispatcher.Retry, Code: "not_configured", Message: fmt.Sprintf("%s not set on the worker", what)}
	return dispatcher.SenderFunc(func(context.Context, dispatcher.Job) error { return err })
}
