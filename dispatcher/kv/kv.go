// Package kv is what dingq's key-value buckets share: how a free-form name (a job id, a rate-limit
// target) becomes a key, how a revision-checked write that lost to another worker's is told
// from a failure, and how a bucket is read whole for inspection ([Latest]).
//
// Keys stay readable when they can, so that an operator can find a job's record with the nats
// CLI: a name made of letters, digits, '-', '_' and '=' is its own key. Anything else (empty,
// over 200 bytes, other characters) is hashed: "sha256-" and the first 16 bytes of its SHA-256
// in hex.
package kv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// maxPlain is the longest name kept as it is.
const maxPlain = 200

// Token returns s as one key token: s itself when it is plain, else its hash.
func Token(s string) string {
	if plain(s, false) {
		return s
	}
	return hash(s)
}

// Key returns s as a key of one or more dot-separated tokens: s itself when each token is plain,
// else the hash of the whole.
func Key(s string) string {
	if plain(s, true) {
		return s
	}
	return hash(s)
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + hex.EncodeToString(sum[:16])
}

// plain reports whether s can stand in a key as it is; with dots, as several tokens, none empty.
func plain(s string, dots bool) bool {
	if s == "" || len(s) > maxPlain {
		return false
	}
	if dots && (s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..")) {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r == '=' || dots && r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// IsConflict reports whether err is a revision-checked write (Create, Update) that lost to
// another writer's. Besides nats.go's own errors it takes the server's unmapped answers: a Create
// over a deleted key is retried by nats.go as an Update and fails with 10071, or 10164 from a
// replicated stream.
func IsConflict(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) ||
		errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// Latest returns the latest value of every key of b that has one, read by a watch that ends when
// the watcher has delivered the values there were when it started. A missing bucket is an error
// matching [jetstream.ErrBucketNotFound] that names it.
func Latest(ctx context.Context, b jetstream.KeyValue) ([]jetstream.KeyValueEntry, error) {
	w, err := b.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		if errors.Is(err, nats.ErrStreamNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, fmt.Errorf("%w: %s (%w)", jetstream.ErrBucketNotFound, b.Bucket(), err)
		}
		return nil, fmt.Errorf("watch %s: %w", b.Bucket(), err)
	}
	defer func() {
		_ = w.Stop()
		for range w.Updates() { // frees a delivery blocked on the channel; closed once stopped
		}
	}()
	var out []jetstream.KeyValueEntry
	for {
		select {
		case e, ok := <-w.Updates():
			switch {
			case !ok:
				return nil, fmt.Errorf("watch %s: ended before every key was read", b.Bucket())
			case e == nil: // every value there was at the start has come
				return out, nil
			}
			out = append(out, e)
		case <-ctx.Done():
			return nil, fmt.Errorf("watch %s: %w", b.Bucket(), context.Cause(ctx))
		}
	}
}
