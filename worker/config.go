package worker

import (
	"errors"
	"fmt"
	"time"

	"github.com/dingq/dingq/schema"
)

// Config sets up a [Worker] and the JetStream resources it uses. The zero value of every field
// means its default.
type Config struct {
	// Names derives the subjects and streams. Default prefix "dingq".
	Names schema.Names
	// Concurrency is the number of sends in flight in this process. Default 64.
	Concurrency int
	// MaxAttempts is the number of sends a job gets before it is dead-lettered as exhausted.
	// Default 8.
	MaxAttempts int
	// BackoffInitial is the delay after the first failed attempt; it doubles with each attempt,
	// with ±25 % jitter. Default 1 s.
	BackoffInitial time.Duration
	// BackoffMax caps the delay between attempts. Default 5 min.
	BackoffMax time.Duration
	// AckWait is how long JetStream waits for an ack before redelivering; a send that runs
	// longer signals progress every AckWait/3. Default 30 s.
	AckWait time.Duration
	// Apps names the apps besides the default one whose jobs this worker sends: each has its own
	// job stream (see [schema.Names.JobStreamFor]) and subjects "<prefix>.send.<kind>.<app>".
	// Each name passes [schema.ValidateApp]. Default none.
	Apps []string
	// JobStreamMaxBytes caps each job stream's size; a full stream refuses new jobs, and their
	// producers see the refusal. Default 1 GiB per stream.
	JobStreamMaxBytes int64
	// DeadStreamMaxBytes caps the dead-letter stream's size; once it is full, jobs that fail stay
	// in their job stream, retried, until an operator makes room. Default 1 GiB.
	DeadStreamMaxBytes int64
	// DuplicateWindow is how long the job stream remembers a Nats-Msg-Id to drop a duplicate
	// publish. Default 10 min.
	DuplicateWindow time.Duration
	// SentTTL is how long the id of a sent job is remembered, so that a redelivery of a job
	// whose ack was lost is acked without a second send. Default 24 h.
	SentTTL time.Duration
	// DeadLetterMaxAge is how long dead letters are kept. Default 14 days.
	DeadLetterMaxAge time.Duration
	// Replicas is the number of replicas of each stream (1 for a single server, 3 in a
	// cluster). Default 1.
	Replicas int
	// ShutdownTimeout is how long Run waits for in-flight sends after its context ends before
	// cancelling them and handing their jobs back. Default 25 s.
	ShutdownTimeout time.Duration
	// Heartbeat is how often a running worker publishes a [Heartbeat] on
	// [schema.Names.WorkerSubject]; at least 100 ms. Default 5 s ([HeartbeatEvery]); a negative
	// value turns heartbeats off.
	Heartbeat time.Duration
}

// Defaults of [Config].
const (
	DefaultConcurrency        = 64
	DefaultMaxAttempts        = 8
	DefaultBackoffInitial     = time.Second
	DefaultBackoffMax         = 5 * time.Minute
	DefaultAckWait            = 30 * time.Second
	DefaultJobStreamMaxBytes  = 1 << 30
	DefaultDeadStreamMaxBytes = 1 << 30
	DefaultDuplicateWindow    = 10 * time.Minute
	DefaultSentTTL            = 24 * time.Hour
	DefaultDeadLetterMaxAge   = 14 * 24 * time.Hour
	DefaultShutdownTimeout    = 25 * time.Second
)

func (c Config) withDefaults() Config {
	setDefault(&c.Concurrency, DefaultConcurrency)
	setDefault(&c.MaxAttempts, DefaultMaxAttempts)
	setDefault(&c.BackoffInitial, DefaultBackoffInitial)
	setDefault(&c.BackoffMax, DefaultBackoffMax)
	setDefault(&c.AckWait, DefaultAckWait)
	setDefault(&c.JobStreamMaxBytes, DefaultJobStreamMaxBytes)
	setDefault(&c.DeadStreamMaxBytes, DefaultDeadStreamMaxBytes)
	setDefault(&c.DuplicateWindow, DefaultDuplicateWindow)
	setDefault(&c.SentTTL, DefaultSentTTL)
	setDefault(&c.DeadLetterMaxAge, DefaultDeadLetterMaxAge)
	setDefault(&c.Replicas, 1)
	setDefault(&c.ShutdownTimeout, DefaultShutdownTimeout)
	setDefault(&c.Heartbeat, HeartbeatEvery)
	return c
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

func (c Config) validate() error {
	var errs []error
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("concurrency %d: must be at least 1", c.Concurrency))
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("max attempts %d: must be at least 1", c.MaxAttempts))
	}
	if c.BackoffInitial < 0 || c.BackoffMax < c.BackoffInitial {
		errs = append(errs, fmt.Errorf("backoff %v..%v: want 0 <= initial <= max", c.BackoffInitial, c.BackoffMax))
	}
	if c.AckWait < time.Second {
		errs = append(errs, fmt.Errorf("ack wait %v: must be at least 1s", c.AckWait))
	}
	if c.JobStreamMaxBytes < 1<<20 || c.DeadStreamMaxBytes < 1<<20 {
		errs = append(errs, fmt.Errorf("stream max bytes %d (jobs), %d (dead letters): must be at least 1 MiB", c.JobStreamMaxBytes, c.DeadStreamMaxBytes))
	}
	seen := map[string]bool{}
	for _, app := range c.Apps {
		if err := schema.ValidateApp(app); err != nil {
			errs = append(errs, err)
		} else if seen[app] {
			errs = append(errs, fmt.Errorf("app %q named twice", app))
		}
		seen[app] = true
	}
	if c.Heartbeat >= 0 && c.Heartbeat < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("heartbeat interval %v: must be at least 100ms, or negative for none", c.Heartbeat))
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("replicas %d: must be 1 to 5", c.Replicas))
	}
	if err := schema.ValidatePrefix(c.Names.Prefix); c.Names.Prefix != "" && err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
