package token

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/dingq/dingq/dispatcher"
)

// CacheConfig tunes a [Cache]. The zero value is ready to use.
type CacheConfig struct {
	// RefreshBefore is how long before a token expires the cache fetches a new one. Default 5
	// minutes; negative means at expiry. When it would leave less than half of a token's life,
	// the token is refreshed at half its life instead.
	RefreshBefore time.Duration
	// MinRefetch spaces out fetches that follow a failure. A failed fetch's error is returned for
	// this long before the next fetch is tried, so that a bad secret does not cost a fetch per
	// send; and a token that a fetch gave back unchanged right after Invalidate (DingTalk re-issues
	// the same token within its two hours) is not dropped again for this long, so that the
	// refusals of sends already in flight cause one fetch, not one each. Default 1 s; negative
	// means no spacing.
	MinRefetch time.Duration
	// FetchTimeout bounds one fetch. The fetch runs for every waiting caller, so it does not stop
	// when the caller that started it gives up; only this timeout (and the client's) ends it.
	// Default 10 s.
	FetchTimeout time.Duration
	// Now tells the time, for tests. Default time.Now.
	Now func() time.Time
}

func (c CacheConfig) withDefaults() CacheConfig {
	c.RefreshBefore = orDefault(c.RefreshBefore, 5*time.Minute)
	c.MinRefetch = orDefault(c.MinRefetch, time.Second)
	if c.FetchTimeout <= 0 {
		c.FetchTimeout = 10 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// orDefault returns def for zero, 0 for a negative d, and d otherwise.
func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// Cache keeps one app's access token and is the [dispatcher.TokenSource] of its senders. It
// fetches a token on first use and again shortly before expiry, never per send; concurrent
// callers that find no usable token wait for a single fetch. If a refresh fails while the old
// token is still valid, the old token is kept. Every error it returns carries [dispatcher.Retry].
// It is safe for concurrent use; printing it shows no token.
type Cache struct {
	fetcher Fetcher
	cfg     CacheConfig
	flight  singleflight.Group
	fetches atomic.Int64

	mu        sync.Mutex
	token     string
	fetchedAt time.Time // when the fetch of token began
	refreshAt time.Time
	expiresAt time.Time
	dropped   string    // the token last invalidated, until the next fetch
	reissued  bool      // the last fetch gave back the token just invalidated
	err       error     // the last fetch's failure, nil after a success
	holdUntil time.Time // after a failure, no fetch before this
}

var _ dispatcher.TokenSource = (*Cache)(nil)

// NewCache returns a cache over f, which must not be nil. It fetches nothing until asked.
func NewCache(f Fetcher, cfg CacheConfig) *Cache {
	return &Cache{fetcher: f, cfg: cfg.withDefaults()}
}

// Keys of the cache's single-flight group: singleKey for fetches, invalidateKey and the token
// for telling the fetcher of a dropped token.
const (
	singleKey     = "token"
	invalidateKey = "invalidate:"
)

// Token returns the cached token, or waits for a fetch. Its error is the fetch's failure (with
// [dispatcher.Retry]), held for MinRefetch, or the context's error if ctx ends while waiting.
func (c *Cache) Token(ctx context.Context) (string, error) {
	if tok, ok, err := c.cached(); ok {
		return tok, err
	}
	ch := c.flight.DoChan(singleKey, func() (any, error) { return c.fetch(ctx) })
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", fmt.Errorf("wait for token: %w", context.Cause(ctx))
	}
}

// Invalidator is implemented by a [Fetcher] that keeps tokens of its own, as [Shared] does for
// the fleet: a [Cache] tells it of each token it drops, so that the fetch that follows does not
// get the refused token back. Invalidate must be safe for concurrent use and return promptly.
type Invalidator interface {
	Invalidate(token string)
}

// Invalidate drops the cached token if it is still tok. It leaves alone a token that a fetch
// gave back unchanged after the previous Invalidate, for MinRefetch. When the fetcher is an
// [Invalidator], it is told first, once for all the callers that drop the same token together,
// and they all wait for it: the fetch that follows must not find the refused token there.
func (c *Cache) Invalidate(tok string) {
	c.mu.Lock()
	drop := c.droppable(tok)
	c.mu.Unlock()
	if !drop {
		return
	}
	if inv, ok := c.fetcher.(Invalidator); ok {
		// The key is only compared in memory; singleflight keeps no key once the call ends.
		c.flight.Do(invalidateKey+tok, func() (any, error) {
			inv.Invalidate(tok)
			return nil, nil
		})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.droppable(tok) {
		c.token, c.dropped = "", tok
	}
}

// droppable reports whether Invalidate(tok) drops the cached token. c.mu must be held.
func (c *Cache) droppable(tok string) bool {
	if tok == "" || tok != c.token {
		return false
	}
	return !c.reissued || !c.cfg.Now().Before(c.fetchedAt.Add(c.cfg.MinRefetch))
}

// Fetches returns how many fetches the cache has made, failed ones included.
func (c *Cache) Fetches() int64 { return c.fetches.Load() }

// String names the type only, so that printing a cache never shows its token.
func (c *Cache) String() string { return "token.Cache" }

// GoString is String, for %#v.
func (c *Cache) GoString() string { return c.String() }

// cached returns the token, or the failure still held, with ok; ok is false when a fetch is due.
func (c *Cache) cached() (tok string, ok bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now()
	held := now.Before(c.holdUntil)
	switch {
	case c.token != "" && now.Before(c.refreshAt):
		return c.token, true, nil
	case c.token != "" && now.Before(c.expiresAt) && held:
		return c.token, true, nil // the refresh failed lately; the old token still works
	case c.err != nil && held:
		return "", true, c.err
	}
	return "", false, nil
}

// fetch runs inside the single flight. It looks at the cache again first, since the fetch of
// another flight may have ended between this caller's look and its joining.
func (c *Cache) fetch(ctx context.Context) (string, error) {
	if tok, ok, err := c.cached(); ok {
		return tok, err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.FetchTimeout)
	defer cancel()
	start := c.cfg.Now()
	c.fetches.Add(1)
	tok, ttl, err := c.fetcher.Fetch(ctx)
	err = checkAnswer(tok, ttl, err)

	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.err = asRetry(err)
		c.holdUntil = c.cfg.Now().Add(c.cfg.MinRefetch)
		if c.token != "" && c.cfg.Now().Before(c.expiresAt) {
			return c.token, nil
		}
		return "", c.err
	}
	c.token, c.fetchedAt, c.err, c.holdUntil = tok, start, nil, time.Time{}
	c.reissued, c.dropped = tok == c.dropped, ""
	c.expiresAt = start.Add(ttl)
	c.refreshAt = start.Add(refreshAfter(ttl, c.cfg.RefreshBefore))
	return tok, nil
}

// refreshAfter is how long after its fetch a token of lifetime ttl is refreshed: before ahead of
// expiry, but never before half its life.
func refreshAfter(ttl, before time.Duration) time.Duration {
	if before > ttl/2 {
		return ttl / 2
	}
	return ttl - before
}

// checkAnswer returns err, or for an answer without a token or a lifetime, a failure with code
// "token:unexpected_answer".
func checkAnswer(tok string, ttl time.Duration, err error) error {
	if err == nil && (tok == "" || ttl <= 0) {
		err = failure(dispatcher.CodeUnexpectedAnswer, 0, "the token API gave no token or no lifetime")
	}
	return err
}
