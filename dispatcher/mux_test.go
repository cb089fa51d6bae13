package dispatcher_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dingq/dingq/dispatcher"
	"github.com/dingq/dingq/schema"
)

func TestMux(t *testing.T) {
	var got []schema.Kind
	record := func(k schema.Kind) dispatcher.Sender {
		return dispatcher.SenderFunc(func(_ context.Context, job dispatcher.Job) error {
			got = append(got, k)
			return nil
		})
	}
	senders := map[schema.Kind]dispatcher.Sender{
		schema.KindCard:        record(schema.KindCard),
		schema.KindCrossDomain: record(schema.KindCrossDomain),
		schema.KindRobot:       nil, // left out
	}
	m := dispatcher.NewMux(senders)
	senders[schema.KindRobot] = record(schema.KindRobot) // the mux keeps its own copy

	tests := []struct {
		name     string
		kind     schema.Kind
		wantCode string // "" for routed
	}{
		{"card routed", schema.KindCard, ""},
		{"crossdomain routed", schema.KindCrossDomain, ""},
		{"nil sender is unknown", schema.KindRobot, dispatcher.CodeUnknownKind},
		{"unknown kind", schema.Kind("fax"), dispatcher.CodeUnknownKind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			err := m.Send(context.Background(), dispatcher.Job{Kind: tt.kind, ID: "j"})
			if tt.wantCode == "" {
				if err != nil || len(got) != 1 || got[0] != tt.kind {
					t.Fatalf("Send() = %v, routed to %v; want %s", err, got, tt.kind)
				}
				return
			}
			var de *dispatcher.Error
			if !errors.As(err, &de) || de.Decision != dispatcher.Reject || de.Code != tt.wantCode || len(got) != 0 {
				t.Fatalf("Send() = %v, routed to %v; want reject %s", err, got, tt.wantCode)
			}
		})
	}
}
