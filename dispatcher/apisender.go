package dispatcher

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/dingq/dingq/dispatcher/internal/wire"
)

// apiSender sends a job with one POST to one API, on the app's access token from a
// [TokenSource], renewed once when the API refuses it (withToken). [CardSender],
// [CardDeliverSender], [CrossDomainSender] and [RobotSender] are each one, told apart by the
// fields below alone. It is safe for concurrent use.
type apiSender struct {
	// name prefixes the constructor's errors ("card sender: no token source"); verb and the
	// job id prefix Send's ("send card <id>: ...").
	name, verb string
	// path is the API's, under the configured base URL.
	path string
	// header, when set, carries the token (x-acs-dingtalk-access-token, on api.dingtalk.com);
	// when empty, the token goes in the URL's access_token query parameter (oapi, the relay).
	header string
	// wrap, when set, opens the body that the job's body and a closing '}' complete, byte for
	// byte: `{"crossdomain_message_send_model":` gives {"crossdomain_message_send_model":<body>}.
	// When empty, the job's body is sent as it is.
	wrap string
	// classify reads the API's answer, scrubbed of the token.
	classify func(status int, answer []byte) error
	// secrets, when set, returns secrets of a job's body that DingTalk may echo (a robot's
	// signing secret and webhook token): a failed answer is classified once more without them,
	// for its message.
	secrets func(body []byte) []string

	ep endpoint
}

// build returns s posting to {baseURL}{s.path}, or an error if baseURL is not an absolute
// http(s) URL or tokens is nil. A nil client defaults as [endpoint] does.
func (s apiSender) build(baseURL string, client *http.Client, tokens TokenSource) (apiSender, error) {
	ep, err := newEndpoint(baseURL, s.path, client, tokens)
	if err != nil {
		return s, fmt.Errorf("%s: %w", s.name, err)
	}
	s.ep = ep
	return s, nil
}

// Send posts the job. It returns nil when the API accepted it, a [*Error] classified by the
// API's table when it refused (after one fresh token when it refused the token), and a wrapped
// network or context error, which means retry, when the outcome is unknown.
func (s *apiSender) Send(ctx context.Context, job Job) error {
	body := job.Body
	if s.wrap != "" {
		body = make([]byte, 0, len(s.wrap)+len(job.Body)+1)
		body = append(append(append(body, s.wrap...), job.Body...), '}')
	}
	classify := s.classify
	if s.secrets != nil {
		classify = func(status int, answer []byte) error {
			err := s.classify(status, answer)
			if err != nil {
				// Only a failure carries a message: read it again from an answer without the secrets.
				err = s.classify(status, wire.Scrub(answer, s.secrets(job.Body)...))
			}
			return err
		}
	}
	err := withToken(ctx, s.ep.tokens, func(ctx context.Context, tok string) error {
		u := s.ep.url
		if s.header == "" {
			u = s.ep.withQuery("access_token=" + url.QueryEscape(tok))
		}
		return s.ep.post(ctx, job.Gate, u, body, s.header, tok, classify)
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", s.verb, job.ID, err)
	}
	return nil
}
