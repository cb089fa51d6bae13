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

// KindNames lists every kind's name, in the order of [Kinds].
func KindNames() []string {
	return []string{string(KindCard), string(KindCrossDomain), string(KindRobot)}
}

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

// ConsumerName is the durable pull consumer that workers before per-kind consumers shared. A
// worker that finds it on a job stream deletes it: its deliveries would overlap the per-kind
// consumers' (see [Names.ConsumerFor]).
const ConsumerName = "dingq-worker"

// Headers a producer may set on a job.
const (
	// HeaderMsgID is JetStream's deduplication header; when set, it is also the job id.
	HeaderMsgID = "Nats-Msg-Id"
	// HeaderApp named the credential profile to send a job with before the app came from the
	// job's subject ([Names.SendSubjectFor]). NATS cannot restrict a header's value, so a worker
	// no longer reads it: a job that carries it with an app other than "default" is invalid, and
	// the dead letter says which subject to publish to instead.
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

// SendSubject is where producers publish jobs of kind k for the default app, e.g.
// "dingq.send.card".
func (n Names) SendSubject(k Kind) string { return n.prefix() + ".send." + string(k) }

// SendSubjectFor is where producers publish jobs of kind k for app, e.g. "dingq.send.card.sales";
// for app "" (the default app), [Names.SendSubject]. The app is part of the subject so that NATS
// permissions decide which producer may send with which app's credentials.
func (n Names) SendSubjectFor(k Kind, app string) string {
	if app == "" {
		return n.SendSubject(k)
	}
	return n.SendSubject(k) + "." + app
}

// JobSubjects are app's job stream's subjects: one per kind, e.g. "dingq.send.card.sales". A
// publish to a kind or app no stream holds is refused by NATS, so no job waits where no worker
// looks.
func (n Names) JobSubjects(app string) []string {
	subjects := make([]string, 0, len(Kinds()))
	for _, k := range Kinds() {
		subjects = append(subjects, n.SendSubjectFor(k, app))
	}
	return subjects
}

// AppOfJobStream returns the app whose job stream is named stream: "" for [Names.JobStream],
// "sales" for "DINGQ_JOBS_SALES". ok is false for a name that is no job stream's.
func (n Names) AppOfJobStream(stream string) (app string, ok bool) {
	if stream == n.JobStream() {
		return "", true
	}
	rest, found := strings.CutPrefix(stream, n.JobStream()+"_")
	if !found || ValidateApp(strings.ToLower(rest)) != nil {
		return "", false
	}
	return strings.ToLower(rest), true
}

// ParseJobSubject returns the kind and app of a job subject: "dingq.send.card" is KindCard for
// the default app (""), "dingq.send.robot.sales" KindRobot for app "sales".
func (n Names) ParseJobSubject(subject string) (Kind, string, error) {
	rest, ok := strings.CutPrefix(subject, n.prefix()+".send.")
	if !ok {
		return "", "", fmt.Errorf("subject %q is not a job subject (want %s.send.<kind>[.<app>])", subject, n.prefix())
	}
	kindName, app, _ := strings.Cut(rest, ".")
	k, err := ParseKind(kindName)
	if err != nil {
		return "", "", err
	}
	if app != "" {
		if err := ValidateApp(app); err != nil {
			return "", "", err
		}
	}
	return k, app, nil
}

// DeadSubject is where dead letters of kind k go, e.g. "dingq.dead.card".
func (n Names) DeadSubject(k Kind) string { return n.prefix() + ".dead." + string(k) }

// SendSubjects is the job stream's subject filter, e.g. "dingq.send.>".
func (n Names) SendSubjects() string { return n.prefix() + ".send.>" }

// DeadSubjects is the dead-letter stream's subject filter, e.g. "dingq.dead.>".
func (n Names) DeadSubjects() string { return n.prefix() + ".dead.>" }

// JobStream is the work-queue stream of the default app's jobs, e.g. "DINGQ_JOBS".
func (n Names) JobStream() string { return n.streamPrefix() + "_JOBS" }

// JobStreamFor is app's work-queue stream, e.g. "DINGQ_JOBS_SALES"; for app "", [Names.JobStream].
// Each app has its own stream, and so its own Nats-Msg-Id window and its own size limit: one
// producer can neither pre-empt another's job ids nor fill the store for the others.
func (n Names) JobStreamFor(app string) string {
	if app == "" {
		return n.JobStream()
	}
	return n.JobStream() + "_" + strings.ToUpper(app)
}

// DeadStream is the dead-letter stream, e.g. "DINGQ_DEAD".
func (n Names) DeadStream() string { return n.streamPrefix() + "_DEAD" }

// Consumer is the name of the consumer workers shared before per-kind consumers; see
// [ConsumerName].
func (n Names) Consumer() string { return ConsumerName }

// ConsumerFor is the durable pull consumer of kind k's jobs on every job stream, shared by all
// workers, e.g. "dingq-worker-card". One consumer per kind keeps each kind's window and order to
// itself: a flood of robot jobs waiting for their turns never holds a card back.
func (n Names) ConsumerFor(k Kind) string { return ConsumerName + "-" + string(k) }

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

// DefaultApp names the default app where a name is needed (a profile, a metric label); its jobs'
// subjects carry no app.
const DefaultApp = "default"

// ValidateApp reports whether app can name an app in a job subject and a stream: 1 to 32 lower-case
// letters, digits and underscores, and not [DefaultApp].
func ValidateApp(app string) error {
	if app == "" || len(app) > 32 {
		return fmt.Errorf("app name %q: want 1 to 32 characters", app)
	}
	if app == DefaultApp {
		return fmt.Errorf("app name %q names the default app, whose subjects carry no app", app)
	}
	for _, r := range app {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z') {
			return fmt.Errorf("app name %q may hold only lower-case letters, digits and '_'", app)
		}
	}
	return nil
}

// QualifiedID is the job id dingq reports and keys a job by: the producer's id, prefixed with its
// app and ':' for an app other than the default ("sales:order-8812"), so that two apps' ids never
// meet in the status bucket, a dead letter's id or a robot message's msgUuid.
func QualifiedID(app, id string) string {
	if app == "" {
		return id
	}
	return app + ":" + id
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

// SentBucket is the key-value bucket that remembers which jobs were sent, e.g. "DINGQ_SENT".
func (n Names) SentBucket() string { return n.streamPrefix() + "_SENT" }

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

// WorkerSubject is where the worker whose id is id announces itself on core NATS (a heartbeat:
// see worker.Heartbeat), e.g. "dingq.workers.web-1-4711-a3f09c". The id is made one subject token:
// each character other than an ASCII letter, digit, '-' and '_' becomes '_', and "" becomes "_",
// so that no id can add a token or a wildcard.
func (n Names) WorkerSubject(id string) string { return n.prefix() + ".workers." + SubjectToken(id) }

// WorkerSubjects matches every worker's heartbeats, e.g. "dingq.workers.>".
func (n Names) WorkerSubjects() string { return n.prefix() + ".workers.>" }

// SubjectToken returns s as one subject token: each character other than an ASCII letter, digit,
// '-' and '_' becomes '_' (a '.' would start another token, '*' and '>' are wildcards, and a
// space or control character ends the subject), and "" becomes "_". Distinct inputs can map to
// the same token.
func SubjectToken(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, s)
}
