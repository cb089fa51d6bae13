package dispatcher

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// CrossDomainPath is the TOP API dingtalk.oapi.dingtalk.impaas.message.crossdomain.send, under the
// old-style API base.
const CrossDomainPath = "/topapi/dingtalk/impaas/message/crossdomain/send"

// crossDomainParam is the name the TOP API expects the job's model under.
const crossDomainParam = `{"crossdomain_message_send_model":`

// CrossDomainConfig configures a [CrossDomainSender].
type CrossDomainConfig struct {
	// BaseURL is the old-style API base, e.g. "https://oapi.dingtalk.com". Required: an absolute
	// http(s) URL without query; a path prefix is kept.
	BaseURL string
	// Client sends the requests. Default: a client of its own from NewHTTPClient(0, 0); pass the
	// process's shared one.
	Client *http.Client
	// Tokens gives the app's access token (a token.Cache over the old-style gettoken API). Required.
	Tokens TokenSource
}

// CrossDomainSender sends crossdomain jobs: POST
// {BaseURL}/topapi/dingtalk/impaas/message/crossdomain/send?access_token=<token> with the job body
// wrapped, byte for byte, as {"crossdomain_message_send_model":<body>}. It is safe for concurrent
// use.
type CrossDomainSender struct {
	ep endpoint
}

var _ Sender = (*CrossDomainSender)(nil)

// NewCrossDomainSender returns a cross-domain sender, or an error if BaseURL is not an absolute
// http(s) URL or Tokens is nil.
func NewCrossDomainSender(cfg CrossDomainConfig) (*CrossDomainSender, error) {
	ep, err := newEndpoint(cfg.BaseURL, CrossDomainPath, cfg.Client, cfg.Tokens)
	if err != nil {
		return nil, fmt.Errorf("crossdomain sender: %w", err)
	}
	return &CrossDomainSender{ep: ep}, nil
}

// Send posts the message. It returns nil when DingTalk answered errcode 0, a [*Error] classified
// by the cross-domain table when it refused (after one fresh token when it refused the token), and
// a wrapped network or context error, which means retry, when the outcome is unknown.
func (s *CrossDomainSender) Send(ctx context.Context, job Job) error {
	body := make([]byte, 0, len(crossDomainParam)+len(job.Body)+1)
	body = append(append(append(body, crossDomainParam...), job.Body...), '}')
	err := withToken(ctx, s.ep.tokens, func(ctx context.Context, tok string) error {
		u := s.ep.url + "?access_token=" + url.QueryEscape(tok)
		return s.ep.post(ctx, u, body, "", tok, classifyCrossDomain)
	})
	if err != nil {
		return fmt.Errorf("send crossdomain %s: %w", job.ID, err)
	}
	return nil
}
