package deadletters

import (
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/dingq/dingq/schema"
)

// Letter is one dead letter: where it is stored, the contract's Dingq-* headers read into
// fields, and the original job's headers and body. Its JSON form (the fields with JSON names) is
// what `dingq dlq list --json` prints.
type Letter struct {
	Seq             uint64      `json:"seq"`     // sequence in the dead-letter stream
	Subject         string      `json:"subject"` // dead-letter subject, e.g. dingq.dead.card
	Kind            schema.Kind `json:"kind"`    // from the subject; "" if it names no kind
	JobID           string      `json:"job_id"`
	Reason          string      `json:"reason"`
	Code            string      `json:"code,omitempty"`
	Error           string      `json:"error,omitempty"`
	HTTPStatus      int         `json:"http_status,omitempty"`
	Attempts        int         `json:"attempts"`
	OriginalSubject string      `json:"original_subject"`
	FailedAt        time.Time   `json:"failed_at,omitzero"` // zero if the header is missing or unreadable
	StoredAt        time.Time   `json:"stored_at"`          // when the stream stored it

	// Header is every header of the dead letter, the original job's and the Dingq-* ones.
	// Nil in the summaries a selection keeps.
	Header nats.Header `json:"-"`
	// Data is the original job's body, as it was published. Nil in summaries.
	Data []byte `json:"-"`
}

// newLetter reads a stored dead letter.
func newLetter(names schema.Names, seq uint64, subject string, h nats.Header, data []byte, stored time.Time) Letter {
	kind, _ := names.KindOf(subject)
	l := Letter{
		Seq:             seq,
		Subject:         subject,
		Kind:            kind,
		JobID:           h.Get(schema.HeaderJobID),
		Reason:          h.Get(schema.HeaderReason),
		Code:            h.Get(schema.HeaderErrorCode),
		Error:           h.Get(schema.HeaderError),
		OriginalSubject: h.Get(schema.HeaderOriginalSubject),
		StoredAt:        stored.UTC(),
		Header:          h,
		Data:            data,
	}
	l.HTTPStatus, _ = strconv.Atoi(h.Get(schema.HeaderHTTPStatus))
	l.Attempts, _ = strconv.Atoi(h.Get(schema.HeaderAttempts))
	if t, err := time.Parse(time.RFC3339, h.Get(schema.HeaderFailedAt)); err == nil {
		l.FailedAt = t.UTC()
	}
	return l
}

// When is when the job failed: its Dingq-Failed-At header, or when the dead letter was stored if
// that header is missing. Time filters compare against it.
func (l Letter) When() time.Time {
	if l.FailedAt.IsZero() {
		return l.StoredAt
	}
	return l.FailedAt
}

// Summary is l without its headers and body, small enough to keep thousands of.
func (l Letter) Summary() Letter {
	l.Header, l.Data = nil, nil
	return l
}

// deadLetterHeaders are the headers a dead letter adds to the job's own; a replay removes them.
var deadLetterHeaders = []string{
	schema.HeaderJobID, schema.HeaderReason, schema.HeaderErrorCode, schema.HeaderError,
	schema.HeaderHTTPStatus, schema.HeaderAttempts, schema.HeaderOriginalSubject, schema.HeaderFailedAt,
}
