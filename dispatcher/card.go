package dispatcher

import "net/http"

// CardPath is the interactive card template send API, under the new-style API base.
const CardPath = "/v1.0/im/interactiveCards/templates/send"

// cardTokenHeader carries the app's access token on new-style API calls.
const cardTokenHeader = "x-acs-dingtalk-access-token"

// CardConfig configures a [CardSender].
type CardConfig struct {
	// BaseURL is the new-style API base, e.g. "https://api.dingtalk.com". Required: an absolute
	// http(s) URL without query; a path prefix is kept.
	BaseURL string
	// Client sends the requests: its Transport, with its Timeout bounding each request; it
	// follows no redirect and keeps no cookies, whatever the client's settings. Default: a client
	// of its own from NewHTTPClient(0, 0); pass the process's shared one.
	Client *http.Client
	// Tokens gives the app's access token (a token.Cache over the new-style token API). Required.
	Tokens TokenSource
}

// CardSender sends card jobs: POST {BaseURL}/v1.0/im/interactiveCards/templates/send with the job
// body as it is and the token in the x-acs-dingtalk-access-token header. Its Send returns nil
// when DingTalk answered with a processQueryKey, a [*Error] classified by the card table when it
// refused (after one fresh token when it refused the token), and a wrapped network or context
// error, which means retry, when the outcome is unknown. Sending again is safe: DingTalk keeps a
// card's first data per outTrackId. It is safe for concurrent use.
type CardSender struct{ apiSender }

var _ Sender = (*CardSender)(nil)

// NewCardSender returns a card sender, or an error if BaseURL is not an absolute http(s) URL or
// Tokens is nil.
func NewCardSender(cfg CardConfig) (*CardSender, error) {
	s, err := apiSender{name: "card sender", verb: "send card", path: CardPath, header: cardTokenHeader,
		classify: classifyCard}.build(cfg.BaseURL, cfg.Client, cfg.Tokens)
	if err != nil {
		return nil, err
	}
	return &CardSender{s}, nil
}
