package deadletters

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Ref names dead letters on the command line: a sequence of the dead-letter stream, or a job id
// (every dead letter of that job).
type Ref struct {
	Seq   uint64 // set for a sequence
	JobID string // set for a job id
}

// ParseRef reads "17" or "seq:17" as a sequence, "id:<job id>" as a job id (the way to name a
// job id made of digits), and anything else as a job id.
func ParseRef(s string) (Ref, error) {
	switch {
	case strings.HasPrefix(s, "id:"):
		if s == "id:" {
			return Ref{}, errors.New(`"id:" names no job id`)
		}
		return Ref{JobID: s[3:]}, nil
	case strings.HasPrefix(s, "seq:"), s != "" && strings.Trim(s, "0123456789") == "":
		seq, err := strconv.ParseUint(strings.TrimPrefix(s, "seq:"), 10, 64)
		if err != nil || seq == 0 {
			return Ref{}, fmt.Errorf("%q is not a sequence number (1 or more)", s)
		}
		return Ref{Seq: seq}, nil
	case s == "":
		return Ref{}, errors.New("an empty argument names no dead letter")
	}
	return Ref{JobID: s}, nil
}

func (r Ref) String() string {
	if r.JobID != "" {
		return "job id " + r.JobID
	}
	return "seq " + strconv.FormatUint(r.Seq, 10)
}

// Resolve returns, for each ref in order, the dead letters it names, headers and bodies
// included: the one at a sequence, or every one with a job id, oldest first. Job ids are looked up
// in one browse of the whole stream. Every ref that names no dead letter is reported, joined, each
// wrapping [ErrNotFound].
func (s *Store) Resolve(ctx context.Context, refs []Ref) ([][]Letter, error) {
	out := make([][]Letter, len(refs))
	byJob := map[string][]Letter{}
	var errs []error
	for i, r := range refs {
		if r.JobID != "" {
			byJob[r.JobID] = nil
			continue
		}
		l, err := s.Get(ctx, r.Seq)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if err == nil {
			out[i] = []Letter{l}
		}
	}
	if len(byJob) > 0 {
		err := s.Scan(ctx, Filter{}, func(l Letter) error {
			if ls, ok := byJob[l.JobID]; ok {
				byJob[l.JobID] = append(ls, l)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for i, r := range refs {
		if r.JobID != "" {
			out[i] = byJob[r.JobID]
		}
		if len(out[i]) == 0 {
			errs = append(errs, fmt.Errorf("%w with %s", ErrNotFound, r))
		}
	}
	return out, errors.Join(errs...)
}
