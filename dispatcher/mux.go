package dispatcher

import (
	"context"
	"maps"

	"github.com/dingq/dingq/schema"
)

// Mux routes a job to the sender of its kind. It is itself a [Sender], safe for concurrent use,
// and never changes after [NewMux].
type Mux struct {
	senders map[schema.Kind]Sender
}

var _ Sender = (*Mux)(nil)

// NewMux returns a mux over a copy of senders; nil senders are left out.
func NewMux(senders map[schema.Kind]Sender) *Mux {
	m := maps.Clone(senders)
	maps.DeleteFunc(m, func(_ schema.Kind, s Sender) bool { return s == nil })
	return &Mux{senders: m}
}

// Send hands job to the sender of job.Kind and returns its answer. A kind without a sender is a
// [*Error] with [Reject] and [CodeUnknownKind].
func (m *Mux) Send(ctx context.Context, job Job) error {
	s, ok := m.senders[job.Kind]
	if !ok {
		return rejectJob(CodeUnknownKind, "no sender for job kind "+string(job.Kind))
	}
	return s.Send(ctx, job)
}
