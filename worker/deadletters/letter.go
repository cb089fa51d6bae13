package deadletters

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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

	// DroppedHeaders names the job's headers the letter left out to be storable
	// (Dingq-Dropped-Headers): names a NATS client will not publish, or headers too large to
	// fit. Their values were not kept. DroppedMore counts names past the header's bound.
	DroppedHeaders []string `json:"dropped_headers,omitempty"`
	DroppedMore    int      `json:"dropped_more,omitempty"`
	// Truncated is set when the letter's body was cut to fit the server's max payload
	// (Dingq-Truncated): Data is then only the start of the job's body, and the letter cannot
	// be replayed.
	Truncated *Truncation `json:"truncated,omitempty"`

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
	l.DroppedHeaders, l.DroppedMore = parseDropped(h.Get(schema.HeaderDroppedHeaders))
	if v := h.Get(schema.HeaderTruncated); v != "" {
		l.Truncated = parseTruncation(v)
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
	schema.HeaderDroppedHeaders, schema.HeaderTruncated,
}

// Truncation is what Dingq-Truncated says of the body a dead letter cut.
type Truncation struct {
	Length int    `json:"length"` // the job body's length in bytes; 0 if the header is unreadable
	SHA256 string `json:"sha256"` // the job body's SHA-256 in hex; "" if the header is unreadable
}

// parseTruncation reads "length=<n> sha256=<hex>". An unreadable value still marks the letter
// as cut: only what it says of the original is lost.
func parseTruncation(v string) *Truncation {
	t := &Truncation{}
	for _, f := range strings.Fields(v) {
		switch k, val, _ := strings.Cut(f, "="); k {
		case "length":
			t.Length, _ = strconv.Atoi(val)
		case "sha256":
			t.SHA256 = val
		}
	}
	return t
}

// parseDropped reads Dingq-Dropped-Headers: Go-quoted names separated by ", ", perhaps ending
// in "+<n> more". Text it cannot read is kept as one name, as it stands.
func parseDropped(v string) (names []string, more int) {
	for rest := v; rest != ""; rest = strings.TrimPrefix(rest, ", ") {
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			if n, ok := strings.CutSuffix(rest, " more"); ok && strings.HasPrefix(n, "+") {
				if more, err = strconv.Atoi(n[1:]); err == nil {
					return names, more
				}
			}
			return append(names, rest), 0
		}
		name, _ := strconv.Unquote(q)
		names = append(names, name)
		rest = rest[len(q):]
	}
	return names, 0
}

// TrimMarks are short marks for a listing of a letter a worker had to trim to store it:
// "body truncated" (it cannot be replayed) and "headers dropped"; none for a whole letter.
func (l Letter) TrimMarks() []string {
	var m []string
	if l.Truncated != nil {
		m = append(m, "body truncated")
	}
	if len(l.DroppedHeaders) > 0 || l.DroppedMore > 0 {
		m = append(m, "headers dropped")
	}
	return m
}

// Trimmed says plainly, a sentence each, what a worker left out of l to store it; none for a
// whole letter. l is the letter as stored (not masked): the sizes are its body's.
func (l Letter) Trimmed() []string {
	var out []string
	if t := l.Truncated; t != nil && t.Length > 0 {
		sum := t.SHA256
		if sum == "" {
			sum = "-"
		}
		out = append(out, fmt.Sprintf("body truncated: only the first %d of the job's %d bytes were kept (the whole body's sha256 %s); it cannot be replayed",
			len(l.Data), t.Length, sum))
	} else if t != nil {
		out = append(out, fmt.Sprintf("body truncated: only the first %d bytes of the job's body were kept; it cannot be replayed", len(l.Data)))
	}
	if len(l.DroppedHeaders) > 0 || l.DroppedMore > 0 {
		quoted := make([]string, len(l.DroppedHeaders))
		for i, k := range l.DroppedHeaders {
			quoted[i] = strconv.Quote(k)
		}
		if l.DroppedMore > 0 {
			quoted = append(quoted, fmt.Sprintf("and %d more", l.DroppedMore))
		}
		out = append(out, "headers dropped from the job (a name a NATS client cannot publish, or too large to fit; values not kept): "+
			strings.Join(quoted, ", "))
	}
	return out
}

// Printable is a header value as a person should see it: as it is, or Go-quoted if it holds a
// control character or is not UTF-8 (a producer on another client can send any byte but a line
// break), so that a value cannot drive a terminal or hide in a page.
func Printable(v string) string {
	if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
		return strconv.Quote(v)
	}
	return v
}

// Shorten cuts s to at most n characters, marking the cut with "...": a letter's error in a
// listing.
func Shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-3])) + "..."
}
