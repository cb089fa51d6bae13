package dispatcher

import (
	"errors"
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

// A QPS refusal holds the app's API for the fleet (Penalty), not only the refused job; other
// retries carry no penalty.
func TestQPSRefusalsCarryAPenalty(t *testing.T) {
	for _, tt := range []struct {
		name    string
		err     error
		penalty time.Duration
	}{
		{"card 403 QPS", classifyCard(403, []byte(`{"code":"Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"}`)), throttleDelay},
		{"card 429", classifyCard(429, []byte(`{"code":"systemBusy"}`)), throttleDelay},
		{"crossdomain 88/90018", classifyCrossDomain(200, []byte(`{"errcode":88,"sub_code":"90018"}`)), throttleDelay},
		{"card 500 busy", classifyCard(500, []byte(`{"code":"systemBusy"}`)), 0},
		{"crossdomain -1", classifyCrossDomain(200, []byte(`{"errcode":-1}`)), 0},
	} {
		var e *Error
		if !errors.As(tt.err, &e) || e.Penalty != tt.penalty {
			t.Errorf("%s: %#v, want Penalty %v", tt.name, tt.err, tt.penalty)
		}
	}
}
