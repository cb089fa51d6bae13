package dispatcher

import (
	"context"
	"errors"
)

// withToken calls send with a token from tokens. When DingTalk refuses the token ([TokenExpired]),
// the token is invalidated and send is called once more with a fresh one; a second refusal is
// returned as [Retry] with the same code, so that a token problem never reaches the worker as
// anything but a transient failure.
func withToken(ctx context.Context, tokens TokenSource, send func(ctx context.Context, tok string) error) error {
	tok, err := tokens.Token(ctx)
	if err != nil {
		return err
	}
	if err = send(ctx, tok); tokenExpired(err) == nil {
		return err
	}
	tokens.Invalidate(tok)
	if tok, err = tokens.Token(ctx); err != nil {
		return err
	}
	err = send(ctx, tok)
	if de := tokenExpired(err); de != nil {
		again := *de
		again.Decision = Retry
		return &again
	}
	return err
}

// tokenExpired returns the [*Error] in err's chain when it refuses the token, else nil.
func tokenExpired(err error) *Error {
	if de, ok := errors.AsType[*Error](err); ok && de.Decision == TokenExpired {
		return de
	}
	return nil
}
