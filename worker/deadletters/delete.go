package deadletters

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
)

// Delete removes the dead letter at seq. One that is already gone is an error wrapping
// [ErrNotFound].
func (s *Store) Delete(ctx context.Context, seq uint64) error {
	err := s.dead.DeleteMsg(ctx, seq)
	if err == nil {
		return nil
	}
	// The server's answer for a missing message is only text: ask for the message instead.
	if _, gerr := s.dead.GetMsg(ctx, seq); errors.Is(gerr, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("%w at seq %d", ErrNotFound, seq)
	}
	return fmt.Errorf("delete dead letter %d: %w", seq, err)
}

// PurgeThrough removes, in one request, every dead letter of kind ("" for every kind) whose
// sequence is at most last. Dead letters stored after last stay.
func (s *Store) PurgeThrough(ctx context.Context, kind schema.Kind, last uint64) error {
	if err := s.dead.Purge(ctx, jetstream.WithPurgeSubject(s.subject(kind)), jetstream.WithPurgeSequence(last+1)); err != nil {
		return fmt.Errorf("purge %s: %w", s.names.DeadStream(), err)
	}
	return nil
}
