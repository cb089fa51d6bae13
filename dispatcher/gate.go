package dispatcher

import "context"

type gateKey struct{}

// WithGate returns a context under which every request a sender makes to DingTalk first calls
// gate, immediately before the request goes out (after the token is in hand), and is not made if
// gate returns an error, which the send then returns. A rate limiter uses it to let each request
// out on its turn: a send that fetched a token first, or posts several robot messages, takes its
// turns when its requests really leave. Token fetches do not pass the gate.
func WithGate(ctx context.Context, gate func(context.Context) error) context.Context {
	return context.WithValue(ctx, gateKey{}, gate)
}

// PassGate calls the gate of ctx, if it has one. The senders of this package call it before each
// request; a [Sender] of your own that makes requests to DingTalk should too.
func PassGate(ctx context.Context) error {
	if gate, ok := ctx.Value(gateKey{}).(func(context.Context) error); ok {
		return gate(ctx)
	}
	return nil
}
