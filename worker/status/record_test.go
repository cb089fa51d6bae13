package status_test

import (
	"strings"
	"testing"

	"github.com/dingq/dingq/worker/status"
)

func TestKey(t *testing.T) {
	long := strings.Repeat("a", 201)
	cases := []struct {
		kind, id string
		want     string // "" means: kind "." and a hash
	}{
		{"card", "order-17", "card.order-17"},
		{"robot", "sha_1=x", "robot.sha_1=x"},
		{"card", "order.17", ""},
		{"card", "order 17/ü", ""},
		{"card", "", ""},
		{"card", long, ""},
		{"card", strings.Repeat("a", 200), "card." + strings.Repeat("a", 200)},
	}
	for _, c := range cases {
		got := status.Key(c.kind, c.id)
		if c.want != "" && got != c.want {
			t.Errorf("Key(%q, %q) = %q, want %q", c.kind, c.id, got, c.want)
		}
		if c.want == "" && (!strings.HasPrefix(got, c.kind+".sha256-") || len(got) != len(c.kind)+len(".sha256-")+32) {
			t.Errorf("Key(%q, %q) = %q, want %s.sha256-<32 hex>", c.kind, c.id, got, c.kind)
		}
	}
	if status.Key("card", "order.17") == status.Key("card", "order 17/ü") {
		t.Error("two ids share a hashed key")
	}
	if k := status.Key("a.b", "x"); strings.Count(k, ".") != 1 {
		t.Errorf("Key of kind a.b = %q: a kind with a dot must be hashed into one token", k)
	}
}

func TestDead(t *testing.T) {
	for outcome, want := range map[string]bool{
		status.OutcomeSent: false, status.OutcomeRejected: true, status.OutcomeExhausted: true,
		status.OutcomeInvalid: true, "retried": false,
	} {
		if got := (status.Record{Outcome: outcome}).Dead(); got != want {
			t.Errorf("Dead() of %s = %v, want %v", outcome, got, want)
		}
	}
}
