package deadletters

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// clockSkew widens the stored-time bounds of a browse or a page: Dingq-Failed-At is the worker's
// clock, the stored time the server's, and a time filter must not miss a dead letter between
// them. (A variable only so that a test can narrow it.)
var clockSkew = 5 * time.Minute

const (
	// browseIdle is how long a browse waits for the next message before it asks the server
	// whether any is left (they may have been deleted meanwhile).
	browseIdle = 5 * time.Second
	// browseBuffer is how many messages a browse prefetches; browseHeadersBuffer how many
	// headers-only messages (small, and many read in a row).
	browseBuffer        = 512
	browseHeadersBuffer = 4096
	// browseInactive lets the server delete a browse's consumer if this process dies mid-browse.
	browseInactive = 30 * time.Second
)

// errBrowseDone ends a browse that has read everything it should.
var errBrowseDone = errors.New("browse done")

// Scan calls fn for each dead letter f matches, oldest first, with its headers and body, until
// f.Limit matches, the dead letters that were there when Scan started are all read, or fn
// returns an error (which Scan returns). It browses with an ordered consumer, filtered on the
// server by kind and positioned by f.Since, and deletes that consumer when it returns.
func (s *Store) Scan(ctx context.Context, f Filter, fn func(Letter) error) error {
	matched := 0
	return s.browseAll(ctx, f, false, func(m jetstream.Msg, meta *jetstream.MsgMetadata) (bool, error) {
		l := newLetter(s.names, meta.Sequence.Stream, m.Subject(), m.Headers(), m.Data(), meta.Timestamp)
		if !f.Match(l) {
			return true, nil
		}
		if err := fn(l); err != nil {
			return false, err
		}
		matched++
		return f.Limit <= 0 || matched < f.Limit, nil
	})
}

// browseAll calls fn for each message a browse positioned and filtered by f delivers (headers
// only when headersOnly), oldest first, until the messages that were there when it started are
// all read, the stored times pass f.Until, or fn returns false or an error (which browseAll
// returns as it is).
func (s *Store) browseAll(ctx context.Context, f Filter, headersOnly bool,
	fn func(m jetstream.Msg, meta *jetstream.MsgMetadata) (more bool, err error)) error {
	info, err := s.dead.Info(ctx)
	if err != nil {
		return fmt.Errorf("read stream %s: %w", s.names.DeadStream(), err)
	}
	if info.State.Msgs == 0 {
		return nil
	}
	// A filter on the subjects the stream holds anyway only costs the server a match a message.
	whole := f.Kind == "" && slices.Equal(info.Config.Subjects, []string{s.subject("")})
	b, err := s.browse(ctx, f, headersOnly, whole)
	if errors.Is(err, errBrowseDone) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("browse %s: %w", s.names.DeadStream(), err)
	}
	defer b.close()
	last := info.State.LastSeq
	for {
		m, err := b.next(ctx)
		if errors.Is(err, errBrowseDone) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("browse %s: %w", s.names.DeadStream(), err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("browse %s: %w", s.names.DeadStream(), err)
		}
		if more, err := fn(m, meta); err != nil || !more {
			return err
		}
		if meta.NumPending == 0 || meta.Sequence.Stream >= last ||
			!f.Until.IsZero() && meta.Timestamp.After(f.Until.Add(clockSkew)) {
			return nil
		}
	}
}

// browse is one ordered consumer over the dead-letter stream.
type browse struct {
	js     jetstream.JetStream
	stream string
	cons   jetstream.Consumer
	msgs   jetstream.MessagesContext
	// The consumer and consumer sequence of the last message read: the ordered consumer
	// replaces its server-side consumer after a gap, and its counts start again.
	lastConsumer string
	lastSeq      uint64
}

// browse starts a browse of the dead letters of f.Kind, from f.Since on: of every message in
// the stream, unfiltered, when whole says the stream holds dead letters only. headersOnly
// leaves their bodies on the server. It returns errBrowseDone when there is nothing to read.
func (s *Store) browse(ctx context.Context, f Filter, headersOnly, whole bool) (*browse, error) {
	cfg := jetstream.OrderedConsumerConfig{
		InactiveThreshold: browseInactive,
		HeadersOnly:       headersOnly,
	}
	if !whole {
		cfg.FilterSubjects = []string{s.subject(f.Kind)}
	}
	if !f.Since.IsZero() {
		start := f.Since.Add(-clockSkew)
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &start
	}
	cons, err := s.js.OrderedConsumer(ctx, s.names.DeadStream(), cfg)
	if err != nil {
		return nil, err
	}
	buffer := browseBuffer
	if headersOnly {
		buffer = browseHeadersBuffer
	}
	msgs, err := cons.Messages(jetstream.PullMaxMessages(buffer))
	if err != nil {
		return nil, err
	}
	b := &browse{js: s.js, stream: s.names.DeadStream(), cons: cons, msgs: msgs}
	if done, err := b.done(ctx); err != nil || done {
		b.close()
		if err == nil {
			err = errBrowseDone
		}
		return nil, err
	}
	return b, nil
}

// next returns the next message, or errBrowseDone when the server has none left for it.
func (b *browse) next(ctx context.Context) (jetstream.Msg, error) {
	for {
		wait, cancel := context.WithTimeout(ctx, browseIdle)
		m, err := b.msgs.Next(jetstream.NextContext(wait))
		cancel()
		if err == nil {
			if meta, err := m.Metadata(); err == nil {
				b.lastConsumer, b.lastSeq = meta.Consumer, meta.Sequence.Consumer
			}
			return m, nil
		}
		if ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		if done, err := b.done(ctx); err != nil || done {
			if err == nil {
				err = errBrowseDone
			}
			return nil, err
		}
	}
}

// done reports whether the server has no matching message left to deliver and every one it
// delivered was read. (Messages may already sit in the client's buffer when the server's count
// of those pending reaches zero.)
func (b *browse) done(ctx context.Context) (bool, error) {
	info, err := b.cons.Info(ctx)
	if err != nil {
		return false, err
	}
	if info.NumPending > 0 {
		return false, nil
	}
	return info.Delivered.Consumer == 0 || info.Name == b.lastConsumer && info.Delivered.Consumer <= b.lastSeq, nil
}

// close stops the browse and deletes its consumer rather than leave it to the server's
// inactivity timeout.
func (b *browse) close() {
	b.msgs.Stop()
	if info := b.cons.CachedInfo(); info != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.js.DeleteConsumer(ctx, b.stream, info.Name)
	}
}
