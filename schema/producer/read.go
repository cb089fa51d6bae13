package producer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/dingq/dingq/schema"
)

// maxListed caps how many invalid jobs [Read] names.
const maxListed = 10

// Entry is one job read by [Read], and where it is in the input.
type Entry struct {
	Job
	N    int // its position in the input, from 1
	Line int // the line it starts on, from 1
	Last int // the line it ends on
}

// Read decodes every JSON value of r (one job per line, or simply one after another) as a job of
// kind, compacted, and validates each with the workers' rules. It returns the jobs only when all
// are valid: invalid ones are reported together, up to 10, by position and job id; a value that
// is not JSON ends the read with an error naming its position; an input with no job is an error.
func Read(r io.Reader, kind schema.Kind) ([]Entry, error) {
	v, err := schema.NewValidator(schema.ValidatorConfig{})
	if err != nil {
		return nil, err
	}
	lines := &lineCounter{r: r, line: 1}
	dec := json.NewDecoder(lines)
	var entries []Entry
	var errs []error
	invalid := 0
	for n := 1; ; n++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("job %d is not JSON: %v", n, err)
		}
		end := dec.InputOffset()
		first := lines.lineAt(end - int64(len(raw)))
		last := lines.lineAt(end)
		var body bytes.Buffer
		_ = json.Compact(&body, raw)
		if err := v.Validate(kind, body.Bytes()); err != nil {
			invalid++
			if invalid <= maxListed {
				errs = append(errs, fmt.Errorf("job %d (%s): %w", n, schema.JobID(kind, "", body.Bytes()), err))
			}
			continue
		}
		entries = append(entries, Entry{Job: Job{Kind: kind, Body: body.Bytes()}, N: n, Line: first, Last: last})
	}
	if invalid > 0 {
		return nil, fmt.Errorf("%d invalid %s job(s):\n%w", invalid, kind, errors.Join(errs...))
	}
	if len(entries) == 0 {
		return nil, errors.New("no job")
	}
	return entries, nil
}

// lineCounter reads r and keeps the bytes read that are not yet counted, so that the line at an
// offset the JSON decoder reports can be told.
type lineCounter struct {
	r    io.Reader
	buf  []byte // the input from offset base on, as far as read
	base int64
	line int // the line at offset base, from 1
}

func (l *lineCounter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.buf = append(l.buf, p[:n]...)
	return n, err
}

// lineAt returns the line of offset off, which is no earlier than the last one asked about and
// not past what was read.
func (l *lineCounter) lineAt(off int64) int {
	k := int(off - l.base)
	l.line += bytes.Count(l.buf[:k], []byte{'\n'})
	l.buf, l.base = l.buf[k:], off
	return l.line
}

// Lines names the lines of entries, which are in input order: "line 5", "lines 5-9, 12-14".
func Lines(entries []Entry) string {
	var ranges []string
	for i := 0; i < len(entries); {
		j := i
		for j+1 < len(entries) && entries[j+1].N == entries[j].N+1 {
			j++
		}
		r := strconv.Itoa(entries[i].Line)
		if entries[j].Last != entries[i].Line {
			r += "-" + strconv.Itoa(entries[j].Last)
		}
		if len(ranges) == 0 || ranges[len(ranges)-1] != r { // two jobs of one line
			ranges = append(ranges, r)
		}
		i = j + 1
	}
	if len(ranges) == 1 && !strings.Contains(ranges[0], "-") {
		return "line " + ranges[0]
	}
	return "lines " + strings.Join(ranges, ", ")
}
