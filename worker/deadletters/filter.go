package deadletters

import (
	"time"

	"github.com/dingq/dingq/schema"
)

// Filter selects dead letters. Its zero value selects every one.
type Filter struct {
	// Kind keeps one kind's dead letters, read from the subject (the browse filters on the server).
	// Default "": every kind.
	Kind schema.Kind
	// Reason keeps one Dingq-Reason (rejected, exhausted, invalid). Default "": any.
	Reason string
	// Code keeps one Dingq-Error-Code, exactly. Default "": any.
	Code string
	// Since keeps dead letters whose job failed at or after it ([Letter.When]). Default: no bound.
	Since time.Time
	// Until keeps dead letters whose job failed before it. Default: no bound.
	Until time.Time
	// Limit stops after this many matches, the oldest first. Default 0: no limit.
	Limit int
}

// Match reports whether l passes every condition but Limit.
func (f Filter) Match(l Letter) bool {
	switch {
	case f.Kind != "" && l.Kind != f.Kind,
		f.Reason != "" && l.Reason != f.Reason,
		f.Code != "" && l.Code != f.Code,
		!f.Since.IsZero() && l.When().Before(f.Since),
		!f.Until.IsZero() && !l.When().Before(f.Until):
		return false
	}
	return true
}

// ByHeaders reports whether f looks at anything beyond the subject and the limit. When it does
// not, what it selects is every dead letter on one subject up to some sequence, which
// [Store.PurgeThrough] removes in one request.
func (f Filter) ByHeaders() bool {
	return f.Reason != "" || f.Code != "" || !f.Since.IsZero() || !f.Until.IsZero()
}
