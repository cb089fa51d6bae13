package kv

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

func TestTokenAndKey(t *testing.T) {
	long := strings.Repeat("a", 201)
	for _, tt := range []struct{ in, token, key string }{
		{"order-17", "order-17", "order-17"},
		{"a=b_c-D9", "a=b_c-D9", "a=b_c-D9"},
		{"api.0123.card", hash("api.0123.card"), "api.0123.card"},
		{"", hash(""), hash("")},
		{long, hash(long), hash(long)},
		{strings.Repeat("a", 200), strings.Repeat("a", 200), strings.Repeat("a", 200)},
		{"sales:order-1", hash("sales:order-1"), hash("sales:order-1")},
		{".a", hash(".a"), hash(".a")},
		{"a.", hash("a."), hash("a.")},
		{"a..b", hash("a..b"), hash("a..b")},
		{"a b", hash("a b"), hash("a b")},
		{"订单", hash("订单"), hash("订单")},
		{"a*b", hash("a*b"), hash("a*b")},
	} {
		if got := Token(tt.in); got != tt.token {
			t.Errorf("Token(%q) = %q, want %q", tt.in, got, tt.token)
		}
		if got := Key(tt.in); got != tt.key {
			t.Errorf("Key(%q) = %q, want %q", tt.in, got, tt.key)
		}
	}
	if h := hash("x"); !strings.HasPrefix(h, "sha256-") || len(h) != len("sha256-")+32 {
		t.Errorf("hash = %q", h)
	}
}

func TestIsConflict(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{jetstream.ErrKeyExists, true},
		{fmt.Errorf("update: %w", jetstream.ErrKeyRevisionMismatch), true},
		{&jetstream.APIError{ErrorCode: jetstream.JSErrCodeStreamWrongLastSequence}, true},
		{fmt.Errorf("nats: %w", &jetstream.APIError{ErrorCode: jetstream.JSErrCodeStreamWrongLastSequenceConstant}), true},
		{&jetstream.APIError{ErrorCode: jetstream.JSErrCodeStreamNotFound}, false},
		{jetstream.ErrKeyNotFound, false},
		{nil, false},
	} {
		if got := IsConflict(tt.err); got != tt.want {
			t.Errorf("IsConflict(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
