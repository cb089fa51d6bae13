package token_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/sandbox"
	"github.com/dingq/dingq/dispatcher/token"
	"github.com/dingq/dingq/worker/embedded"
	"github.com/dingq/dingq/worker/workertest"
)

// testBucket is the token bucket of every test.
const testBucket = "TEST_TOKENS"

// waitLimit bounds every wait for something the test expects to happen.
const waitLimit = 10 * time.Second

// tokenAPI is a new-style token API that counts its fetches and hands out tok-1, tok-2, ...,
// each living ttl. Answers wait until the channel in release is closed (it starts closed).
type tokenAPI struct {
	*httptest.Server
	ttl     time.Duration
	fetches atomic.Int64
	refuse  atomic.Bool   // answer HTTP 400 invalidClientIdOrSecret
	arrived chan struct{} // one value per request, when there is room
	release atomic.Pointer[chan struct{}]
}

func newTokenAPI(t *testing.T, ttl time.Duration) *tokenAPI {
	t.Helper()
	api := &tokenAPI{ttl: ttl, arrived: make(chan struct{}, 16)}
	api.hold()()
	api.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := api.fetches.Add(1)
		select {
		case api.arrived <- struct{}{}:
		default:
		}
		select {
		case <-*api.release.Load():
		case <-r.Context().Done():
			return
		}
		if api.refuse.Load() {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"code":"invalidClientIdOrSecret","message":"bad secret `+appSecret+`"}`)
			return
		}
		_, _ = fmt.Fprintf(w, `{"accessToken":"tok-%d","expireIn":%d}`, n, int64(api.ttl/time.Second))
	}))
	t.Cleanup(api.Close)
	return api
}

// hold makes the answers wait until the returned function is called.
func (api *tokenAPI) hold() (release func()) {
	ch := make(chan struct{})
	api.release.Store(&ch)
	return func() { close(ch) }
}

// fleet is a NATS server with the token bucket, and a token API, that workers share.
type fleet struct {
	t     *testing.T
	srv   *embedded.Server
	admin *nats.Conn         // the test's own connection
	kv    jetstream.KeyValue // the bucket, on admin
	url   string             // the token API
	key   string             // the app's key in the bucket
}

func newFleet(t *testing.T, tokenURL string) *fleet {
	t.Helper()
	srv, nc, js := workertest.StartNATS(t, workertest.ConnOptions(nats.Timeout(waitLimit)))
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: testBucket, History: 1, TTL: 3 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return &fleet{t: t, srv: srv, admin: nc, kv: kv, url: tokenURL, key: token.SharedKey("api", appKey)}
}

// connect opens a connection of its own, as a worker process would.
func connect(t *testing.T, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	return workertest.Connect(t, url, nats.Timeout(waitLimit))
}

// worker is one worker process's view of an app's token: a connection, an HTTP client, a Shared
// fetcher and a Cache of its own.
type worker struct {
	shared *token.Shared
	cache  *token.Cache
}

// worker starts a worker. Unless scfg says otherwise, its key-value operations and the fetch
// lock it takes time out only after a minute, so that a slow machine does not make it fall back
// to a direct fetch or take another worker's fetch over.
func (f *fleet) worker(scfg token.SharedConfig, ccfg token.CacheConfig) *worker {
	f.t.Helper()
	if scfg.OpTimeout == 0 {
		scfg.OpTimeout = time.Minute
	}
	if scfg.LockTimeout == 0 {
		scfg.LockTimeout = time.Minute
	}
	_, js := connect(f.t, f.srv.ClientURL())
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	kv, err := js.KeyValue(ctx, testBucket)
	if err != nil {
		f.t.Fatal(err)
	}
	client := dispatcher.NewHTTPClient(0, 0)
	f.t.Cleanup(client.CloseIdleConnections)
	shared := token.NewShared(kv, f.key, token.NewAPIFetcher(f.url, appKey, appSecret, client), scfg)
	return &worker{shared: shared, cache: token.NewCache(shared, ccfg)}
}

func (f *fleet) workers(n int, scfg token.SharedConfig, ccfg token.CacheConfig) []*worker {
	ws := make([]*worker, n)
	for i := range ws {
		ws[i] = f.worker(scfg, ccfg)
	}
	return ws
}

// lockWaiters reports each worker (by its connection's inbox) that has read the fetch lock twice.
// A worker that finds another holding the lock pauses and reads it again; by its second read it
// has taken in the first, and knows whose fetch it waits for. (A worker that lost the race to
// create the lock has read it twice too, and waits all the same.)
func (f *fleet) lockWaiters() <-chan string {
	f.t.Helper()
	waiters := make(chan string, 16)
	var mu sync.Mutex
	reads := map[string]int{}
	subject := "$JS.API.DIRECT.GET.KV_" + testBucket + ".$KV." + testBucket + "." + f.key + ".lock"
	_, err := f.admin.Subscribe(subject, func(m *nats.Msg) {
		inbox, _, _ := strings.Cut(strings.TrimPrefix(m.Reply, "_INBOX."), ".")
		mu.Lock()
		defer mu.Unlock()
		if reads[inbox]++; reads[inbox] == 2 {
			waiters <- inbox
		}
	})
	if err == nil {
		err = f.admin.Flush()
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return waiters
}

// receive waits for n values on ch.
func receive[T any](t *testing.T, ch <-chan T, n int, what string) {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for i := range n {
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("%s: %d of %d within %v", what, i, n, waitLimit)
		}
	}
}

// result is what one worker's Token call gave.
type result struct {
	tok string
	err error
}

// tokens calls get for every worker at once and returns the results in the workers' order.
func tokens(ws []*worker, get func(w *worker) (string, error)) []result {
	out := make([]result, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Go(func() {
			tok, err := get(w)
			out[i] = result{tok, err}
		})
	}
	wg.Wait()
	return out
}

func cacheToken(w *worker) (string, error) { return w.cache.Token(context.Background()) }

// sameToken fails unless every result is want, without error.
func sameToken(t *testing.T, rs []result, want string) {
	t.Helper()
	for i, r := range rs {
		if r.err != nil || r.tok != want {
			t.Errorf("worker %d: Token() = %q, %v; want %q", i, r.tok, r.err, want)
		}
	}
}

// lockGone fails unless the fetch lock has been released.
func (f *fleet) lockGone() {
	f.t.Helper()
	_, err := f.kv.Get(context.Background(), f.key+".lock")
	if !errors.Is(err, jetstream.ErrKeyNotFound) {
		f.t.Errorf("fetch lock: Get() = %v, want it gone", err)
	}
}

func TestSharedColdStartFetchesOnce(t *testing.T) {
	api := newTokenAPI(t, 2*time.Hour)
	f := newFleet(t, api.URL)
	ws := f.workers(3, token.SharedConfig{}, token.CacheConfig{})
	waiters := f.lockWaiters()
	release := api.hold()

	done := make(chan []result, 1)
	go func() { done <- tokens(ws, cacheToken) }()
	// One worker fetches; hold its answer until the two others wait for it.
	receive(t, api.arrived, 1, "fetches")
	receive(t, waiters, 2, "workers waiting for the lock")
	release()
	sameToken(t, <-done, "tok-1")
	if n := api.fetches.Load(); n != 1 {
		t.Errorf("%d fetches for 3 workers, want 1", n)
	}
	f.lockGone()
	bucketHasNoSecret(t, f)
}

// bucketHasNoSecret fails if any key or value in the bucket shows the app key or secret.
func bucketHasNoSecret(t *testing.T, f *fleet) {
	t.Helper()
	ctx := context.Background()
	keys, err := f.kv.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		e, err := f.kv.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if s := k + " " + string(e.Value()); strings.Contains(s, appKey) || strings.Contains(s, appSecret) {
			t.Errorf("bucket entry %s", s)
		}
	}
}

func TestSharedFetchFailureIsShared(t *testing.T) {
	api := newTokenAPI(t, 2*time.Hour)
	api.refuse.Store(true)
	f := newFleet(t, api.URL)
	ws := f.workers(3, token.SharedConfig{}, token.CacheConfig{MinRefetch: -1})
	release := api.hold()

	// The first worker fetches; hold its answer until the two others have found it fetching.
	first := make(chan []result, 1)
	go func() { first <- tokens(ws[:1], cacheToken) }()
	receive(t, api.arrived, 1, "fetches")
	waiters := f.lockWaiters()
	others := make(chan []result, 1)
	go func() { others <- tokens(ws[1:], cacheToken) }()
	receive(t, waiters, 2, "workers waiting for the lock")
	release()
	for i, r := range append(<-first, <-others...) {
		var de *dispatcher.Error
		if !errors.As(r.err, &de) || de.Decision != dispatcher.Retry || de.Code != "token:invalidClientIdOrSecret" ||
			strings.Contains(r.err.Error(), appSecret) {
			t.Errorf("worker %d: Token() = %q, %v; want a retry with code token:invalidClientIdOrSecret", i, r.tok, r.err)
		}
	}
	if n := api.fetches.Load(); n != 1 {
		t.Errorf("%d fetches for 3 workers, want 1: the waiting workers should return the failure", n)
	}

	// The failure left in the lock does not hold up the next fetch.
	api.refuse.Store(false)
	if tok, err := ws[1].cache.Token(context.Background()); tok != "tok-2" || err != nil {
		t.Errorf("Token() after the failure = %q, %v; want tok-2", tok, err)
	}
	f.lockGone()
}

func TestSharedInvalidateOnceForFleet(t *testing.T) {
	sb, err := sandbox.New(sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	f := newFleet(t, srv.URL)
	ws := f.workers(3, token.SharedConfig{}, token.CacheConfig{})

	first := tokens(ws, cacheToken)
	tok1 := first[0].tok
	sameToken(t, first, tok1)
	if n := sb.TokenFetches(); n != 1 {
		t.Fatalf("%d fetches for 3 cold workers, want 1", n)
	}

	// DingTalk ends the token; every worker's sends find it refused at once.
	sb.ExpireTokens()
	second := tokens(ws, func(w *worker) (string, error) {
		w.cache.Invalidate(tok1)
		return w.cache.Token(context.Background())
	})
	tok2 := second[0].tok
	if tok2 == tok1 {
		t.Fatalf("Token() after the refusal = the refused token")
	}
	sameToken(t, second, tok2)
	if n := sb.TokenFetches(); n != 2 {
		t.Errorf("%d fetches after 3 workers invalidated the same token, want 2", n)
	}

	// Refusals of sends that were in flight with the old token, in the caches and in the bucket.
	late := tokens(ws, func(w *worker) (string, error) {
		w.cache.Invalidate(tok1)
		w.shared.Invalidate(tok1)
		return w.cache.Token(context.Background())
	})
	sameToken(t, late, tok2)
	if n := sb.TokenFetches(); n != 2 {
		t.Errorf("%d fetches after late refusals of the old token, want still 2", n)
	}
}

func TestSharedRefreshNearExpiry(t *testing.T) {
	api := newTokenAPI(t, 10*time.Minute) // refreshed at half its life: RefreshBefore is 5 min
	f := newFleet(t, api.URL)
	clk := newClock()
	ws := f.workers(3, token.SharedConfig{Now: clk.Now}, token.CacheConfig{Now: clk.Now})
	sameToken(t, tokens(ws, cacheToken), "tok-1")

	clk.Add(4 * time.Minute)
	tok, ttl, err := ws[0].shared.Fetch(context.Background())
	if tok != "tok-1" || ttl != 6*time.Minute || err != nil {
		t.Errorf("Fetch() at 4 min = %q, %v, %v; want the shared tok-1 with 6 min left", tok, ttl, err)
	}

	clk.Add(2 * time.Minute)
	sameToken(t, tokens(ws, cacheToken), "tok-2")
	if n := api.fetches.Load(); n != 2 {
		t.Errorf("%d fetches, want 2: one at the start, one for the refresh", n)
	}
}

// plantLock leaves a fetch lock as a worker that died while fetching would.
func (f *fleet) plantLock() {
	f.t.Helper()
	if _, err := f.kv.Create(context.Background(), f.key+".lock", []byte(`{"holder":"gone"}`)); err != nil {
		f.t.Fatal(err)
	}
}

func TestSharedStaleLockIsTakenOver(t *testing.T) {
	api := newTokenAPI(t, 2*time.Hour)
	f := newFleet(t, api.URL)
	f.plantLock()
	// The first worker takes the dead worker's lock over; the second, slower to judge a lock
	// stale, waits for the first.
	ws := []*worker{
		f.worker(token.SharedConfig{LockTimeout: 200 * time.Millisecond}, token.CacheConfig{}),
		f.worker(token.SharedConfig{LockTimeout: time.Hour}, token.CacheConfig{}),
	}
	sameToken(t, tokens(ws, cacheToken), "tok-1")
	if n := api.fetches.Load(); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
	f.lockGone()
}

func TestSharedLiveLockIsRespected(t *testing.T) {
	api := newTokenAPI(t, 2*time.Hour)
	f := newFleet(t, api.URL)
	w := f.worker(token.SharedConfig{LockTimeout: time.Hour}, token.CacheConfig{})
	f.plantLock()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := w.shared.Fetch(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Fetch() = %v, want to wait for the lock's holder until the deadline", err)
	}
	if n := api.fetches.Load(); n != 0 {
		t.Errorf("%d fetches while another worker holds the lock, want 0", n)
	}
}

func TestSharedFallsBackWithoutBucket(t *testing.T) {
	tests := []struct {
		name string
		cut  func(f *fleet)
	}{
		{"bucket deleted", func(f *fleet) {
			if err := jetstreamOf(f.t, f.admin).DeleteKeyValue(context.Background(), testBucket); err != nil {
				f.t.Fatal(err)
			}
		}},
		{"server down", func(f *fleet) { f.srv.Shutdown() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newTokenAPI(t, 2*time.Hour)
			f := newFleet(t, api.URL)
			var mu sync.Mutex
			var bucketErrs []error
			w := f.worker(token.SharedConfig{
				OpTimeout: 200 * time.Millisecond,
				OnBucketError: func(err error) {
					mu.Lock()
					defer mu.Unlock()
					bucketErrs = append(bucketErrs, err)
				},
			}, token.CacheConfig{})
			if tok := mustToken(t, w.cache); tok != "tok-1" {
				t.Fatalf("Token() = %q", tok)
			}

			tt.cut(f)
			w.cache.Invalidate("tok-1")
			if tok := mustToken(t, w.cache); tok != "tok-2" || api.fetches.Load() != 2 {
				t.Errorf("Token() without the bucket = %q after %d fetches, want tok-2 after 2", tok, api.fetches.Load())
			}
			mu.Lock()
			defer mu.Unlock()
			if len(bucketErrs) < 2 { // the invalidation and the fetch
				t.Errorf("OnBucketError called %d times, want at least 2", len(bucketErrs))
			}
			for _, err := range bucketErrs {
				if msg := err.Error(); strings.Contains(msg, "tok-") || strings.Contains(msg, appSecret) {
					t.Errorf("bucket error %q shows a token or the secret", msg)
				}
			}
		})
	}
}

func jetstreamOf(t *testing.T, nc *nats.Conn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func TestSharedKey(t *testing.T) {
	key := token.SharedKey("api", appKey)
	if !regexp.MustCompile(`^api\.[0-9a-f]{16}$`).MatchString(key) || strings.Contains(key, appKey) {
		t.Errorf("SharedKey(api, %s) = %q, want api. and 16 hex digits", appKey, key)
	}
	if oapi := token.SharedKey("oapi", appKey); oapi != "o"+key {
		t.Errorf("SharedKey(oapi, %s) = %q, want o%s", appKey, oapi, key)
	}
	if other := token.SharedKey("api", appKey+"2"); other == key {
		t.Errorf("SharedKey gives %q for another app too", other)
	}
	if again := token.SharedKey("api", appKey); again != key {
		t.Errorf("SharedKey is not stable: %q, then %q", key, again)
	}
}

func TestSharedPrintsNoToken(t *testing.T) {
	api := newTokenAPI(t, 2*time.Hour)
	f := newFleet(t, api.URL)
	w := f.worker(token.SharedConfig{}, token.CacheConfig{})
	mustToken(t, w.cache)
	for _, s := range []string{fmt.Sprint(w.shared), fmt.Sprintf("%#v", w.shared), fmt.Sprintf("%+v", w.shared)} {
		if strings.Contains(s, "tok-") || strings.Contains(s, appSecret) || strings.Contains(s, appKey) {
			t.Errorf("printed %q", s)
		}
	}
}

// invalidating is a fetcher that records the tokens it is told of, and whether the cache still
// handed out each one at the time.
type invalidating struct {
	script
	cache *token.Cache
	mu    sync.Mutex
	told  []string
	early []bool // the cache still gave the token out when told
}

func (f *invalidating) Invalidate(tok string) {
	cached, _ := f.cache.Token(context.Background())
	f.mu.Lock()
	defer f.mu.Unlock()
	f.told = append(f.told, tok)
	f.early = append(f.early, cached == tok)
}

func (f *invalidating) calls() ([]string, []bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.told...), append([]bool(nil), f.early...)
}

func TestCacheTellsFetcherOfInvalidate(t *testing.T) {
	clk := newClock()
	f := &invalidating{script: script{ttl: time.Hour, same: true}}
	f.cache = token.NewCache(f, token.CacheConfig{Now: clk.Now})
	c := f.cache
	mustToken(t, c)

	c.Invalidate("tok-0") // not the cached token
	c.Invalidate("")
	if told, _ := f.calls(); len(told) != 0 {
		t.Fatalf("fetcher told of %q, want nothing for tokens the cache does not hold", told)
	}
	c.Invalidate("tok-1")
	c.Invalidate("tok-1") // already dropped
	told, early := f.calls()
	if len(told) != 1 || told[0] != "tok-1" || !early[0] {
		t.Fatalf("fetcher told of %q (before the drop: %v), want tok-1 once, before the drop", told, early)
	}
	mustToken(t, c)       // the fetch gives tok-1 back
	c.Invalidate("tok-1") // kept for MinRefetch: not passed on either
	if told, _ := f.calls(); len(told) != 1 {
		t.Errorf("fetcher told of %q, want a re-issued token kept for MinRefetch", told)
	}
}
