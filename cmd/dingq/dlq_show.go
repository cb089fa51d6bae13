package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/dingq/dingq/worker/deadletters"
)

const (
	// shortError is how much of Dingq-Error a listing shows.
	shortError = 60
	// tableBlock is how many rows a table aligns at a time: a long listing starts printing at
	// once instead of after the whole stream was read.
	tableBlock = 1000
)

// dlqList is `dingq dlq list`: a table of the dead letters a filter selects, or JSON lines.
func dlqList(ctx context.Context, args []string, std stdio) error {
	o, err := parseDLQ("list", "[filters] [--json]", args, std, dlqTakes{filters: true})
	if err != nil {
		return err
	}
	if len(o.refs) > 0 {
		return usageError{errors.New("list takes no arguments, only filters (dingq dlq show <seq|job-id> shows one)")}
	}
	store, done, err := o.openDeadLetters(ctx)
	if err != nil {
		return err
	}
	defer done()
	t := newLetterTable(std.out, o.json)
	if err := store.Scan(ctx, o.filter, func(l deadletters.Letter) error { return t.add(l) }); err != nil {
		return err
	}
	return t.flush()
}

// letterTable prints dead letters as a table, or as JSON lines, as they come.
type letterTable struct {
	json bool
	out  io.Writer
	tw   *tabwriter.Writer
	enc  *json.Encoder
	rows int
}

func newLetterTable(w io.Writer, asJSON bool) *letterTable {
	return &letterTable{json: asJSON, out: w, tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0), enc: json.NewEncoder(w)}
}

func (t *letterTable) add(l deadletters.Letter) error {
	t.rows++
	if t.json {
		return t.enc.Encode(l)
	}
	if t.rows == 1 {
		fmt.Fprintln(t.tw, "SEQ\tKIND\tJOB ID\tREASON\tCODE\tATTEMPTS\tFAILED AT\tERROR")
	}
	_, err := fmt.Fprintf(t.tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s%s\n", l.Seq, orDash(string(l.Kind)), orDash(l.JobID),
		orDash(l.Reason), orDash(l.Code), l.Attempts, l.When().Format(time.RFC3339), marks(l), orDash(deadletters.Shorten(l.Error, shortError)))
	if err == nil && t.rows%tableBlock == 0 {
		err = t.tw.Flush()
	}
	return err
}

// marks flags, ahead of its error, a dead letter a worker had to trim to store it.
func marks(l deadletters.Letter) string {
	var s string
	for _, m := range l.TrimMarks() {
		s += "[" + m + "] "
	}
	return s
}

// flush ends the table; in text, an empty one says so.
func (t *letterTable) flush() error {
	if t.rows == 0 && !t.json {
		_, err := fmt.Fprintln(t.out, "no dead letters match")
		return err
	}
	return t.tw.Flush()
}

// dlqShow is `dingq dlq show`: each named dead letter with every header and its body.
func dlqShow(ctx context.Context, args []string, std stdio) error {
	o, err := parseDLQ("show", "<seq|job-id>... [--json] [--reveal]", args, std, dlqTakes{show: true})
	if err != nil {
		return err
	}
	if len(o.refs) == 0 {
		return usageError{errors.New("want a dead letter: dingq dlq show <seq|job-id>")}
	}
	store, done, err := o.openDeadLetters(ctx)
	if err != nil {
		return err
	}
	defer done()
	found, err := store.Resolve(ctx, o.refs)
	for i, ls := range found {
		for _, l := range ls {
			if i > 0 || l.Seq != ls[0].Seq {
				if !o.json {
					fmt.Fprintln(std.out)
				}
			}
			if werr := showLetter(std.out, l, o.json, o.reveal); werr != nil {
				return werr
			}
		}
	}
	return refErrors(err)
}

// shownLetter is a dead letter in full, as `show --json` prints it: the body as a string when it
// is UTF-8 (a job's JSON, exactly as published, unless deadletters.Masked), in base64 otherwise. Masked is
// set when secrets were replaced by [deadletters.Masked]: such a body is not the job as published.
type shownLetter struct {
	deadletters.Letter
	Headers    map[string][]string `json:"headers"`
	Body       *string             `json:"body,omitempty"`
	BodyBase64 string              `json:"body_base64,omitempty"`
	Masked     bool                `json:"masked,omitempty"`
}

// showLetter prints l, its secrets masked (see [deadletters.Mask]) unless reveal. Sizes are the
// stored body's, before masking.
func showLetter(w io.Writer, stored deadletters.Letter, asJSON, reveal bool) error {
	l, wasMasked := stored, false
	if !reveal {
		l, wasMasked = deadletters.Mask(stored)
	}
	if asJSON {
		s := shownLetter{Letter: l, Headers: l.Header, Masked: wasMasked}
		if utf8.Valid(l.Data) {
			body := string(l.Data)
			s.Body = &body
		} else {
			s.BodyBase64 = base64.StdEncoding.EncodeToString(l.Data)
		}
		return json.NewEncoder(w).Encode(s)
	}
	fmt.Fprintf(w, "dead letter %d on %s, stored %s\n", l.Seq, l.Subject, l.StoredAt.Format(time.RFC3339))
	fmt.Fprintf(w, "job %s (%s), %s", orDash(l.JobID), orDash(string(l.Kind)), orDash(l.Reason))
	if l.Code != "" {
		fmt.Fprintf(w, ": %s", l.Code)
	}
	if l.HTTPStatus != 0 {
		fmt.Fprintf(w, " (HTTP %d)", l.HTTPStatus)
	}
	fmt.Fprintf(w, " after %d attempt(s), at %s\n", l.Attempts, l.When().Format(time.RFC3339))
	if l.Error != "" {
		fmt.Fprintf(w, "error: %s\n", l.Error)
	}
	for _, t := range stored.Trimmed() {
		fmt.Fprintln(w, t)
	}
	if wasMasked {
		fmt.Fprintf(w, "secrets masked: the values of sk and access_token show as %s (--reveal prints them)\n", deadletters.Masked)
	}
	fmt.Fprintln(w, "headers:")
	keys := make([]string, 0, len(l.Header))
	for k := range l.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range l.Header[k] {
			fmt.Fprintf(w, "  %s: %s\n", k, deadletters.Printable(v))
		}
	}
	if t := l.Truncated; t != nil && t.Length > 0 {
		fmt.Fprintf(w, "body (%d bytes: the first of the job's %d, truncated):\n", len(stored.Data), t.Length)
	} else if t != nil {
		fmt.Fprintf(w, "body (%d bytes, truncated):\n", len(stored.Data))
	} else {
		fmt.Fprintf(w, "body (%d bytes):\n", len(stored.Data))
	}
	if utf8.Valid(l.Data) {
		_, err := fmt.Fprintf(w, "%s\n", l.Data)
		return err
	}
	_, err := fmt.Fprintf(w, "(not UTF-8; base64) %s\n", base64.StdEncoding.EncodeToString(l.Data))
	return err
}

// refErrors adds a hint to a dead letter that was not found by a number.
func refErrors(err error) error {
	if errors.Is(err, deadletters.ErrNotFound) {
		return fmt.Errorf("%w\n(a number is a sequence of the dead-letter stream; write id:<job-id> for a job id made of digits; dingq dlq list shows both)", err)
	}
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
