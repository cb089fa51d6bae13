package schema

import (
	"regexp"
	"strings"
	"testing"
)

func TestJobID(t *testing.T) {
	card, cross, robot := example(t, "card_group"), example(t, "crossdomain"), example(t, "robot")
	tests := []struct {
		name  string
		kind  Kind
		msgID string
		body  []byte
		want  string
	}{
		{"card outTrackId", KindCard, "", card, "order-20241122-0001"},
		{"card msgID wins", KindCard, "nats-1", card, "nats-1"},
		{"crossdomain message_id", KindCrossDomain, "", cross, "321443"},
		{"crossdomain msgID wins", KindCrossDomain, "nats-2", cross, "nats-2"},
		{"robot hash", KindRobot, "", robot, BodyHash(robot)},
		{"robot msgID wins", KindRobot, "nats-3", robot, "nats-3"},
		{"card without outTrackId", KindCard, "", []byte(`{"robotCode":"r"}`), BodyHash([]byte(`{"robotCode":"r"}`))},
		{"card with empty outTrackId", KindCard, "", []byte(`{"outTrackId":""}`), BodyHash([]byte(`{"outTrackId":""}`))},
		{"card outTrackId a number", KindCard, "", []byte(`{"outTrackId":7}`), BodyHash([]byte(`{"outTrackId":7}`))},
		{"card not JSON", KindCard, "", []byte(`not json`), BodyHash([]byte(`not json`))},
		{"crossdomain not JSON", KindCrossDomain, "", []byte(`{`), BodyHash([]byte(`{`))},
		{"crossdomain id of a card", KindCrossDomain, "", card, BodyHash(card)},
		{"card id of a crossdomain", KindCard, "", cross, BodyHash(cross)},
		{"empty body", KindCard, "", nil, BodyHash(nil)},
		{"unknown kind", "sms", "", card, BodyHash(card)},
		{"unknown kind msgID", "sms", "nats-4", card, "nats-4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := JobID(tt.kind, tt.msgID, tt.body); got != tt.want {
				t.Errorf("JobID = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBodyHash(t *testing.T) {
	h := BodyHash([]byte(`{"a":1}`))
	if !regexp.MustCompile(`^sha256-[0-9a-f]{32}$`).MatchString(h) {
		t.Errorf("BodyHash = %q, want sha256- and 32 hex digits", h)
	}
	if BodyHash([]byte(`{"a":1}`)) != h {
		t.Error("BodyHash is not stable")
	}
	if BodyHash([]byte(`{"a":2}`)) == h {
		t.Error("different bodies share a hash")
	}
	// SHA-256 of the empty string starts e3b0c442...
	if got, want := BodyHash(nil), "sha256-e3b0c44298fc1c149afbf4c8996fb924"; got != want {
		t.Errorf("BodyHash(nil) = %q, want %q", got, want)
	}
}

func TestJobIDReadsTheExactKey(t *testing.T) {
	body := []byte(`{"outTrackId":"a","OUTTRACKID":"b"}`)
	if got := JobID(KindCard, "", body); got != "a" {
		t.Errorf("JobID = %q, want a (keys are case-sensitive)", got)
	}
}

func TestJobIDNeverCarriesControlCharacters(t *testing.T) {
	for _, body := range []string{`{"outTrackId":"a\r\nX-Injected: 1"}`, `{"outTrackId":"` + strings.Repeat("x", 300) + `"}`} {
		if got, want := JobID(KindCard, "", []byte(body)), BodyHash([]byte(body)); got != want {
			t.Errorf("JobID(%.40s...) = %q, want the body hash", body, got)
		}
	}
}
