package token_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/token"
)

// clock is a fake time source that tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// script is a fetcher whose answers tests set: it hands out tok-1, tok-2, ... with ttl, or fails
// with err, and counts its calls.
type script struct {
	mu    sync.Mutex
	calls int
	ttl   time.Duration
	err   error
	same  bool // hand out tok-1 every time, as DingTalk does within a token's two hours
}

func (s *script) Fetch(context.Context) (string, time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		return "", 0, s.err
	}
	if s.same {
		return "tok-1", s.ttl, nil
	}
	return fmt.Sprintf("tok-%d", s.calls), s.ttl, nil
}

func (s *script) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func mustToken(t *testing.T, c *token.Cache) string {
	t.Helper()
	tok, err := c.Token(context.Background())
	if err != nil {
		t.Fatalf("Token() = %v", err)
	}
	return tok
}

func TestCacheRefresh(t *testing.T) {
	tests := []struct {
		name          string
		ttl           time.Duration
		refreshBefore time.Duration
		after         time.Duration // time passed since the first fetch
		wantToken     string
	}{
		{"fresh", 2 * time.Hour, 0, 0, "tok-1"},
		{"just before the default 5 min window", 2 * time.Hour, 0, 2*time.Hour - 5*time.Minute - time.Second, "tok-1"},
		{"inside the default 5 min window", 2 * time.Hour, 0, 2*time.Hour - 5*time.Minute, "tok-2"},
		{"expired", 2 * time.Hour, 0, 3 * time.Hour, "tok-2"},
		{"custom window", 2 * time.Hour, 30 * time.Minute, 90 * time.Minute, "tok-2"},
		{"negative window: at expiry, before", 2 * time.Hour, -1, 2*time.Hour - time.Second, "tok-1"},
		{"negative window: at expiry", 2 * time.Hour, -1, 2 * time.Hour, "tok-2"},
		{"short life: at half, before", 4 * time.Minute, 0, 2*time.Minute - time.Second, "tok-1"},
		{"short life: at half", 4 * time.Minute, 0, 2 * time.Minute, "tok-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			f := &script{ttl: tt.ttl}
			c := token.NewCache(f, token.CacheConfig{RefreshBefore: tt.refreshBefore, Now: clk.Now})
			if tok := mustToken(t, c); tok != "tok-1" {
				t.Fatalf("first Token() = %q", tok)
			}
			clk.Add(tt.after)
			if tok := mustToken(t, c); tok != tt.wantToken {
				t.Errorf("Token() after %v = %q, want %q", tt.after, tok, tt.wantToken)
			}
			wantFetches := int64(1)
			if tt.wantToken == "tok-2" {
				wantFetches = 2
			}
			if n := c.Fetches(); n != wantFetches {
				t.Errorf("%d fetches, want %d", n, wantFetches)
			}
		})
	}
}

func TestCacheSingleFlight(t *testing.T) {
	const callers = 50
	release := make(chan struct{})
	var calls atomic.Int64
	c := token.NewCache(token.FetcherFunc(func(context.Context) (string, time.Duration, error) {
		calls.Add(1)
		<-release
		return "tok-1", time.Hour, nil
	}), token.CacheConfig{})

	var wg sync.WaitGroup
	toks := make(chan string, callers)
	for range callers {
		wg.Go(func() {
			tok, err := c.Token(context.Background())
			if err != nil {
				t.Error(err)
			}
			toks <- tok
		})
	}
	close(release)
	wg.Wait()
	close(toks)
	for tok := range toks {
		if tok != "tok-1" {
			t.Errorf("Token() = %q", tok)
		}
	}
	if n := calls.Load(); n != 1 || c.Fetches() != 1 {
		t.Errorf("%d fetches (cache says %d) for %d callers, want 1", n, c.Fetches(), callers)
	}
}

func TestCacheInvalidate(t *testing.T) {
	tests := []struct {
		name        string
		invalidate  []string
		wantToken   string
		wantFetches int64
	}{
		{"current token", []string{"tok-1"}, "tok-2", 2},
		{"stale token", []string{"tok-0"}, "tok-1", 1},
		{"empty", []string{""}, "tok-1", 1},
		{"many invalidations of one token: one refetch", []string{"tok-1", "tok-1", "tok-1", "tok-1"}, "tok-2", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := token.NewCache(&script{ttl: time.Hour}, token.CacheConfig{})
			mustToken(t, c)
			var wg sync.WaitGroup
			for _, tok := range tt.invalidate {
				wg.Go(func() { c.Invalidate(tok) })
			}
			wg.Wait()
			if tok := mustToken(t, c); tok != tt.wantToken {
				t.Errorf("Token() = %q, want %q", tok, tt.wantToken)
			}
			// The refused token again, as from sends that were in flight: no further fetch.
			for _, tok := range tt.invalidate {
				c.Invalidate(tok)
			}
			if tok := mustToken(t, c); tok != tt.wantToken || c.Fetches() != tt.wantFetches {
				t.Errorf("Token() = %q after %d fetches, want %q after %d", tok, c.Fetches(), tt.wantToken, tt.wantFetches)
			}
		})
	}
}

