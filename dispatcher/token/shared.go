package token

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/kv"
)

// SharedConfig tunes a [Shared]. The zero value is ready to use.
type SharedConfig struct {
	// RefreshBefore is how long before its expiry a shared token is no longer handed out but
	// fetched anew, by the rule of [CacheConfig.RefreshBefore]; give both the same value, or the
	// cache asks for a token the bucket still deems fresh. Default 5 minutes; negative means at
	// expiry.
	RefreshBefore time.Duration
	// LockTimeout is how long one worker's fetch keeps the others waiting before one of them takes
	// the fetch over, so that a worker that died while fetching does not hold up the fleet. A
	// fetch taken over too early costs one more fetch (DingTalk gives the same token back); too
	// late, and the waiters' callers give up first (a [Cache] waits FetchTimeout, 10 s). Default
	// 5 s.
	LockTimeout time.Duration
	// OpTimeout bounds each key-value operation; one that takes longer counts as the bucket being
	// unavailable. Default 2 s.
	OpTimeout time.Duration
	// OnBucketError, when set, is called with each key-value failure that made Shared do without
	// the bucket: a direct fetch, a fetched token not shared, a refused token dropped in this
	// process only. The error names no token or secret. It runs on the caller's goroutine and
	// should return quickly. Default nil.
	OnBucketError func(error)
	// Now tells the time that token lifetimes are measured by, for tests; the age of a fetch lock
	// is measured by the real clock. Default time.Now.
	Now func() time.Time
}

