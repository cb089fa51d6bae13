package deadletters

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
)

var (
	// ErrNoStream is returned by [Open] when the dead-letter stream does not exist: no worker has
	// run with these names yet, or the subject prefix is not the workers'.
	ErrNoStream = errors.New("dead-letter stream not found")
	// ErrNotFound is returned for a dead letter that is not (or no longer) in the stream.
	ErrNotFound = errors.New("no such dead letter")
)

// Store reads and acts on the dead-letter stream. It is safe for concurrent use; each call is a
// few JetStream requests and holds no state between calls.
type Store struct {
	js    jetstream.JetStream
	names schema.Names
	dead  jetstream.Stream
}

// Open returns the store of names' dead-letter stream, or an error wrapping [ErrNoStream].
func Open(ctx context.Context, js jetstream.JetStream, names schema.Names) (*Store, error) {
	dead, err := js.Stream(ctx, names.DeadStream())
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("%w: %s (has a worker run with these subjects, %s?)", ErrNoStream, names.DeadStream(), names.DeadSubjects())
	}
	if err != nil {
		return nil, fmt.Errorf("open stream %s: %w", names.DeadStream(), err)
	}
	return &Store{js: js, names: names, dead: dead}, nil
}

// Get returns the dead letter at seq, headers and body included, or an error wrapping
// [ErrNotFound].
func (s *Store) Get(ctx context.Context, seq uint64) (Letter, error) {
	m, err := s.dead.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return Letter{}, fmt.Errorf("%w at seq %d", ErrNotFound, seq)
	}
	if err != nil {
		return Letter{}, fmt.Errorf("read dead letter %d: %w", seq, err)
	}
	return newLetter(s.names, m.Sequence, m.Subject, m.Header, m.Data, m.Time), nil
}

// subject is the dead-letter subject filter for kind ("" for every kind).
func (s *Store) subject(kind schema.Kind) string {
	if kind == "" {
		return s.names.DeadSubjects()
	}
	return s.names.DeadSubject(kind)
}
