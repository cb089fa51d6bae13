package dispatcher

import "net/http"

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
	// Client sends the requests: its Transport, with its Timeout bounding each request; it
	// follows no redirect and keeps no cookies, whatever the client's settings. Default: a client
	// of its own from NewHTTPClient(0, 0); pass the process's shared one.
	Client *http.Client
	// Tokens gives the app's access token (a token.Cache over the old-style gettoken API). Required.
	Tokens TokenSource
}

// CrossDomainSender sends crossdomain jobs: POST
// {BaseURL}/topapi/dingtalk/impaas/message/crossdomain/send?access_token=<token> with the job body
// wrapped, byte for byte, as {"crossdomain_message_send_model":<body>}. Its Send returns nil when
// DingTalk answered errcode 0, a [*Error] classified by the cross-domain table when it refused
// (after one fresh token when it refused the token), and a wrapped network or context error,
// which means retry, when the outcome is unknown. It is safe for concurrent use.
type CrossDomainSender struct{ apiSender }

var _ Sender = (*CrossDomainSender)(nil)

// NewCrossDomainSender returns a cross-domain sender, or an error if BaseURL is not an absolute
// http(s) URL or Tokens is nil.
func NewCrossDomainSender(cfg CrossDomainConfig) (*CrossDomainSender, error) {
	s, err := apiSender{name: "crossdomain sender", verb: "send crossdomain", path: CrossDomainPath,
		wrap: crossDomainParam, classify: classifyCrossDomain}.build(cfg.BaseURL, cfg.Client, cfg.Tokens)
	if err != nil {
		return nil, err
	}
	return &CrossDomainSender{s}, nil
}