func TestCacheInvalidateReissuedToken(t *testing.T) {
	clk := newClock()
	f := &script{ttl: time.Hour, same: true}
	c := token.NewCache(f, token.CacheConfig{Now: clk.Now})
	mustToken(t, c)
	c.Invalidate("tok-1")
	mustToken(t, c) // fetch 2 gives tok-1 back
	steps := []struct {
		name        string
		wait        time.Duration
		wantFetches int64
	}{
		{"refusals in flight right after the re-issue: kept", 0, 2},
		{"a refusal after MinRefetch: dropped", time.Second, 3},
	}
	for _, s := range steps {
		clk.Add(s.wait)
		c.Invalidate("tok-1")
		c.Invalidate("tok-1")
		mustToken(t, c)
		if n := c.Fetches(); n != s.wantFetches {
			t.Errorf("%s: %d fetches, want %d", s.name, n, s.wantFetches)
		}
	}
}

func TestCacheFetchFailure(t *testing.T) {
	clk := newClock()
	refused := &dispatcher.Error{Decision: dispatcher.Reject, Code: "invalidClientIdOrSecret", HTTPStatus: 400, Message: "bad"}
	f := &script{ttl: time.Hour, err: refused}
	c := token.NewCache(f, token.CacheConfig{Now: clk.Now})

	check := func(step string, wantFetches int64) {
		t.Helper()
		_, err := c.Token(context.Background())
		var de *dispatcher.Error
		if !errors.As(err, &de) || de.Decision != dispatcher.Retry || de.Code != "token:invalidClientIdOrSecret" {
			t.Errorf("%s: Token() = %v, want a retry with code token:invalidClientIdOrSecret", step, err)
		}
		if n := c.Fetches(); n != wantFetches {
			t.Errorf("%s: %d fetches, want %d", step, n, wantFetches)
		}
	}
	check("first", 1)
	check("held", 1)
	clk.Add(time.Second)
	check("after MinRefetch", 2)
	if refused.Decision != dispatcher.Reject {
		t.Error("the cache changed the fetcher's error")
	}

	f.fail(nil)
	clk.Add(time.Second)
	if tok := mustToken(t, c); tok != "tok-3" {
		t.Errorf("Token() after recovery = %q", tok)
	}
}

func TestCacheKeepsValidTokenWhenRefreshFails(t *testing.T) {
	clk := newClock()
	f := &script{ttl: time.Hour}
	c := token.NewCache(f, token.CacheConfig{Now: clk.Now})
	mustToken(t, c)
	f.fail(errors.New("connection refused"))
	clk.Add(time.Hour - time.Minute) // inside the refresh window, not expired
	if tok := mustToken(t, c); tok != "tok-1" {
		t.Errorf("Token() = %q, want the old tok-1", tok)
	}
	if tok := mustToken(t, c); tok != "tok-1" || c.Fetches() != 2 {
		t.Errorf("Token() = %q after %d fetches; want tok-1 after 2 (failure held)", tok, c.Fetches())
	}
	clk.Add(2 * time.Minute) // expired
	if _, err := c.Token(context.Background()); err == nil || dispatcher.DecisionOf(err) != dispatcher.Retry {
		t.Errorf("Token() after expiry = %v, want a retry error", err)
	}
}

func TestCacheNoLifetime(t *testing.T) {
	c := token.NewCache(token.FetcherFunc(func(context.Context) (string, time.Duration, error) {
		return "tok", 0, nil
	}), token.CacheConfig{})
	_, err := c.Token(context.Background())
	var de *dispatcher.Error
	if !errors.As(err, &de) || de.Decision != dispatcher.Retry || de.Code != "token:unexpected_answer" {
		t.Errorf("Token() = %v, want a retry with code token:unexpected_answer", err)
	}
}

func TestCacheCallerGivesUp(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	c := token.NewCache(token.FetcherFunc(func(ctx context.Context) (string, time.Duration, error) {
		close(started)
		<-release
		return "tok-1", time.Hour, ctx.Err()
	}), token.CacheConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	if _, err := c.Token(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Token() = %v, want context.Canceled", err)
	}
	close(release) // the fetch goes on for the others, unaffected by the first caller's cancel
	if tok := mustToken(t, c); tok != "tok-1" || c.Fetches() != 1 {
		t.Errorf("Token() = %q after %d fetches, want tok-1 after 1", tok, c.Fetches())
	}
}

func TestCacheErrorHasNoSecret(t *testing.T) {
	srv, _ := tokenServer(t, 400, `{"code":"invalidClientIdOrSecret","message":"secret `+appSecret+` is wrong"}`)
	f := token.NewAPIFetcher(srv.URL, appKey, appSecret, srv.Client())
	_, err := token.NewCache(f, token.CacheConfig{}).Token(context.Background())
	if dispatcher.DecisionOf(err) != dispatcher.Retry || strings.Contains(err.Error(), appSecret) {
		t.Errorf("Token() = %v, want a retry without the secret", err)
	}
}

func TestStatic(t *testing.T) {
	s := token.Static("kdocs-tok")
	s.Invalidate("kdocs-tok")
	if tok, err := s.Token(context.Background()); tok != "kdocs-tok" || err != nil {
		t.Errorf("Token() = %q, %v", tok, err)
	}
	_, err := token.Static("").Token(context.Background())
	var de *dispatcher.Error
	if !errors.As(err, &de) || de.Decision != dispatcher.Retry || de.Code != "token:empty" {
		t.Errorf("empty Static Token() = %v, want a retry with code token:empty", err)
	}
}
