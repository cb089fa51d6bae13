package dispatcher

import (
	"net"
	"net/http"
	"time"
)

// Defaults of [NewHTTPClient].
const (
	// DefaultMaxConnsPerHost matches the worker's default concurrency, DINGQ_CONCURRENCY.
	DefaultMaxConnsPerHost = 64
	// DefaultHTTPTimeout bounds one whole request, answer body included.
	DefaultHTTPTimeout = 10 * time.Second
)

// NewHTTPClient returns the client that every sender and token fetcher of one process should share.
//
// Its transport keeps up to maxConnsPerHost idle keep-alive connections per host (<= 0 means
// [DefaultMaxConnsPerHost]); size it to the worker's concurrency so that a burst of sends reuses
// connections instead of dialling and shaking hands again. It does not cap the connections in use.
// Dial and TLS handshake time out after 5 s each, and the whole request, body included, after
// timeout (<= 0 means [DefaultHTTPTimeout]). It honours
// HTTP_PROXY and friends, attempts HTTP/2, and asks for no compression. It follows no redirect: DingTalk's APIs do not
// redirect, and following one would carry the x-acs-dingtalk-access-token header to wherever it
// points; the 3xx answer is classified instead (as a retry).
//
// The client is safe for concurrent use. Call CloseIdleConnections on it when done.
func NewHTTPClient(maxConnsPerHost int, timeout time.Duration) *http.Client {
	if maxConnsPerHost <= 0 {
		maxConnsPerHost = DefaultMaxConnsPerHost
	}
	if timeout <= 0 {
		timeout = DefaultHTTPTimeout
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
		Transport: &http.Transport{
			Proxy:             http.ProxyFromEnvironment,
			DialContext:       dialer.DialContext,
			ForceAttemptHTTP2: true,
			// DingTalk's answers are a few hundred bytes: asking for gzip saves nothing on them and
			// costs every request an extra header map and the check of the answer's encoding.
			DisableCompression:    true,
			MaxIdleConnsPerHost:   maxConnsPerHost,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   5 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
	}
}
