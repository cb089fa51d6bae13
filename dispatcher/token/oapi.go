package token

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/internal/wire"
)

// OAPIPath is the old-style token API, under the old-style API base.
const OAPIPath = "/gettoken"

// OAPIFetcher fetches app access tokens from the old-style API, for /topapi/ calls:
// GET {base}/gettoken?appkey=...&appsecret=..., answered by
// {"errcode":0,"access_token","expires_in"}. It is safe for concurrent use. Printing it shows its
// URL without the query only.
type OAPIFetcher struct {
	url    string // with the query, secret included: never shown
	path   string // without the query
	secret string
	client *http.Client
	err    error // the configuration's fault, returned by every Fetch
}

var _ Fetcher = (*OAPIFetcher)(nil)

// NewOAPIFetcher returns a fetcher for the app appKey. A nil client means a client of its own
// from [dispatcher.NewHTTPClient](0, 0). It returns no error so that it composes with [NewCache]:
// a baseURL that is not an absolute http(s) URL, or an empty credential, makes every Fetch fail
// with code "token:bad_config" (the senders check the same base URL when they are built).
func NewOAPIFetcher(baseURL, appKey, appSecret string, client *http.Client) *OAPIFetcher {
	if client == nil {
		client = dispatcher.NewHTTPClient(0, 0)
	}
	base, err := checkConfig(baseURL, appKey, appSecret)
	q := url.Values{"appkey": {appKey}, "appsecret": {appSecret}}
	return &OAPIFetcher{
		url:    base + OAPIPath + "?" + q.Encode(),
		path:   base + OAPIPath,
		secret: appSecret,
		client: client,
		err:    err,
	}
}

// oapiAnswer is the old-style token API's answer.
type oapiAnswer struct {
	ErrCode     json.RawMessage `json:"errcode"`
	ErrMsg      json.RawMessage `json:"errmsg"`
	SubCode     json.RawMessage `json:"sub_code"`
	AccessToken string          `json:"access_token"`
	ExpiresIn   int64           `json:"expires_in"`
}

// Fetch asks for a token. A refusal is a [*dispatcher.Error] with [dispatcher.Retry] and the
// API's errcode, e.g. "token:40096", or "token:88/<sub_code>" from the gateway; a network failure
// is the client's error with the URL's query, and so the secret, cut off.
func (f *OAPIFetcher) Fetch(ctx context.Context) (string, time.Duration, error) {
	if f.err != nil {
		return "", 0, f.err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil)
	if err != nil {
		return "", 0, fmt.Errorf("fetch token: %w", wire.Redact(err))
	}
	status, body, err := wire.Do(f.client, req)
	if err != nil {
		return "", 0, fmt.Errorf("fetch token: %w", err)
	}
	body = wire.Scrub(body, f.secret)
	if !wire.IsJSONObject(body) {
		return "", 0, failure(dispatcher.CodeNonJSONBody, status, string(body), f.secret)
	}
	var a oapiAnswer
	_ = json.Unmarshal(body, &a) // a valid object: an error is a type mismatch, leaving a field empty
	errcode := wire.JSONText(a.ErrCode)
	if status == http.StatusOK && errcode == "0" && a.AccessToken != "" && a.ExpiresIn > 0 {
		return a.AccessToken, time.Duration(a.ExpiresIn) * time.Second, nil
	}
	code := errcode
	switch {
	case status != http.StatusOK:
		code = httpCode(status)
	case errcode == "" || errcode == "0":
		code = dispatcher.CodeUnexpectedAnswer
	case errcode == "88" && wire.JSONText(a.SubCode) != "":
		code = "88/" + wire.JSONText(a.SubCode)
	}
	return "", 0, failure(code, status, wire.JSONText(a.ErrMsg), f.secret, a.AccessToken)
}

// String names the fetcher by its URL without the query, so that printing it never shows the
// secret.
func (f *OAPIFetcher) String() string { return "token.OAPIFetcher(" + f.path + ")" }

// GoString is String, for %#v.
func (f *OAPIFetcher) GoString() string { return f.String() }
