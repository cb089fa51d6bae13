package producer

import (
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
)

// Producer validates and publishes dingq jobs. It holds no state beyond its configuration, so
// one Producer is safe for concurrent use by any number of goroutines.
type Producer struct {
	js        jetstream.JetStream
	names     schema.Names
	app       string
	validator *schema.Validator
}

// Option configures a [Producer] in [New].
type Option func(*options)

type options struct {
	prefix       string
	maxBodyBytes int
	app          string
}

// WithSubjectPrefix sets the subject prefix, the workers' DINGQ_SUBJECT_PREFIX: jobs go to
// "<prefix>.send.<kind>". Default "dingq".
func WithSubjectPrefix(prefix string) Option { return func(o *options) { o.prefix = prefix } }

// WithMaxBodyBytes sets the largest job body accepted, in bytes. Default
// [schema.DefaultMaxBodyBytes] (1 MiB), the workers' limit; 0 means the default and a negative
// value is an error.
func WithMaxBodyBytes(n int) Option { return func(o *options) { o.maxBodyBytes = n } }

// WithDefaultApp sets the app of jobs published without [WithApp] (see [WithApp]). Default none:
// such jobs go to the default app's subjects.
func WithDefaultApp(app string) Option { return func(o *options) { o.app = app } }

// New returns a Producer that publishes through js. It compiles the job schemas, so create one
// Producer and share it. It fails on a nil js, an invalid subject prefix, a negative body limit,
// or a default app that is not a valid profile name ([ErrInvalidApp]).
func New(js jetstream.JetStream, opts ...Option) (*Producer, error) {
	if js == nil {
		return nil, errors.New("producer: nil JetStream")
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.prefix == "" {
		o.prefix = schema.DefaultPrefix
	}
	if err := schema.ValidatePrefix(o.prefix); err != nil {
		return nil, fmt.Errorf("producer: %w", err)
	}
	app, err := checkApp(o.app)
	if err != nil {
		return nil, err
	}
	v, err := schema.NewValidator(schema.ValidatorConfig{MaxBodyBytes: o.maxBodyBytes})
	if err != nil {
		return nil, fmt.Errorf("producer: %w", err)
	}
	return &Producer{js: js, names: schema.NewNames(o.prefix), app: app, validator: v}, nil
}
