package deadletters

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
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
	// JobID keeps the dead letters of one job, its Dingq-Job-Id exactly. Default "": any.
	JobID string
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
		f.JobID != "" && l.JobID != f.JobID,
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
	return f.Reason != "" || f.Code != "" || f.JobID != "" || !f.Since.IsZero() || !f.Until.IsZero()
}

// FilterSpec is a [Filter] as text, the way a command line's flags or a form's fields give it.
// An empty field selects every dead letter.
type FilterSpec struct {
	Kind   string // card, crossdomain or robot
	Reason string // rejected, exhausted or invalid
	Code   string // an error code, exactly
	JobID  string // a job id, exactly
	Since  string // a duration back from now (90m, 1h, 2d), an RFC 3339 time or a date
	Until  string // as Since
	Limit  string // a number, 1 or more
}

// FieldError is a mistake in one field of a [FilterSpec]. Field is the field's name in lower
// case ("kind", "since", ...), which is also the name of dingq dlq's flag for it; Err says what
// is wrong without naming the field.
type FieldError struct {
	Field string
	Err   error
}

// Error returns "<field>: <what is wrong>".
func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns e.Err.
func (e *FieldError) Unwrap() error { return e.Err }

// FieldErrors returns the [FieldError]s err holds, in order: err itself, or those joined in it,
// as [ParseFilter] returns them.
func FieldErrors(err error) []*FieldError {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*FieldError
		for _, e := range j.Unwrap() {
			out = append(out, FieldErrors(e)...)
		}
		return out
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return []*FieldError{fe}
	}
	return nil
}

// ParseFilter reads spec into a Filter, durations counting back from now. A date is midnight
// UTC. Every field it cannot read is reported, each as a [FieldError], joined; Since must be
// before Until, or Since is reported.
func ParseFilter(spec FilterSpec, now time.Time) (Filter, error) {
	var f Filter
	var errs []error
	bad := func(field string, err error) { errs = append(errs, &FieldError{Field: field, Err: err}) }
	if spec.Kind != "" {
		k, err := schema.ParseKind(spec.Kind)
		if err != nil {
			bad("kind", err)
		}
		f.Kind = k
	}
	switch spec.Reason {
	case "", schema.ReasonRejected, schema.ReasonExhausted, schema.ReasonInvalid:
		f.Reason = spec.Reason
	default:
		bad("reason", fmt.Errorf("%q: want rejected, exhausted or invalid", spec.Reason))
	}
	f.Code, f.JobID = spec.Code, spec.JobID
	var err error
	if f.Since, err = parseWhen(spec.Since, now); err != nil {
		bad("since", err)
	}
	if f.Until, err = parseWhen(spec.Until, now); err != nil {
		bad("until", err)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		bad("since", fmt.Errorf("%s is not before until (%s)", spec.Since, spec.Until))
	}
	if spec.Limit != "" {
		if f.Limit, err = strconv.Atoi(spec.Limit); err != nil || f.Limit < 1 {
			bad("limit", fmt.Errorf("%q: want a number, 1 or more", spec.Limit))
		}
	}
	if len(errs) > 0 {
		return Filter{}, errors.Join(errs...)
	}
	return f, nil
}

// parseWhen reads a point in time: "" (none), a duration back from now ("90m", "2d"), an
// RFC 3339 time, or a date (midnight UTC).
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration back from now (90m, 1h, 2d) nor an RFC 3339 time (2025-01-31T08:00:00Z) or UTC date (2025-01-31)", s)
}
