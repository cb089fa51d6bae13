package token

import (
	"context"
	"time"
)

// Fetcher gets a new access token from a token API. Implementations are safe for concurrent use.
//
// Fetch returns the token and how long it lives from now. An error is a failure to get one;
// when the API answered, it is a [*dispatcher.Error] with code "token:" and the API's code, the
// [dispatcher.Retry] decision, and the least delay of docs/dingtalk.md#token-errors in MinDelay:
// a second after a QPS refusal (429, a 403 QpsLimit code in any case, errcode 90018), a minute
// after the IP ban's page or another TOP errcode 90001-90019.
type Fetcher interface {
	Fetch(ctx context.Context) (token string, ttl time.Duration, err error)
}

// FetcherFunc adapts a function to a [Fetcher].
type FetcherFunc func(ctx context.Context) (string, time.Duration, error)

// Fetch calls f(ctx).
func (f FetcherFunc) Fetch(ctx context.Context) (string, time.Duration, error) { return f(ctx) }