func (c SharedConfig) withDefaults() SharedConfig {
	c.RefreshBefore = orDefault(c.RefreshBefore, 5*time.Minute)
	if c.LockTimeout <= 0 {
		c.LockTimeout = 5 * time.Second
	}
	if c.OpTimeout <= 0 {
		c.OpTimeout = 2 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Pauses between two looks at a fetch another worker holds: doubling from the first to the last.
const (
	pauseFirst = 10 * time.Millisecond
	pauseMax   = 250 * time.Millisecond
)

// Shared is a [Fetcher] that shares one app's token with every worker through a key-value bucket,
// so that the fleet fetches it once per refresh; the package documentation describes how. Put a
// [Cache] in front of it: Shared keeps nothing in memory and reads the bucket on every Fetch. It
// is an [Invalidator], so the cache's Invalidate drops a refused token for the whole fleet. It is
// safe for concurrent use; printing it shows its key only.
type Shared struct {
	kv      jetstream.KeyValue
	key     string
	lockKey string
	fetcher Fetcher
	cfg     SharedConfig
	holder  string // names this Shared in the fetch locks it takes
}

var (
	_ Fetcher     = (*Shared)(nil)
	_ Invalidator = (*Shared)(nil)
)

// NewShared returns a fetcher that shares the tokens of f under key (see [SharedKey]) in the
// bucket kv, which keeps the latest value of each key only. The bucket holds live access tokens:
// give it the access rules of the app secret. kv and f must not be nil.
func NewShared(kv jetstream.KeyValue, key string, f Fetcher, cfg SharedConfig) *Shared {
	var id [8]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails
	return &Shared{
		kv:      kv,
		key:     key,
		lockKey: key + lockSuffix,
		fetcher: f,
		cfg:     cfg.withDefaults(),
		holder:  hex.EncodeToString(id[:]),
	}
}

// SharedKey returns the bucket key of an app's token from one token API: api ("api" for
// [NewAPIFetcher], "oapi" for [NewOAPIFetcher]; letters, digits, '-' and '_'), a dot, and the
// first 16 hex digits of the SHA-256 of appKey, so that the bucket's keys do not show the apps.
// The fetch lock is the same key with ".lock" appended.
func SharedKey(api, appKey string) string {
	sum := sha256.Sum256([]byte(appKey))
	return api + "." + hex.EncodeToString(sum[:8])
}

// lockSuffix ends the key of a token's fetch lock: "<key>.lock".
const lockSuffix = ".lock"

// sharedEntry is the shared token as stored: the token, when its fetch began and when it expires,
// by the clock of the worker that fetched it.
type sharedEntry struct {
	Token   string    `json:"token"`
	Fetched time.Time `json:"fetched"`
	Expires time.Time `json:"expires"`
}

// lockRecord is the value of the fetch lock: which Shared holds it and, once its fetch failed,
// the failure's code and HTTP status, which free the lock and tell the waiting workers why.
type lockRecord struct {
	Holder string `json:"holder"`
	Failed string `json:"failed,omitempty"`
	Status int    `json:"status,omitempty"`
}

// bucketError is a key-value failure: Fetch then fetches directly.
type bucketError struct{ err error }

func (e *bucketError) Error() string { return "token bucket: " + e.err.Error() }
func (e *bucketError) Unwrap() error { return e.err }

// Fetch returns the shared token when it has more than RefreshBefore of its life left. Otherwise
// it takes the fleet's fetch lock and fetches, or waits for the worker that holds the lock; if
// that worker's fetch fails, it returns that failure (code and HTTP status, with
// [dispatcher.Retry]) rather than ask the token API again. It gives up when ctx ends. When the
// bucket cannot be used, it fetches directly.
func (s *Shared) Fetch(ctx context.Context) (string, time.Duration, error) {
	tok, ttl, err := s.fetchShared(ctx)
	var be *bucketError
	if !errors.As(err, &be) || ctx.Err() != nil {
		return tok, ttl, err
	}
	s.bucketFailed(be)
	return s.fetcher.Fetch(ctx)
}

// Invalidate drops the shared token if it is still tok. The delete is revision-checked: of the
// workers that find tok refused, the first drops it and the others find it gone or replaced. It
// waits for the bucket, at most OpTimeout.
func (s *Shared) Invalidate(tok string) {
	if tok == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.OpTimeout)
	defer cancel()
	e, err := s.get(ctx, s.key)
	if err != nil {
		s.bucketFailed(err)
		return
	}
	if e == nil || decodeEntry(e.Value()).Token != tok {
		return
	}
	err = s.kv.Delete(ctx, s.key, jetstream.LastRevision(e.Revision()))
	if err != nil && !kv.IsConflict(err) {
		s.bucketFailed(&bucketError{fmt.Errorf("delete %s: %w", s.key, err)})
	}
}

// String names the fetcher by its key, so that printing it never shows a token.
func (s *Shared) String() string { return "token.Shared(" + s.key + ")" }

// GoString is String, for %#v.
func (s *Shared) GoString() string { return s.String() }

// fetchShared looks for a fresh shared token, else fetches under the lock or waits for the
// worker that holds it, until one of these succeeds, a fetch fails, ctx ends or the bucket fails.
func (s *Shared) fetchShared(ctx context.Context) (string, time.Duration, error) {
	var w wait
	for {
		tok, ttl, ok, err := s.lookup(ctx)
		if err != nil || ok {
			return tok, ttl, err
		}
		rev, err := s.lock(ctx, &w)
		if err != nil {
			return "", 0, err
		}
		if rev != 0 {
			return s.fetchLocked(ctx, rev)
		}
		if err := w.pause(ctx); err != nil {
			return "", 0, err
		}
	}
}

// lookup reads the shared token; ok reports that it has more than RefreshBefore of its life left.
func (s *Shared) lookup(ctx context.Context) (tok string, ttl time.Duration, ok bool, err error) {
	e, err := s.get(ctx, s.key)
	if e == nil || err != nil {
		return "", 0, false, err
	}
	v := decodeEntry(e.Value())
	now := s.cfg.Now()
	refreshAt := v.Fetched.Add(refreshAfter(v.Expires.Sub(v.Fetched), s.cfg.RefreshBefore))
	if v.Token == "" || !now.Before(refreshAt) {
		return "", 0, false, nil
	}
	return v.Token, v.Expires.Sub(now), true, nil
}

// lock tries to take the fleet's fetch lock, and returns its revision when this worker has it, 0
// when another worker holds it. A lock whose fetch failed is free, unless this worker was waiting
// for that fetch: then the failure is returned. A lock held past LockTimeout is taken over.
func (s *Shared) lock(ctx context.Context, w *wait) (uint64, error) {
	e, err := s.get(ctx, s.lockKey)
	if err != nil {
		return 0, err
	}
	var rev uint64 // of the lock to replace; 0: create it
	if e != nil {
		var rec lockRecord
		_ = json.Unmarshal(e.Value(), &rec) // a record that does not decode is a lock held
		switch {
		case rec.Failed != "" && w.waited():
			return 0, failure(rec.Failed, rec.Status, "the fetch of the worker that held the shared token's lock failed")
		case rec.Failed == "" && !w.stale(e, s.cfg.LockTimeout):
			return 0, nil
		}
		rev = e.Revision()
	}
	rev, err = s.write(ctx, s.lockKey, lockRecord{Holder: s.holder}, rev)
	if kv.IsConflict(err) {
		return 0, nil // another worker took it first
	}
	return rev, err
}

// fetchLocked fetches under the fetch lock of revision rev, shares the token, and releases the
// lock; after a failure it leaves the failure in the lock instead.
func (s *Shared) fetchLocked(ctx context.Context, rev uint64) (string, time.Duration, error) {
	// Another worker may have shared a token between this one's look and its lock.
	if tok, ttl, ok, err := s.lookup(ctx); err == nil && ok {
		s.unlock(ctx, rev, nil)
		return tok, ttl, nil
	}
	start := s.cfg.Now()
	tok, ttl, err := s.fetcher.Fetch(ctx)
	if err = checkAnswer(tok, ttl, err); err != nil {
		s.unlock(ctx, rev, err)
		return "", 0, err
	}
	// The token is shared even if the caller has given up meanwhile: the others need it.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.OpTimeout)
	defer cancel()
	if _, err := s.kv.Put(wctx, s.key, encode(sharedEntry{tok, start, start.Add(ttl)})); err != nil {
		s.bucketFailed(&bucketError{fmt.Errorf("put %s: %w", s.key, err)})
	}
	s.unlock(ctx, rev, nil)
	return tok, ttl, nil
}

// unlock deletes the fetch lock of revision rev or, after a failed fetch, replaces it with a
// record of the failure. Either only if the lock is still this worker's.
func (s *Shared) unlock(ctx context.Context, rev uint64, failed error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.OpTimeout)
	defer cancel()
	if failed != nil {
		if _, err := s.write(ctx, s.lockKey, failedRecord(s.holder, failed), rev); err != nil && !kv.IsConflict(err) {
			s.bucketFailed(err)
		}
		return
	}
	if err := s.kv.Delete(ctx, s.lockKey, jetstream.LastRevision(rev)); err != nil && !kv.IsConflict(err) {
		s.bucketFailed(&bucketError{fmt.Errorf("delete %s: %w", s.lockKey, err)})
	}
}

