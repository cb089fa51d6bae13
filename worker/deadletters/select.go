package deadletters

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/dingq/dingq/schema"
)

// Selection is the dead letters a replay or a purge acts on, as [Store.Select] chose them.
type Selection struct {
	// Letters are their summaries ([Letter.Summary]), each once: oldest first when a filter
	// chose them, in the order the refs name them otherwise.
	Letters []Letter
	// whole is set when Letters is every dead letter of kind up to the last one's sequence (a
	// filter by kind and limit only): [Store.PurgeSelection] removes them in one request.
	whole bool
	kind  schema.Kind
}

// Select chooses the dead letters refs name or, when there are no refs, those f selects (f is
// not consulted otherwise). A ref that names no dead letter is an error wrapping [ErrNotFound],
// as [Store.Resolve] reports it. forReplay refuses a job id that names several dead letters:
// replaying them all would send the job several times, so each must be named by sequence.
func (s *Store) Select(ctx context.Context, refs []Ref, f Filter, forReplay bool) (Selection, error) {
	if len(refs) == 0 {
		sel := Selection{whole: !f.ByHeaders(), kind: f.Kind}
		err := s.Scan(ctx, f, func(l Letter) error {
			sel.Letters = append(sel.Letters, l.Summary())
			return nil
		})
		if err != nil {
			return Selection{}, err
		}
		return sel, nil
	}
	found, err := s.Resolve(ctx, refs)
	if err != nil {
		return Selection{}, err
	}
	var sel Selection
	seen := map[uint64]bool{}
	var errs []error
	for i, ls := range found {
		if forReplay && len(ls) > 1 {
			errs = append(errs, fmt.Errorf("%s names %d dead letters (seq %s): name the ones to replay by seq", refs[i], len(ls), seqList(ls)))
		}
		for _, l := range ls {
			if !seen[l.Seq] {
				seen[l.Seq] = true
				sel.Letters = append(sel.Letters, l.Summary())
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Selection{}, err
	}
	return sel, nil
}

func seqList(ls []Letter) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = strconv.FormatUint(l.Seq, 10)
	}
	return strings.Join(s, ", ")
}
