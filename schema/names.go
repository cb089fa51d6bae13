package schema

import (
	"fmt"
	"strings"
)

// Kind names one of the three kinds of job dingq sends.
type Kind string

// The job kinds. Each has its own job subject, dead-letter subject and JSON Schema.
const (
	KindCard        Kind = "card"        // interactive card, template send
	KindCrossDomain Kind = "crossdomain" // cross-domain (互通) message
	KindRobot       Kind = "robot"       // group robot message through the kdocs relay
)

// Kinds lists every kind, in a stable order.
func Kinds() []Kind { return []Kind{KindCard, KindCrossDomain, KindRobot} }

// ParseKind returns the kind named s, or an error that lists the known kinds.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds() {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown job kind %q (want card, crossdomain or robot)", s)
}

// DefaultPrefix is the subject prefix used when none is configured.
const DefaultPrefix = "dingq"

// ConsumerName is the durable pull consumer that every worker shares.
const ConsumerName = "dingq-worker"

// Headers a producer may set on a job.
const (
	// HeaderMsgID is JetStream's deduplication header; when set, it is also the job id.
	HeaderMsgID = "Nats-Msg-Id"
	// HeaderApp names the worker's credential profile (DingTalk app and kdocs token) to send
	// the job with; absent, the default profile.
	HeaderApp = "Dingq-App"
)

// Headers dingq adds to a dead letter, beside the job's original headers.
const (
	HeaderJobID           = "Dingq-Job-Id"
	HeaderReason          = "Dingq-Reason"
	HeaderErrorCode       = "Dingq-Error-Code"
	HeaderError           = "Dingq-Error"
	HeaderHTTPStatus      = "Dingq-Http-Status"
	HeaderAttempts        = "Dingq-Attempts"
	HeaderOriginalSubject = "Dingq-Original-Subject"
	HeaderFailedAt        = "Dingq-Failed-At"

	// HeaderDroppedHeaders names the job's headers that a dead letter leaves out, so that the
	// letter can be stored at all: names a NATS client will not publish (a non-Go producer can
	// send "X-Trace/Id" or "Träce", and nats.go refuses to publish a message holding either), and,
	// when the job's headers alone would not fit in the server's max payload, the largest of
	// them. Each name is Go-quoted in ASCII ("X-Trace/Id", "Tr\u00e4ce"), the names separated by
	// ", ", and a long list ends with "+<n> more". Values are never listed: they may hold secrets.
	HeaderDroppedHeaders = "Dingq-Dropped-Headers"
	// HeaderTruncated marks a dead letter whose body was cut so that the letter fits in the
	// server's max payload (a job body that filled it leaves no room for the Dingq-* headers):
	// "length=<original bytes> sha256=<hex SHA-256 of the original body>". The stored body is a
	// prefix of the original; such a letter is kept for inspection and never replayed.
	HeaderTruncated = "Dingq-Truncated"
)

// Headers `dingq dlq replay` adds to a replayed job.
const (
	// HeaderReplayOf names the dead letter a replayed job was published from, and its body:
	// "stream=<dead-letter stream> seq=<seq> sha256=<hex SHA-256 of the body>". A replay whose
	// publish JetStream reports as a duplicate compares it with the message already stored
	// under the replay's id before deleting the dead letter.
	HeaderReplayOf = "Dingq-Replay-Of"
)

// Reasons a job is dead-lettered, the values of [HeaderReason].
const (
	ReasonRejected  = "rejected"  // DingTalk said the request is wrong
	ReasonExhausted = "exhausted" // every attempt was used up
	ReasonInvalid   = "invalid"   // the job failed validation before any send
)

// Names derives every subject and stream name from a prefix, so that several environments can
// share one NATS. The zero value uses [DefaultPrefix].
type Names struct {
	// Prefix starts every subject; stream names use it in upper case. Default "dingq".
	Prefix string
}

// NewNames returns the names for prefix ("" means [DefaultPrefix]).
func NewNames(prefix string) Names { return Names{Prefix: prefix} }

func (n Names) prefix() string {
	if n.Prefix == "" {
		return DefaultPrefix
	}
	return n.Prefix
}

// SendSubject is where producers publish jobs of kind k, e.g. "dingq.send.card".
func (n Names) SendSubject(k Kind) string { return n.prefix() + ".send." + string(k) }

