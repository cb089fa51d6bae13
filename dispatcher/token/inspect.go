package token

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dingq/dingq/dispatcher/kv"
	"github.com/nats-io/nats.go/jetstream"
)

// SharedState is what the token bucket holds under one key ([SharedKey]: an app and token API),
// as [InspectShared] reads it: when the shared token was fetched and when it expires, and the
// fetch lock. It never holds the token: no field has it, so no printing or marshalling can show
// it.
type SharedState struct {
	// Key is the token's key in the bucket, e.g. "api.0123456789abcdef".
	Key string `json:"key"`
	// HasToken reports that a token is stored under Key. False while the first fetch is under
	// way (the key has a lock only), or when the stored value does not decode.
	HasToken bool `json:"has_token"`
	// Fetched is when the fetch of the stored token began, and Expires when the token expires,
	// both by the clock of the worker that fetched it; zero without a token.
	Fetched time.Time `json:"fetched,omitzero"`
	Expires time.Time `json:"expires,omitzero"`
	// Updated is when the token was stored, by the NATS server's clock; zero without a token.
	Updated time.Time `json:"updated,omitzero"`
	// Lock is the key's fetch lock, "<key>.lock"; nil when there is none.
	Lock *FetchLock `json:"lock,omitempty"`
}

// FetchLock is a token's fetch lock, as [InspectShared] reads it: the worker fetching the token
// holds it, or, once its fetch failed, it records the failure until the next fetch takes it over.
type FetchLock struct {
	// Holder names the [Shared] that took the lock: a random id of 16 hex digits, one per Shared;
	// "" when the lock's value does not decode (which the workers take as a lock held).
	Holder string `json:"holder,omitempty"`
	// Since is when the lock was taken or its failure recorded, by the NATS server's clock.
	Since time.Time `json:"since"`
	// Failed is the failed fetch's code ("token:<DingTalk's code>", or "token:fetch_failed"),
	// and Status its HTTP status (0 when none); Failed is "" while the fetch is under way.
	Failed string `json:"failed,omitempty"`
	Status int    `json:"status,omitempty"`
}

// Held reports whether a worker holds the lock, fetching: the lock exists and records no
// failure. A lock held past the workers' LockTimeout is taken over at the next fetch.
func (l *FetchLock) Held() bool { return l != nil && l.Failed == "" }

// Age returns how long ago the token's fetch began, at now; 0 without a token.
func (s SharedState) Age(now time.Time) time.Duration {
	if !s.HasToken {
		return 0
	}
	return now.Sub(s.Fetched)
}

// String describes the state on one line, for logs and the command line; like the state itself,
// it never shows the token.
func (s SharedState) String() string {
	var b strings.Builder
	b.WriteString(s.Key + ": ")
	if s.HasToken {
		b.WriteString("fetched " + s.Fetched.Format(time.RFC3339) + ", expires " + s.Expires.Format(time.RFC3339))
	} else {
		b.WriteString("no token")
	}
	if s.Lock != nil {
		b.WriteString(", " + s.Lock.String())
	}
	return b.String()
}

// GoString is String, for %#v, which would otherwise show Lock as a pointer.
func (s SharedState) GoString() string { return "token.SharedState(" + s.String() + ")" }

// String describes the lock, for [SharedState.String].
func (l *FetchLock) String() string {
	if l == nil {
		return "no lock"
	}
	holder := l.Holder
	if holder == "" {
		holder = "an unknown holder"
	}
	if l.Failed != "" {
		s := "fetch by " + holder + " failed " + l.Failed
		if l.Status != 0 {
			s += " (HTTP " + strconv.Itoa(l.Status) + ")"
		}
		return s + " at " + l.Since.Format(time.RFC3339)
	}
	return "lock held by " + holder + " since " + l.Since.Format(time.RFC3339)
}

// InspectShared returns, for every key of the token bucket b (the one [NewShared] is given),
// when its token was fetched and expires and its fetch lock, by key; never the token itself. It
// reads the bucket without changing it, in one pass over its latest values (a watch of all keys,
// without deletes), and returns when it has read them all or ctx ends: give ctx a deadline. An
// empty bucket gives an empty slice; a bucket that no longer exists an error that matches
// [jetstream.ErrBucketNotFound].
func InspectShared(ctx context.Context, b jetstream.KeyValue) ([]SharedState, error) {
	entries, err := kv.Latest(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("token: inspect: %w", err)
	}
	byKey := map[string]*SharedState{}
	state := func(key string) *SharedState {
		s, ok := byKey[key]
		if !ok {
			s = &SharedState{Key: key}
			byKey[key] = s
		}
		return s
	}
	for _, e := range entries {
		if key, ok := strings.CutSuffix(e.Key(), lockSuffix); ok {
			var rec lockRecord
			_ = json.Unmarshal(e.Value(), &rec) // a record that does not decode is a lock held
			state(key).Lock = &FetchLock{Holder: rec.Holder, Since: e.Created(), Failed: rec.Failed, Status: rec.Status}
			continue
		}
		s := state(e.Key())
		if v := decodeEntry(e.Value()); v.Token != "" {
			s.HasToken, s.Fetched, s.Expires, s.Updated = true, v.Fetched, v.Expires, e.Created()
		}
	}
	out := make([]SharedState, 0, len(byKey))
	for _, s := range byKey {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b SharedState) int { return cmp.Compare(a.Key, b.Key) })
	return out, nil
}
