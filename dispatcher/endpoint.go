package dispatcher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/dingq/dingq/dispatcher/internal/wire"
)

// endpoint is what every sender holds: the URL it posts to, the client and the token source.
type endpoint struct {
	url    string // base URL and path, no query
	client *http.Client
	tokens TokenSource
}

// newEndpoint checks a sender's configuration and fills in the default client.
func newEndpoint(baseURL, path string, client *http.Client, tokens TokenSource) (endpoint, error) {
	base, err := wire.BaseURL(baseURL)
	if err != nil {
		return endpoint{}, err
	}
	if tokens == nil {
		return endpoint{}, errors.New("no token source")
	}
	if client == nil {
		client = NewHTTPClient(0, 0)
	}
	return endpoint{url: base + path, client: client, tokens: tokens}, nil
}

// post sends body as JSON to url, with header set on the request when it is not empty, and
// classifies the answer. It passes the job's gate ([Job.Gate]), when there is one, first. The
// answer is scrubbed of tok before it is read, and the message of the classified error once
// more, so that an answer that echoes the token does not leak it.
func (e endpoint) post(ctx context.Context, gate func(context.Context) error, url string, body []byte, header, tok string, classify func(int, []byte) error) error {
	if gate == nil {
		gate = func(context.Context) error { return nil }
	}
	if err := gate(ctx); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", wire.Redact(err))
	}
	req.Header.Set("Content-Type", "application/json")
	if header != "" {
		req.Header.Set(header, tok)
	}
	status, answer, err := wire.Do(e.client, req)
	if err != nil {
		return err
	}
	err = classify(status, wire.Scrub(answer, tok))
	if de, ok := err.(*Error); ok {
		de.Message = wire.Line(de.Message, tok)
	}
	return err
}
