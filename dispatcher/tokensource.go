package dispatcher

import "context"

// TokenSource hands out the access token a sender puts on its requests. Implementations are safe
// for concurrent use; package token holds the caching one for DingTalk apps and a static one for
// the kdocs relay.
type TokenSource interface {
	// Token returns the current token, fetching one if none is cached. An error means no token can
	// be had now; it must not carry the [Reject] decision, since a credential problem is not the
	// job's fault.
	Token(ctx context.Context) (string, error)
	// Invalidate drops the cached token if it is still token, so that the next Token call fetches a
	// new one. A token already replaced is left alone: when many sends find the same token refused,
	// it is fetched again once, not once per send.
	Invalidate(token string)
}
