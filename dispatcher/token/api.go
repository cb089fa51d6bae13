package token

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/internal/wire"
)

// APIPath is the new-style token API, under the new-style API base.
const APIPath = "/v1.0/oauth2/accessToken"

// APIFetcher fetches app access tokens from the new-style API: POST {base}/v1.0/oauth2/accessToken
// with {"appKey","appSecret"}, answered by {"accessToken","expireIn"}. It is safe for concurrent
// use. Printing it shows its URL only.
type APIFetcher struct {
	url    string
	body   []byte // the JSON request, secret included
	secret string
	client *http.Client
	err    error // the configuration's fault, returned by every Fetch
}

var _ Fetcher = (*APIFetcher)(nil)

// NewAPIFetcher returns a fetcher for the app appKey. A nil client means a client of its own from
// [dispatcher.NewHTTPClient](0, 0). It returns no error so that it composes with [NewCache]: a
// baseURL that is not an absolute http(s) URL, or an empty credential, makes every Fetch fail
// with code "token:bad_config" (the senders check the same base URL when they are built).
func NewAPIFetcher(baseURL, appKey, appSecret string, client *http.Client) *APIFetcher {
	if client == nil {
		client = dispatcher.NewHTTPClient(0, 0)
	}
	base, err := checkConfig(baseURL, appKey, appSecret)
	// Marshalling two strings cannot fail.
	body, _ := json.Marshal(struct {
		AppKey    string `json:"appKey"`
		AppSecret string `json:"appSecret"`
	}{appKey, appSecret})
	return &APIFetcher{url: base + APIPath, body: body, secret: appSecret, client: client, err: err}
}

// apiAnswer is the new-style token API's answer; its error keys come in camelCase or, from the
// gateway, in PascalCase.
type apiAnswer struct {
	AccessToken    string          `json:"accessToken"`
	ExpireIn       int64           `json:"expireIn"`
	Code           json.RawMessage `json:"code"`
	CodeGateway    json.RawMessage `json:"Code"`
	Message        json.RawMessage `json:"message"`
	MessageGateway json.RawMessage `json:"Message"`
}

// Fetch asks for a token. A refusal is a [*dispatcher.Error] with [dispatcher.Retry] and the
// API's code, e.g. "token:invalidClientIdOrSecret" for HTTP 400 on bad credentials; a network
// failure is the client's error without the URL's query.
func (f *APIFetcher) Fetch(ctx context.Context) (string, time.Duration, error) {
	if f.err != nil {
		return "", 0, f.err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(f.body))
	if err != nil {
		return "", 0, fmt.Errorf("fetch token: %w", wire.Redact(err))
	}
	req.Header.Set("Content-Type", "application/json")
	status, body, err := wire.Do(f.client, req)
	if err != nil {
		return "", 0, fmt.Errorf("fetch token: %w", err)
	}
	body = wire.Scrub(body, f.secret)
	if !wire.IsJSONObject(body) {
		return "", 0, failure(dispatcher.CodeNonJSONBody, status, string(body), f.secret)
	}
	var a apiAnswer
	_ = json.Unmarshal(body, &a) // a valid object: an error is a type mismatch, leaving a field empty
	if status == http.StatusOK && a.AccessToken != "" && a.ExpireIn > 0 {
		return a.AccessToken, time.Duration(a.ExpireIn) * time.Second, nil
	}
	code := firstOf(wire.JSONText(a.Code), wire.JSONText(a.CodeGateway))
	switch {
	case code == "" && status == http.StatusOK:
		code = dispatcher.CodeUnexpectedAnswer
	case code == "":
		code = httpCode(status)
	}
	msg := firstOf(wire.JSONText(a.Message), wire.JSONText(a.MessageGateway))
	return "", 0, failure(code, status, msg, f.secret, a.AccessToken)
}

// String names the fetcher by its URL, so that printing it never shows the secret.
func (f *APIFetcher) String() string { return "token.APIFetcher(" + f.url + ")" }

// GoString is String, for %#v.
func (f *APIFetcher) GoString() string { return f.String() }

// firstOf returns the first non-empty string.
func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
