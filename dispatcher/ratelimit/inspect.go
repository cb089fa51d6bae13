package ratelimit

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/dispatcher/kv"
)

// TargetState is one target's entry in the rate-limit bucket, as [Inspect] reads it: the fleet's
// schedule for the target, for an operator to look at. It holds nothing secret: targets are
// named by hashes of app keys and webhook tokens.
type TargetState struct {
	// Key is the entry's key in the bucket ([BucketKey] of the target).
	Key string `json:"key"`
	// Target is the target's key as the limiter is given it ([Target.Key], e.g.
	// "robot.webhook.0123456789abcdef"), read back from Key; "" when Key is a hash, which cannot
	// be read back.
	Target string `json:"target,omitempty"`
	// Next is the fleet's next free turn: the turn after the last one reserved. A time in the
	// past means the target is free now.
	Next time.Time `json:"next,omitzero"`
	// Penalty is when the penalty DingTalk put on the target (a robot's 410100) ends; zero when
	// it never had one. A time in the past is a penalty served.
	Penalty time.Time `json:"penalty,omitzero"`
	// Updated is when the entry was last written, by the NATS server's clock.
	Updated time.Time `json:"updated"`
	// Revision is the entry's revision in the bucket.
	Revision uint64 `json:"revision"`
	// Unreadable reports that the entry's value is not a schedule; Next and Penalty are then
	// zero. The limiter overwrites such a value at the target's next send.
	Unreadable bool `json:"unreadable,omitempty"`
}

// Penalized reports whether the target is held by a penalty at now.
func (s TargetState) Penalized(now time.Time) bool { return s.Penalty.After(now) }

// String describes the state on one line, for logs and the command line.
func (s TargetState) String() string {
	var b strings.Builder
	b.WriteString(s.Key)
	if s.Target != "" && s.Target != s.Key {
		b.WriteString(" (" + s.Target + ")")
	}
	if s.Unreadable {
		b.WriteString(": unreadable")
	} else {
		b.WriteString(": next " + stamp(s.Next))
		if !s.Penalty.IsZero() {
			b.WriteString(", penalty until " + stamp(s.Penalty))
		}
	}
	b.WriteString(", updated " + stamp(s.Updated))
	return b.String()
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.Format(time.RFC3339Nano)
}

// BucketKey returns the key a target's schedule is kept under in the bucket: the target's key
// itself when it makes a plain key, else its hash (see package kv).
func BucketKey(target string) string { return kv.Key(target) }

// hashPrefix starts a hashed key, followed by hashLen hex digits (see package kv).
const (
	hashPrefix = "sha256-"
	hashLen    = 32
)

// targetOf returns the target key that bucket key k stands for, or "" when k is a hash. A target
// that is itself "sha256-" and 32 hex digits would be taken for a hash; the fleet's targets start
// with "api." or "robot.".
func targetOf(k string) string {
	if h, ok := strings.CutPrefix(k, hashPrefix); ok && len(h) == hashLen && strings.Trim(h, "0123456789abcdef") == "" {
		return ""
	}
	return k
}

// Inspect returns the state of every target in the rate-limit bucket b (the one a [Limiter] is
// made with), penalized targets first, then by key. It reads the bucket without changing it, in
// one pass over its latest values (a watch of all keys, without deletes), and returns when it has
// read them all or ctx ends: give ctx a deadline. An empty bucket gives an empty slice; a bucket
// that no longer exists an error that matches [jetstream.ErrBucketNotFound].
func Inspect(ctx context.Context, b jetstream.KeyValue) ([]TargetState, error) {
	entries, err := kv.Latest(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: inspect: %w", err)
	}
	out := make([]TargetState, 0, len(entries))
	for _, e := range entries {
		ts := TargetState{Key: e.Key(), Target: targetOf(e.Key()), Updated: e.Created(), Revision: e.Revision()}
		if s, err := decodeState(e.Value()); err != nil {
			ts.Unreadable = true
		} else {
			ts.Next, ts.Penalty = s.next, s.penalty
		}
		out = append(out, ts)
	}
	now := time.Now()
	slices.SortFunc(out, func(a, b TargetState) int {
		if pa, pb := a.Penalized(now), b.Penalized(now); pa != pb {
			if pa {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Key, b.Key)
	})
	return out, nil
}
