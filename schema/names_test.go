package schema

import (
	"slices"
	"strings"
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

func TestWorkerSubjects(t *testing.T) {
	tests := []struct {
		names    Names
		id, want string
	}{
		{Names{}, "web-1-4711-a3f09c", "dingq.workers.web-1-4711-a3f09c"},
		{NewNames("staging.eu"), "web_1", "staging.eu.workers.web_1"},
		// Whatever the id holds, it stays one token: no dot, wildcard, space or other byte
		// that would add a token, match others or end the subject.
		{Names{}, "web-1.example.com", "dingq.workers.web-1_example_com"},
		{Names{}, "*", "dingq.workers._"},
		{Names{}, ">", "dingq.workers._"},
		{Names{}, "a b\tc\r\nd", "dingq.workers.a_b_c__d"},
		{Names{}, "wörker", "dingq.workers.w_rker"},
		{Names{}, "bad\xffbyte", "dingq.workers.bad_byte"},
		{Names{}, "", "dingq.workers._"},
	}
	for _, tt := range tests {
		if got := tt.names.WorkerSubject(tt.id); got != tt.want {
			t.Errorf("%q.WorkerSubject(%q) = %q, want %q", tt.names.Prefix, tt.id, got, tt.want)
		}
		if tok := strings.Count(tt.names.WorkerSubject(tt.id), "."); tok != strings.Count(tt.names.WorkerSubjects(), ".") {
			t.Errorf("%q.WorkerSubject(%q) has %d dots, want as many as %q", tt.names.Prefix, tt.id, tok, tt.names.WorkerSubjects())
		}
	}
	for _, tt := range []struct {
		names Names
		want  string
	}{
		{Names{}, "dingq.workers.>"},
		{NewNames("staging.eu"), "staging.eu.workers.>"},
	} {
		if got := tt.names.WorkerSubjects(); got != tt.want {
			t.Errorf("%q.WorkerSubjects() = %q, want %q", tt.names.Prefix, got, tt.want)
		}
	}
}

func TestSubjectToken(t *testing.T) {
	for in, want := range map[string]string{
		"web-1_A9": "web-1_A9", "": "_", ".": "_", "a.b": "a_b", "$JS": "_JS", "ü": "_", "\x00": "_",
	} {
		if got := SubjectToken(in); got != want {
			t.Errorf("SubjectToken(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKindNamesFollowKinds(t *testing.T) {
	names := KindNames()
	for i, k := range Kinds() {
		if i >= len(names) || names[i] != string(k) {
			t.Fatalf("KindNames() = %v, Kinds() = %v", names, Kinds())
		}
	}
	if len(names) != len(Kinds()) {
		t.Fatalf("KindNames() = %v, Kinds() = %v", names, Kinds())
	}
}
