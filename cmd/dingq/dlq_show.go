package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

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
		orDash(l.Reason), orDash(l.Code), l.Attempts, l.When().Format(time.RFC3339), trimMarks(l), orDash(shorten(l.Error, shortError)))
	if err == nil && t.rows%tableBlock == 0 {
		err = t.tw.Flush()
	}
	return err
}

// trimMarks flags, ahead of its error, a dead letter a worker had to trim to store it: one with a
// truncated body, which cannot be replayed, or with job headers left out.
func trimMarks(l deadletters.Letter) string {
	var m string
	if l.Truncated != nil {
		m += "[body truncated] "
	}
	if len(l.DroppedHeaders) > 0 || l.DroppedMore > 0 {
		m += "[headers dropped] "
	}
	return m
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
// is UTF-8 (a job's JSON, exactly as published, unless masked), in base64 otherwise. Masked is
// set when secrets were replaced by [masked]: such a body is not the job as published.
type shownLetter struct {
	deadletters.Letter
	Headers    map[string][]string `json:"headers"`
	Body       *string             `json:"body,omitempty"`
	BodyBase64 string              `json:"body_base64,omitempty"`
	Masked     bool                `json:"masked,omitempty"`
}

// showLetter prints l, its secrets masked (see [maskLetter]) unless reveal. Sizes are the
// stored body's, before masking.
func showLetter(w io.Writer, stored deadletters.Letter, asJSON, reveal bool) error {
	l, wasMasked := stored, false
	if !reveal {
		l, wasMasked = maskLetter(stored)
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
	showTrimmed(w, stored)
	if wasMasked {
		fmt.Fprintf(w, "secrets masked: the values of sk and access_token show as %s (--reveal prints them)\n", masked)
	}
	fmt.Fprintln(w, "headers:")
	keys := make([]string, 0, len(l.Header))
	for k := range l.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range l.Header[k] {
			fmt.Fprintf(w, "  %s: %s\n", k, printable(v))
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

// showTrimmed says plainly what a worker left out of a dead letter to store it.
func showTrimmed(w io.Writer, l deadletters.Letter) {
	if t := l.Truncated; t != nil {
		if t.Length > 0 {
			fmt.Fprintf(w, "body truncated: only the first %d of the job's %d bytes were kept (the whole body's sha256 %s); it cannot be replayed\n",
				len(l.Data), t.Length, orDash(t.SHA256))
		} else {
			fmt.Fprintf(w, "body truncated: only the first %d bytes of the job's body were kept; it cannot be replayed\n", len(l.Data))
		}
	}
	if len(l.DroppedHeaders) > 0 || l.DroppedMore > 0 {
		quoted := make([]string, len(l.DroppedHeaders))
		for i, k := range l.DroppedHeaders {
			quoted[i] = strconv.Quote(k)
		}
		if l.DroppedMore > 0 {
			quoted = append(quoted, fmt.Sprintf("and %d more", l.DroppedMore))
		}
		fmt.Fprintf(w, "headers dropped from the job (a name a NATS client cannot publish, or too large to fit; values not kept): %s\n",
			strings.Join(quoted, ", "))
	}
}

// printable is a header value as show prints it: as it is, or Go-quoted if it holds a control
// character or is not UTF-8 (a producer on another client can send any byte but a line break),
// so that a value cannot drive the terminal.
func printable(v string) string {
	if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
		return strconv.Quote(v)
	}
	return v
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

// shorten cuts s to at most n characters.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-3])) + "..."
}

// thousands writes n with thousands separators: 2,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// masked stands in for a secret's value in what `dlq show` prints without --reveal: the same
// marker the configuration's String and the dispatcher's errors use.
const masked = "[redacted]"

// maskLetter returns l with the values of its secrets replaced by [masked], and whether any was:
// in the body (see [maskBody]), in every header value that carries an access_token or sk query
// parameter (the whole value of a header named sk or access_token), and in the error. l itself,
// which the store may share, is not changed.
func maskLetter(l deadletters.Letter) (deadletters.Letter, bool) {
	var changed bool
	if l.Header != nil {
		h := make(nats.Header, len(l.Header))
		for k, vs := range l.Header {
			out := make([]string, len(vs))
			for i, v := range vs {
				if isSecretName(k) && v != "" {
					out[i] = masked
				} else {
					out[i] = maskQuery(v)
				}
				changed = changed || out[i] != v
			}
			h[k] = out
		}
		l.Header = h
	}
	if e := maskQuery(l.Error); e != l.Error {
		l.Error, changed = e, true
	}
	if b := maskBody(l.Data); !bytes.Equal(b, l.Data) {
		l.Data, changed = b, true
	}
	return l, changed
}

// maskBody returns a job's body with the value of every member named sk or access_token (in any
// case, at any depth) replaced by [masked], and in every other string the value of each
// access_token and sk query parameter. A member whose value is null or "" is kept: it shows that
// the secret is not set. The rest of the body is kept byte for byte, and JSON stays valid. A body
// that is not JSON (one truncated to be stored, say) is masked as text: access_token=... and
// sk=... and "sk": "..." and "access_token": "..." wherever they occur. The result is body itself
// when nothing was masked.
func maskBody(body []byte) []byte {
	if len(body) == 0 {
		return body
	}
	if json.Valid(body) {
		return maskJSON(body)
	}
	out := secretMember.ReplaceAll(body, []byte("${1}"+masked))
	out = secretQuery.ReplaceAll(out, []byte("${1}="+masked))
	if bytes.Equal(out, body) {
		return body
	}
	return out
}

var (
	// secretQuery is an access_token or sk query parameter and its value, which ends where the
	// parameter, the URL, a string or an escape (\u0026 for '&' in JSON) does.
	secretQuery = regexp.MustCompile(`(?i)\b(access_token|sk)=[^&#\s"'<>\\]+`)
	// secretMember is a JSON member named sk or access_token with a string value that is not
	// empty, and may be cut short with its body; group 1 is all before the value.
	secretMember = regexp.MustCompile(`(?is)("(?:access_token|sk)"\s*:\s*")(?:[^"\\]|\\.)+`)
)

// maskQuery replaces the value of every access_token and sk query parameter in s by [masked].
func maskQuery(s string) string {
	if !secretQuery.MatchString(s) {
		return s
	}
	return secretQuery.ReplaceAllString(s, "${1}="+masked)
}

// isSecretName reports a JSON member or header whose value is a secret.
func isSecretName(name string) bool {
	return strings.EqualFold(name, "sk") || strings.EqualFold(name, "access_token")
}

// maskJSON is maskBody of a valid JSON text. It walks the text's tokens and splices the masked
// values in at their offsets, so that whitespace, key order and escapes elsewhere are kept.
func maskJSON(data []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var (
		out  []byte // nil until something is masked
		kept int    // data[:kept] is in out
		prev int    // where the last token ended
		// objects[i] is set when the container at depth i+1 is an object, and wantKey[i] when
		// that object expects a key next.
		objects, wantKey []bool
		secret           bool // the next value is a secret member's
		whole            = -1 // where a secret object or array value starts, while it is skipped
		depth            int  // the depth of that value
	)
	replace := func(start, end int, with []byte) {
		out = append(append(out, data[kept:start]...), with...)
		kept = end
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			break // io.EOF: data is valid JSON, so there is no other error
		}
		end := int(dec.InputOffset())
		start := prev + len(data[prev:end]) - len(bytes.TrimLeft(data[prev:end], " \t\r\n,:"))
		prev = end
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' || t == '[' {
				if secret && whole < 0 {
					whole, depth = start, len(objects)
				}
				objects = append(objects, t == '{')
				wantKey = append(wantKey, t == '{')
				continue
			}
			objects, wantKey = objects[:len(objects)-1], wantKey[:len(wantKey)-1]
			if whole >= 0 && len(objects) == depth {
				replace(whole, end, jsonString(masked))
				whole, secret = -1, false
			}
		default:
			n := len(objects)
			if n > 0 && objects[n-1] && wantKey[n-1] {
				wantKey[n-1] = false
				if whole < 0 {
					secret = isSecretName(t.(string))
				}
				continue
			}
			switch {
			case whole >= 0: // inside a secret value, masked as a whole
			case secret:
				secret = false
				switch v := t.(type) {
				case string:
					if v != "" {
						replace(start, end, jsonString(masked))
					}
				case json.Number:
					replace(start, end, jsonString(masked))
				}
			default:
				if v, ok := t.(string); ok {
					if m := maskQuery(v); m != v {
						replace(start, end, jsonString(m))
					}
				}
			}
		}
		if n := len(objects); n > 0 && objects[n-1] {
			wantKey[n-1] = true
		}
	}
	if out == nil {
		return data
	}
	return append(out, data[kept:]...)
}

// jsonString is s as a JSON string, with no HTML escapes: "<" stays "<".
func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
