package token_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/dispatcher/token"
)

// InspectShared shows a shared token's fetch and expiry, a fetch under way and a failed one, and
// nothing it returns, however printed or marshalled, shows the token, the app key or the secret.
func TestInspectShared(t *testing.T) {
	api := newTokenAPI(t, 2*time.Hour)
	f := newFleet(t, api.URL)
	clk := newClock()
	w := f.worker(token.SharedConfig{Now: clk.Now}, token.CacheConfig{Now: clk.Now})
	if tok := mustToken(t, w.cache); tok != "tok-1" {
		t.Fatalf("Token() = %q", tok)
	}
	fetched := clk.Now()

	// Another key's fetch is under way: its lock is held.
	fetching := token.SharedKey("api", "another-app-key")
	if _, err := f.kv.Create(context.Background(), fetching+".lock", []byte(`{"holder":"0011223344556677"}`)); err != nil {
		t.Fatal(err)
	}
	// The old-style token's fetch failed: its lock records the failure.
	refusing := newTokenAPI(t, 2*time.Hour)
	refusing.refuse.Store(true)
	failedKey := token.SharedKey("oapi", appKey)
	client := dispatcher.NewHTTPClient(0, 0)
	t.Cleanup(client.CloseIdleConnections)
	failing := token.NewShared(f.kv, failedKey, token.NewAPIFetcher(refusing.URL, appKey, appSecret, client), token.SharedConfig{})
	if _, _, err := failing.Fetch(context.Background()); err == nil {
		t.Fatal("Fetch() from a refusing token API succeeded")
	}

	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	before := time.Now()
	states, err := token.InspectShared(ctx, f.kv)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSortedFunc(states, func(a, b token.SharedState) int { return strings.Compare(a.Key, b.Key) }) || len(states) != 3 {
		t.Fatalf("states %v, want 3 by key", states)
	}
	byKey := map[string]token.SharedState{}
	for _, s := range states {
		byKey[s.Key] = s
	}

	shared := byKey[f.key]
	if !shared.HasToken || !shared.Fetched.Equal(fetched) || !shared.Expires.Equal(fetched.Add(2*time.Hour)) ||
		shared.Lock != nil || shared.Updated.IsZero() || shared.Updated.After(before.Add(time.Second)) {
		t.Errorf("shared token: %+v, want fetched at %v, expiring 2 h later, stored, no lock", shared, fetched)
	}
	if age := shared.Age(fetched.Add(time.Minute)); age != time.Minute {
		t.Errorf("Age() a minute after the fetch = %v", age)
	}
	under := byKey[fetching]
	if under.HasToken || !under.Fetched.IsZero() || under.Lock == nil || !under.Lock.Held() ||
		under.Lock.Holder != "0011223344556677" || under.Lock.Since.IsZero() || under.Age(time.Now()) != 0 {
		t.Errorf("fetch under way: %+v (lock %+v), want no token and a lock held by 0011223344556677", under, under.Lock)
	}
	failed := byKey[failedKey]
	if failed.HasToken || failed.Lock == nil || failed.Lock.Held() || failed.Lock.Holder == "" ||
		failed.Lock.Failed != "token:invalidClientIdOrSecret" || failed.Lock.Status != 400 {
		t.Errorf("failed fetch: %+v (lock %+v), want no token and a lock that records the failure", failed, failed.Lock)
	}

	// Printed every way, and marshalled, the states show what they hold but no token or secret.
	j, err := json.Marshal(states)
	if err != nil {
		t.Fatal(err)
	}
	outputs := []string{string(j), fmt.Sprint(states), fmt.Sprintf("%+v", states), fmt.Sprintf("%#v", states)}
	for _, s := range states {
		outputs = append(outputs, s.String(), fmt.Sprintf("%v", s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s),
			fmt.Sprintf("%v", s.Lock), fmt.Sprintf("%+v", s.Lock), fmt.Sprintf("%#v", s.Lock))
	}
	for _, out := range outputs {
		if strings.Contains(out, "tok-") || strings.Contains(out, appKey) || strings.Contains(out, appSecret) {
			t.Errorf("printed %s", out)
		}
	}
	if s := shared.String(); !strings.Contains(s, f.key) || !strings.Contains(s, "expires "+shared.Expires.Format(time.RFC3339)) {
		t.Errorf("String() = %q, want the key and the expiry", s)
	}
	if s := failed.String(); !strings.Contains(s, "token:invalidClientIdOrSecret (HTTP 400)") {
		t.Errorf("String() = %q, want the failure", s)
	}
	if !strings.Contains(string(j), `"fetched":"`+fetched.Format(time.RFC3339)) || !strings.Contains(string(j), `"failed":"token:invalidClientIdOrSecret"`) {
		t.Errorf("json %s, want the fetch time and the failure", j)
	}
}

func TestInspectSharedEmptyAndMissingBucket(t *testing.T) {
	f := newFleet(t, "http://127.0.0.1:1")
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	states, err := token.InspectShared(ctx, f.kv)
	if err != nil || states == nil || len(states) != 0 {
		t.Errorf("empty bucket: %v, %v; want an empty slice", states, err)
	}
	if err := jetstreamOf(t, f.admin).DeleteKeyValue(ctx, testBucket); err != nil {
		t.Fatal(err)
	}
	_, err = token.InspectShared(ctx, f.kv)
	if !errors.Is(err, jetstream.ErrBucketNotFound) || !strings.Contains(err.Error(), testBucket) {
		t.Errorf("missing bucket: %v, want an error that matches ErrBucketNotFound and names the bucket", err)
	}
}
