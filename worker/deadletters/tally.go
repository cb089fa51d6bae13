package deadletters

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dingq/dingq/schema"
)

// Tally counts the dead letters, for an overview.
type Tally struct {
	// Total is how many dead letters there are.
	Total int `json:"total"`
	// Oldest and Newest are when the oldest and the newest dead letter were stored. Zero when
	// there are none.
	Oldest time.Time `json:"oldest,omitzero"`
	Newest time.Time `json:"newest,omitzero"`
	// ByKind counts them by kind ("" for a subject that names none), ByReason by Dingq-Reason.
	ByKind   map[schema.Kind]int `json:"by_kind"`
	ByReason map[string]int      `json:"by_reason"`
	// Codes counts them by kind, reason and error code together: the most first, then by kind,
	// reason and code.
	Codes []CodeCount `json:"codes"`
}

// CodeCount is how many dead letters share a kind, a reason and an error code.
type CodeCount struct {
	Kind   schema.Kind `json:"kind"`
	Reason string      `json:"reason"`
	Code   string      `json:"code"`
	Count  int         `json:"count"`
}

// Tally counts the dead letters stored when it starts. It reads their headers only, with one
// ordered consumer that it deletes when it returns: the bodies stay on the server.
func (s *Store) Tally(ctx context.Context) (Tally, error) {
	t := Tally{ByKind: map[schema.Kind]int{}, ByReason: map[string]int{}, Codes: []CodeCount{}}
	type cause struct {
		kind         schema.Kind
		reason, code string
	}
	causes := map[cause]int{}
	err := s.browseAll(ctx, Filter{}, true, func(m jetstream.Msg, meta *jetstream.MsgMetadata) (bool, error) {
		kind, _ := s.names.KindOf(m.Subject())
		h := m.Headers()
		c := cause{kind, h.Get(schema.HeaderReason), h.Get(schema.HeaderErrorCode)}
		causes[c]++
		t.ByKind[c.kind]++
		t.ByReason[c.reason]++
		t.Total++
		if at := meta.Timestamp.UTC(); t.Oldest.IsZero() || at.Before(t.Oldest) {
			t.Oldest = at
		}
		if at := meta.Timestamp.UTC(); at.After(t.Newest) {
			t.Newest = at
		}
		return true, nil
	})
	if err != nil {
		return Tally{}, err
	}
	for c, n := range causes {
		t.Codes = append(t.Codes, CodeCount{Kind: c.kind, Reason: c.reason, Code: c.code, Count: n})
	}
	slices.SortFunc(t.Codes, func(a, b CodeCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(a.Reason, b.Reason), cmp.Compare(a.Code, b.Code))
	})
	return t, nil
}
