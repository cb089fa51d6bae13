package dispatcher

import (
	"testing"
	"time"
)

// classifyCase is one row of a classification table: an answer and the error it must give.
type classifyCase struct {
	name   string
	status int
	body   string
	sent   bool // the answer means sent: the error must be nil
	want   Decision
	code   string
	delay  time.Duration
}

// checkClassify runs classify on c's answer and checks the outcome.
func checkClassify(t *testing.T, c classifyCase, classify func(int, []byte) error) {
	t.Helper()
	err := classify(c.status, []byte(c.body))
	if c.sent {
		if err != nil {
			t.Fatalf("got %v, want sent", err)
		}
		return
	}
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("got %T %v, want *Error", err, err)
	}
	if e.Decision != c.want || e.Code != c.code || e.MinDelay != c.delay || e.HTTPStatus != c.status {
		t.Errorf("got {%s %q http %d min %v}, want {%s %q http %d min %v}",
			e.Decision, e.Code, e.HTTPStatus, e.MinDelay, c.want, c.code, c.status, c.delay)
	}
}
