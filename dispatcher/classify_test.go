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
	// penalty is the Penalty the error must carry. Zero means the one the delay implies:
	// throttleDelay after a QPS refusal (see failure), none otherwise.
	penalty time.Duration
}

// wantPenalty is the Penalty c's error must carry.
func (c classifyCase) wantPenalty() time.Duration {
	if c.penalty == 0 && c.delay == throttleDelay {
		return throttleDelay
	}
	return c.penalty
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
	if e.Decision != c.want || e.Code != c.code || e.MinDelay != c.delay || e.HTTPStatus != c.status || e.Penalty != c.wantPenalty() {
		t.Errorf("got {%s %q http %d min %v penalty %v}, want {%s %q http %d min %v penalty %v}",
			e.Decision, e.Code, e.HTTPStatus, e.MinDelay, e.Penalty, c.want, c.code, c.status, c.delay, c.wantPenalty())
	}
}

// A QPS refusal holds the app's API for the fleet (Penalty), not only the refused job; other
// retries carry no penalty.
// Table: docs/dingtalk.md#qps-limits.
func TestQPSRefusalsCarryAPenalty(t *testing.T) {
	robot := func(s int, b []byte) error { return classifyRobot(s, b, DefaultRobotRetryCodes(), RobotPenalty) }
	webhook := func(s int, b []byte) error { return classifyWebhook(s, b, RobotPenalty) }
	for _, tt := range []struct {
		name    string
		err     error
		penalty time.Duration
	}{
		{"card 403 QPS", classifyCard(403, []byte(`{"code":"Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"}`)), throttleDelay},
		{"card 403 QPS lower case", classifyCard(403, []byte(`{"code":"forbidden.accessDenied.qpsLimitForApi"}`)), throttleDelay},
		{"card 429", classifyCard(429, []byte(`{"code":"systemBusy"}`)), throttleDelay},
		{"crossdomain 88/90018", classifyCrossDomain(200, []byte(`{"errcode":88,"sub_code":"90018"}`)), throttleDelay},
		{"crossdomain 90018", classifyCrossDomain(200, []byte(`{"errcode":90018}`)), throttleDelay},
		{"webhook 403 QPS", webhook(403, []byte(`{"Code":"Forbidden.AccessDenied.QpsLimitForApi"}`)), throttleDelay},
		{"relay 410100", robot(200, []byte(`{"code":410100}`)), RobotPenalty},
		{"card 500 busy", classifyCard(500, []byte(`{"code":"systemBusy"}`)), 0},
		{"crossdomain -1", classifyCrossDomain(200, []byte(`{"errcode":-1}`)), 0},
		{"crossdomain 90001 bar", classifyCrossDomain(200, []byte(`{"errcode":90001}`)), 0},
		{"ban page", classifyCrossDomain(403, []byte(htmlPage)), 0},
	} {
		var e *Error
		if !errors.As(tt.err, &e) || e.Penalty != tt.penalty {
			t.Errorf("%s: %#v, want Penalty %v", tt.name, tt.err, tt.penalty)
		}
	}
}

// isQPSCode matches DingTalk's QPS and QPM refusals in any case, with or without the prefix.
// Table: docs/dingtalk.md#qps-limits.
func TestIsQPSCode(t *testing.T) {
	for code, want := range map[string]bool{
		"Forbidden.AccessDenied.QpsLimitForAppkeyAndApi": true,
		"Forbidden.AccessDenied.QpsLimitForApi":          true,
		"forbidden.accessDenied.qpsLimitForApi":          true,
		"FORBIDDEN.ACCESSDENIED.QPSLIMITFORAPI":          true,
		"Forbidden.AccessDenied.QpmLimitForAppkeyAndApi": true,
		"forbidden.accessdenied.qpmlimitforapi":          true,
		"QpsLimitForApi":                                 true,
		"Forbidden.AccessDenied.IpNotInWhiteList":        false,
		"Forbidden.AccessDenied.ApiCountLimitForOrg":     false,
		"QpsLimit.Something":                             false, // the last part decides
		"":                                               false,
		"systemBusy":                                     false,
	} {
		if got := isQPSCode(code); got != want {
			t.Errorf("isQPSCode(%q) = %v, want %v", code, got, want)
		}
	}
}
