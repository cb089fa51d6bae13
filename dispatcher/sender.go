package dispatcher

import (
	"context"
	"time"

	"github.com/dingq/dingq/schema"
)

// Job is one send: what the worker hands to a [Sender].
type Job struct {
	Kind schema.Kind
	// ID is the job id (the Nats-Msg-Id header, or derived from the body). Safe to log.
	ID string
	// Body is the validated job body: the target API's JSON request body (for crossdomain, the
	// model object that the sender wraps under its parameter name). Never logged.
	Body []byte
	// App names the credential profile to send with (the job's Dingq-App header); "" is the
	// default profile.
	App string
	// Attempt counts sends of this job, starting at 1.
	Attempt int
	// Turn is the send turn a rate limiter reserved for this job when it deferred it
	// ([Error.Turn]); zero when none was.
	Turn time.Time
	// Posted counts the messages of a multi-message job that an earlier attempt already posted
	// ([PostedOf]); a sender that posts several messages starts after them. Zero on a first
	// attempt.
	Posted int
	// Gate, when set, is called immediately before each request the job makes to DingTalk, after
	// its token is in hand, and the request is not made if it returns an error, which the send
	// then returns. A rate limiter sets it to let each request out on its turn
	// (ratelimit.Limiter.Wrap): a send that fetched a token first, or posts several robot
	// messages, takes its turns when its requests really leave. Token fetches do not pass it. The
	// senders of this package call it; a [Sender] of your own that makes requests should too.
	Gate func(context.Context) error
}

// Sender sends one job. Implementations are safe for concurrent use.
//
// Send returns nil when the job was accepted, a [*Error] that carries the decision when DingTalk
// answered with a failure, and any other error (network, timeout, context) when the outcome is
// unknown, which the worker retries.
type Sender interface {
	Send(ctx context.Context, job Job) error
}

// SenderFunc adapts a function to a [Sender].
type SenderFunc func(ctx context.Context, job Job) error

// Send calls f(ctx, job).
func (f SenderFunc) Send(ctx context.Context, job Job) error { return f(ctx, job) }
