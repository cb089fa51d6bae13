package deadletters

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"
)

const (
	// DefaultPageSize is the Size of a [PageQuery] that sets none.
	DefaultPageSize = 50
	// MaxPageSize bounds a [PageQuery]'s Size: a larger one is taken as this.
	MaxPageSize = 500
	// DefaultMaxScan is the MaxScan of a [PageQuery] that sets none.
	DefaultMaxScan = 5000

	// pageReadsInFlight is how many single-message reads a page has waiting at once.
	pageReadsInFlight = 64
	// pageWindowMax is the most sequences a page asks for in one go, past those it needs.
	pageWindowMax = 512
)

// PageQuery asks [Store.Page] for one page of dead letters.
type PageQuery struct {
	// Filter selects the dead letters. Its Limit is ignored: Size bounds a page.
	Filter Filter
	// Size is how many dead letters a page holds at most. Default 0 (or less): DefaultPageSize;
	// more than MaxPageSize is MaxPageSize.
	Size int
	// Before is the cursor: the page holds dead letters stored before this sequence. Default 0:
	// from the newest. The Next of one page is the Before of the page after it.
	Before uint64
	// MaxScan bounds the sequences a page reads, each a request to the server, deleted ones
	// included: a filter that few dead letters match stops there with a partial page rather
	// than read the whole stream. Default 0 (or less): DefaultMaxScan.
	MaxScan int
}

// Page is one page of dead letters, the newest first.
type Page struct {
	// Letters are the summaries ([Letter.Summary]) of the dead letters the query's filter
	// matches, newest first, at most its Size. Never nil.
	Letters []Letter `json:"letters"`
	// Next is the cursor of the next page, of older dead letters: the query's Before for it. 0
	// when none is left to read.
	Next uint64 `json:"next,omitempty"`
	// Scanned is how many sequences the page read, deleted ones included. (A time condition's
	// search for where to start, a few reads, is not counted.)
	Scanned int `json:"scanned"`
	// Partial is set when the page stopped at the query's MaxScan before it was full: older dead
	// letters may match too, and Next says where to read on.
	Partial bool `json:"partial,omitempty"`
}

// Page returns the dead letters q.Filter matches, newest first, stored before q.Before: at most
// q.Size of them, read from at most q.MaxScan sequences. It never reads the whole stream: it
// reads single messages backwards from q.Before, several at a time, and stops when the page is
// full, at q.MaxScan, or at the oldest dead letter that can match. A time condition sets where
// it starts and stops by a binary search on the stored times (letters are stored in the order
// they failed, within clockSkew of their Dingq-Failed-At), not by reading its way there. A
// kind's, reason's, code's or job id's dead letters are found by reading past the others', so
// a rare one may take more than one page's MaxScan to reach: the page is then Partial.
func (s *Store) Page(ctx context.Context, q PageQuery) (Page, error) {
	size, maxScan := q.Size, q.MaxScan
	if size <= 0 {
		size = DefaultPageSize
	}
	size = min(size, MaxPageSize)
	if maxScan <= 0 {
		maxScan = DefaultMaxScan
	}
	f := q.Filter
	p := Page{Letters: make([]Letter, 0, min(size, 64))}

	info, err := s.dead.Info(ctx)
	if err != nil {
		return Page{}, fmt.Errorf("read stream %s: %w", s.names.DeadStream(), err)
	}
	if info.State.Msgs == 0 {
		return p, nil
	}
	lo, hi := info.State.FirstSeq, info.State.LastSeq
	if q.Before != 0 {
		if q.Before <= lo {
			return p, nil
		}
		hi = min(hi, q.Before-1)
	}
	var since time.Time
	if !f.Since.IsZero() {
		since = f.Since.Add(-clockSkew)
		// Every dead letter stored before since failed before f.Since.
		if lo, err = s.firstStoredFrom(ctx, f, since, lo, hi); err != nil {
			return Page{}, err
		}
	}
	if !f.Until.IsZero() && lo <= hi {
		// Every dead letter stored at or after Until+clockSkew failed at or after f.Until.
		first, err := s.firstStoredFrom(ctx, f, f.Until.Add(clockSkew), lo, hi)
		if err != nil {
			return Page{}, err
		}
		hi = first - 1
	}

	window := size
	for hi >= lo {
		n := min(uint64(window), hi-lo+1, uint64(maxScan-p.Scanned))
		from := hi - n + 1
		msgs, err := s.getRange(ctx, from, hi)
		if err != nil {
			return Page{}, err
		}
		matched := 0
		for i := len(msgs) - 1; i >= 0; i-- {
			p.Scanned++
			m := msgs[i]
			if m == nil { // deleted, or gone since
				continue
			}
			if !since.IsZero() && m.Time.Before(since) { // older than the search said: stop
				return p, nil
			}
			l := newLetter(s.names, m.Sequence, m.Subject, m.Header, m.Data, m.Time)
			if !f.Match(l) {
				continue
			}
			matched++
			p.Letters = append(p.Letters, l.Summary())
			if len(p.Letters) == size {
				if l.Seq > lo {
					p.Next = l.Seq
				}
				return p, nil
			}
		}
		hi = from - 1
		if from <= lo {
			break
		}
		if p.Scanned >= maxScan {
			p.Partial, p.Next = true, from
			return p, nil
		}
		window = nextWindow(size-len(p.Letters), matched, len(msgs))
	}
	return p, nil
}

// nextWindow is how many sequences to read next for need more matches, when matched of the
// last read did: as many as that rate says it takes, and some, within pageWindowMax; twice as
// many when none matched.
func nextWindow(need, matched, read int) int {
	if matched == 0 {
		return min(2*read, pageWindowMax)
	}
	w := need * read / matched
	return min(w+w/4+1, pageWindowMax)
}

// getRange reads the messages from seq from to to, several at a time. A sequence that holds no
// message (deleted, or gone since) is nil in the answer.
func (s *Store) getRange(ctx context.Context, from, to uint64) ([]*jetstream.RawStreamMsg, error) {
	out := make([]*jetstream.RawStreamMsg, to-from+1)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(pageReadsInFlight)
	for i := range out {
		seq := from + uint64(i)
		g.Go(func() error {
			m, err := s.dead.GetMsg(gctx, seq)
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("read dead letter %d: %w", seq, err)
			}
			out[i] = m
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// firstStoredFrom returns the first sequence in lo..hi+1 from which every dead letter of f.Kind
// was stored at or after t (hi+1 when none was), by a binary search on the stored times. Each
// step reads the first dead letter at or after a sequence, deleted sequences skipped by the
// server.
func (s *Store) firstStoredFrom(ctx context.Context, f Filter, t time.Time, lo, hi uint64) (uint64, error) {
	a, b := lo, hi+1
	for a < b {
		mid := a + (b-a)/2
		m, err := s.dead.GetMsg(ctx, mid, jetstream.WithGetMsgSubject(s.subject(f.Kind)))
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			b = mid // none stored from mid on
		case err != nil:
			return 0, fmt.Errorf("read dead letters from %d: %w", mid, err)
		case m.Time.Before(t):
			a = min(m.Sequence+1, b) // none of f.Kind between mid and m.Sequence
		default:
			b = mid
		}
	}
	return a, nil
}
