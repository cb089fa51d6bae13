package token

import (
	"context"

	"github.com/dingq/dingq/dispatcher"
)

// staticSource is the token source of [Static].
type staticSource struct{ token string }

// Static returns a token source that always gives token, for the kdocs relay whose token is
// configured rather than fetched. Invalidate does nothing: there is no other token to fetch. An
// empty token makes every Token call fail with [dispatcher.Retry] and code "token:empty", so that
// a missing setting holds the jobs instead of rejecting them. It is safe for concurrent use, and
// printing it does not show the token.
func Static(token string) dispatcher.TokenSource { return staticSource{token: token} }

// Token returns the configured token.
func (s staticSource) Token(context.Context) (string, error) {
	if s.token == "" {
		return "", failure("empty", 0, "no token configured")
	}
	return s.token, nil
}

// Invalidate does nothing.
func (staticSource) Invalidate(string) {}

// String hides the token.
func (staticSource) String() string { return "token.Static([redacted])" }

// GoString is String, for %#v.
func (s staticSource) GoString() string { return s.String() }