// failedRecord is the lock record of a failed fetch: the failure's code (with "token:"), and
// "token:fetch_failed" for a failure without a code, such as a network error.
func failedRecord(holder string, err error) lockRecord {
	rec := lockRecord{Holder: holder, Failed: codePrefix + "fetch_failed"}
	var de *dispatcher.Error
	if errors.As(err, &de) {
		rec.Failed = codePrefix + strings.TrimPrefix(de.Code, codePrefix)
		rec.Status = de.HTTPStatus
	}
	return rec
}

// get reads key within OpTimeout: a missing key is a nil entry, any other failure a *bucketError.
func (s *Shared) get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
	defer cancel()
	e, err := s.kv.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return nil, nil
	case err != nil:
		return nil, &bucketError{fmt.Errorf("get %s: %w", key, err)}
	}
	return e, nil
}

// write stores rec under key if the key's latest revision is rev (0: if the key has no value)
// within OpTimeout. A revision conflict is returned as it is, any other failure as a
// *bucketError.
func (s *Shared) write(ctx context.Context, key string, rec lockRecord, rev uint64) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
	defer cancel()
	var err error
	if rev == 0 {
		rev, err = s.kv.Create(ctx, key, encode(rec))
	} else {
		rev, err = s.kv.Update(ctx, key, encode(rec), rev)
	}
	if err != nil && !kv.IsConflict(err) {
		err = &bucketError{fmt.Errorf("write %s: %w", key, err)}
	}
	return rev, err
}

// bucketFailed reports err to OnBucketError.
func (s *Shared) bucketFailed(err error) {
	if s.cfg.OnBucketError != nil {
		s.cfg.OnBucketError(err)
	}
}

// decodeEntry decodes a shared token; one that does not decode has no token.
func decodeEntry(b []byte) sharedEntry {
	var v sharedEntry
	if json.Unmarshal(b, &v) != nil {
		return sharedEntry{}
	}
	return v
}

// encode marshals a value of ours, which cannot fail.
func encode(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// wait is one Fetch's view of the fetch lock another worker holds.
type wait struct {
	rev   uint64        // the lock's revision last seen held
	since time.Time     // when this worker first saw that revision
	delay time.Duration // the last pause
}

// waited reports whether this worker has seen another hold the lock.
func (w *wait) waited() bool { return w.rev != 0 }

// stale reports whether the held lock e is older than bound. Its age is taken by the server's
// clock and by how long this worker has seen it, whichever is longer: a clock that is off can
// cost one more fetch, but never keep the fleet waiting beyond bound.
func (w *wait) stale(e jetstream.KeyValueEntry, bound time.Duration) bool {
	now := time.Now()
	if e.Revision() != w.rev {
		w.rev, w.since = e.Revision(), now
	}
	return now.Sub(w.since) >= bound || now.Sub(e.Created()) >= bound
}

// pause waits before the next look, longer each time, or until ctx ends.
func (w *wait) pause(ctx context.Context) error {
	w.delay = min(max(2*w.delay, pauseFirst), pauseMax)
	t := time.NewTimer(w.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for the shared token: %w", context.Cause(ctx))
	}
}
