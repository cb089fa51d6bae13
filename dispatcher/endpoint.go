package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"

	"github.com/dingq/dingq/dispatcher/internal/wire"
)

// endpoint is what every sender holds: the URL it posts to, the client and the token source.
type endpoint struct {
	url     *url.URL // base URL and path, no query; never changed once built
	client  *http.Client
	tokens  TokenSource
	headers *headers
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
	e, err := endpointAt(base+path, client)
	e.tokens = tokens
	return e, err
}

// endpointAt returns an endpoint posting to raw, a checked base URL and a path, without tokens.
func endpointAt(raw string, client *http.Client) (endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, fmt.Errorf("URL %q does not parse", wire.RedactURL(raw))
	}
	if client == nil {
		client = NewHTTPClient(0, 0)
	}
	return endpoint{url: u, client: client, headers: newHeaders()}, nil
}

// withQuery returns the endpoint's URL with query as its query string.
func (e endpoint) withQuery(query string) *url.URL {
	u := *e.url
	u.RawQuery = query
	return &u
}

// post sends body as JSON to u, with the token in header when header is not empty, and
// classifies the answer. It passes the job's gate ([Job.Gate]), when there is one, first. The
// answer is scrubbed of tok before it is read, and the message of the classified error once
// more, so that an answer that echoes the token does not leak it.
func (e endpoint) post(ctx context.Context, gate func(context.Context) error, u *url.URL, body []byte, header, tok string, classify func(int, []byte) error) error {
	if gate != nil {
		if err := gate(ctx); err != nil {
			return err
		}
	}
	err := wire.Post(ctx, e.client, u, e.headers.with(header, tok), body, func(status int, answer []byte) error {
		return classify(status, wire.Scrub(answer, tok))
	})
	if de, ok := err.(*Error); ok {
		de.Message = wire.Line(de.Message, tok)
	}
	return err
}

// headers are a sender's request headers: JSON, and the token in its header when the API takes
// it there. Each set is built once per token and shared by every request until the token changes,
// so a send builds none; a set is never changed once built.
type headers struct {
	json  http.Header
	token atomic.Pointer[tokenHeaders]
}

type tokenHeaders struct {
	name, tok string
	h         http.Header
}

func newHeaders() *headers {
	return &headers{json: http.Header{"Content-Type": {"application/json"}}}
}

// with returns the headers with tok in header name, or the JSON header alone when name is empty.
func (hs *headers) with(name, tok string) http.Header {
	if name == "" {
		return hs.json
	}
	if t := hs.token.Load(); t != nil && t.name == name && t.tok == tok {
		return t.h
	}
	h := hs.json.Clone()
	h.Set(name, tok)
	hs.token.Store(&tokenHeaders{name: name, tok: tok, h: h})
	return h
}
