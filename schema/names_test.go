package schema

import (
	"slices"
	"testing"
)

func TestNames(t *testing.T) {
	tests := []struct {
		names                           Names
		sendCard, deadRobot, send, dead string
		jobStream, deadStream, consumer string
	}{
		{Names{}, "dingq.send.card", "dingq.dead.robot", "dingq.send.>", "dingq.dead.>", "DINGQ_JOBS", "DINGQ_DEAD", "dingq-worker"},
		{NewNames(""), "dingq.send.card", "dingq.dead.robot", "dingq.send.>", "dingq.dead.>", "DINGQ_JOBS", "DINGQ_DEAD", "dingq-worker"},
		{NewNames("dingq"), "dingq.send.card", "dingq.dead.robot", "dingq.send.>", "dingq.dead.>", "DINGQ_JOBS", "DINGQ_DEAD", "dingq-worker"},
		{NewNames("staging.eu"), "staging.eu.send.card", "staging.eu.dead.robot", "staging.eu.send.>", "staging.eu.dead.>", "STAGING_EU_JOBS", "STAGING_EU_DEAD", "dingq-worker"},
		{NewNames("team-a_1"), "team-a_1.send.card", "team-a_1.dead.robot", "team-a_1.send.>", "team-a_1.dead.>", "TEAM-A_1_JOBS", "TEAM-A_1_DEAD", "dingq-worker"},
	}
	for _, tt := range tests {
		n := tt.names
		t.Run(n.Prefix, func(t *testing.T) {
			got := []string{n.SendSubject(KindCard), n.DeadSubject(KindRobot), n.SendSubjects(), n.DeadSubjects(),
				n.JobStream(), n.DeadStream(), n.Consumer()}
			want := []string{tt.sendCard, tt.deadRobot, tt.send, tt.dead, tt.jobStream, tt.deadStream, tt.consumer}
			if !slices.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	n := NewNames("staging.eu")
	tests := []struct {
		subject string
		want    Kind
		wantErr bool
	}{
		{"staging.eu.send.card", KindCard, false},
		{"staging.eu.send.crossdomain", KindCrossDomain, false},
		{"staging.eu.dead.robot", KindRobot, false},
		{n.SendSubject(KindRobot), KindRobot, false},
		{"staging.eu.send.sms", "", true},
		{"staging.eu.send.", "", true},
		{"card", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		got, err := n.KindOf(tt.subject)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("KindOf(%q) = %q, %v; want %q, error %v", tt.subject, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseKind(t *testing.T) {
	if got := Kinds(); !slices.Equal(got, []Kind{KindCard, KindCrossDomain, KindRobot}) {
		t.Errorf("Kinds() = %q", got)
	}
	for _, k := range Kinds() {
		if got, err := ParseKind(string(k)); got != k || err != nil {
			t.Errorf("ParseKind(%q) = %q, %v", k, got, err)
		}
	}
	for _, s := range []string{"", "Card", "sms", "card "} {
		if _, err := ParseKind(s); err == nil {
			t.Errorf("ParseKind(%q): got no error", s)
		}
	}
}

func TestValidatePrefix(t *testing.T) {
	tests := []struct {
		prefix string
		ok     bool
	}{
		{"dingq", true},
		{"staging.eu", true},
		{"team-a_1.B2", true},
		{"", false},
		{".dingq", false},
		{"dingq.", false},
		{"a..b", false},
		{"a b", false},
		{"a*", false},
		{"a.>", false},
		{"a/b", false},
		{"dïngq", false},
	}
	for _, tt := range tests {
		if err := ValidatePrefix(tt.prefix); (err == nil) != tt.ok {
			t.Errorf("ValidatePrefix(%q) = %v, want ok %v", tt.prefix, err, tt.ok)
		}
	}
}