// DeadSubject is where dead letters of kind k go, e.g. "dingq.dead.card".
func (n Names) DeadSubject(k Kind) string { return n.prefix() + ".dead." + string(k) }

// SendSubjects is the job stream's subject filter, e.g. "dingq.send.>".
func (n Names) SendSubjects() string { return n.prefix() + ".send.>" }

// DeadSubjects is the dead-letter stream's subject filter, e.g. "dingq.dead.>".
func (n Names) DeadSubjects() string { return n.prefix() + ".dead.>" }

// JobStream is the work-queue stream of jobs, e.g. "DINGQ_JOBS".
func (n Names) JobStream() string { return n.streamPrefix() + "_JOBS" }

// DeadStream is the dead-letter stream, e.g. "DINGQ_DEAD".
func (n Names) DeadStream() string { return n.streamPrefix() + "_DEAD" }

// Consumer is the durable consumer's name, the same for every prefix.
func (n Names) Consumer() string { return ConsumerName }

// streamPrefix upper-cases the prefix and replaces the characters a stream name may not hold.
func (n Names) streamPrefix() string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', ' ', '/', '\\':
			return '_'
		}
		return r
	}, strings.ToUpper(n.prefix()))
}

// KindOf returns the kind of a job or dead-letter subject, e.g. KindCard for "dingq.send.card".
func (n Names) KindOf(subject string) (Kind, error) {
	i := strings.LastIndexByte(subject, '.')
	if i < 0 {
		return "", fmt.Errorf("subject %q names no job kind", subject)
	}
	return ParseKind(subject[i+1:])
}

// ValidatePrefix reports whether p can start a subject: non-empty, and made of letters, digits,
// '-' and '_' in dot-separated tokens.
func ValidatePrefix(p string) error {
	if p == "" {
		return fmt.Errorf("subject prefix is empty")
	}
	for _, tok := range strings.Split(p, ".") {
		if tok == "" {
			return fmt.Errorf("subject prefix %q has an empty token", p)
		}
		for _, r := range tok {
			if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return fmt.Errorf("subject prefix %q may hold only letters, digits, '-', '_' and '.'", p)
			}
		}
	}
	return nil
}

// AdvisoryConsumer is the durable consumer through which workers take the max-deliveries
// advisories of the job consumer.
const AdvisoryConsumer = "dingq-advisories"

// SentBucket is the key-value bucket that remembers which jobs were sent, e.g. "DINGQ_SENT".
func (n Names) SentBucket() string { return n.streamPrefix() + "_SENT" }

// AdvisoryStream keeps the job consumer's max-deliveries advisories until a worker has moved the
// stranded job to the dead letters, e.g. "DINGQ_ADVISORIES".
func (n Names) AdvisoryStream() string { return n.streamPrefix() + "_ADVISORIES" }

// MaxDeliveriesSubject is the advisory JetStream publishes when a job of the job stream reaches
// the consumer's MaxDeliver without an ack.
func (n Names) MaxDeliveriesSubject() string {
	return "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + n.JobStream() + "." + n.Consumer()
}

// LimitBucket is the key-value bucket where every worker shares the rate limits' state: per
// app and API, and per robot webhook, the next free send time and any penalty DingTalk imposed.
func (n Names) LimitBucket() string { return n.streamPrefix() + "_LIMITS" }

// TokenBucket is the key-value bucket where every worker shares the DingTalk apps' access
// tokens, so that the fleet fetches each app's token once per refresh.
func (n Names) TokenBucket() string { return n.streamPrefix() + "_TOKENS" }

// StatusBucket is the key-value bucket that keeps each job's final outcome for `dingq status`,
// keyed by kind and job id, e.g. "DINGQ_STATUS".
func (n Names) StatusBucket() string { return n.streamPrefix() + "_STATUS" }

// EventSubject is where a job's final outcome is announced, e.g. "dingq.events.card.sent". The
// outcome is sent, rejected, exhausted or invalid.
func (n Names) EventSubject(kind, outcome string) string {
	return n.prefix() + ".events." + kind + "." + outcome
}

// EventSubjects matches every outcome event, e.g. "dingq.events.>".
func (n Names) EventSubjects() string { return n.prefix() + ".events.>" }
