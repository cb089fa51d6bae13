package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// testRetryCodes is the relay table the robot cases run with: the default one, and a code of the
// operator's.
var testRetryCodes = append(DefaultRobotRetryCodes(), 777)

// robotCases is the relay table's rows, run with testRetryCodes and testPenalty.
// Table: docs/dingtalk.md#relay-errors.
func robotCases() []classifyCase {
	return []classifyCase{
		{name: "code 0 sent", status: 200, body: `{"code":0,"data":{}}`, sent: true},
		{name: "5xx retry", status: 500, body: `{"code":50000,"msg":"internal"}`, want: Retry, code: "50000"},
		{name: "5xx retry, html", status: 502, body: "<html>bad gateway</html>", want: Retry, code: "http_502"},
		{name: "429 retry", status: 429, body: `{"code":42900,"msg":"slow down"}`, want: Retry, code: "42900", delay: throttleDelay},
		{name: "429 retry, no code", status: 429, body: `{}`, want: Retry, code: "http_429", delay: throttleDelay},
		{name: "non-zero code reject", status: 200, body: `{"code":40001,"msg":"invalid link","hint":"check link"}`, want: Reject, code: "40001"},
		{name: "non-zero code reject, 400", status: 400, body: `{"code":40002,"msg":"bad data"}`, want: Reject, code: "40002"},
		{name: "negative code in RetryCodes", status: 200, body: `{"code":-1,"msg":"busy"}`, want: Retry, code: "-1"},
		{name: "configured code in RetryCodes", status: 200, body: `{"code":777,"msg":"m"}`, want: Retry, code: "777"},
		{name: "configured code in RetryCodes, 400", status: 400, body: `{"code":777}`, want: Retry, code: "777"},

		// The robot's rate-limit errcodes passed through: the robot is blocked for its penalty, as
		// on the direct webhook (was a retry at once, without penalty).
		{name: "410100 passed through", status: 200, body: `{"code":410100,"msg":"send too fast"}`, want: Retry, code: "410100", delay: testPenalty, penalty: testPenalty},
		{name: "130101 passed through", status: 200, body: `{"code":130101,"msg":"send too fast"}`, want: Retry, code: "130101", delay: testPenalty, penalty: testPenalty},
		{name: "660026 passed through", status: 200, body: `{"code":660026,"msg":"send too fast"}`, want: Retry, code: "660026", delay: testPenalty, penalty: testPenalty},
		{name: "410100 as a string", status: 200, body: `{"code":"410100"}`, want: Retry, code: "410100", delay: testPenalty, penalty: testPenalty},
		{name: "410100 on 400", status: 400, body: `{"code":410100}`, want: Retry, code: "410100", delay: testPenalty, penalty: testPenalty},
		{name: "410100 on 429", status: 429, body: `{"code":410100}`, want: Retry, code: "410100", delay: testPenalty, penalty: testPenalty},
		{name: "410100 on 500", status: 500, body: `{"code":410100}`, want: Retry, code: "410100", delay: testPenalty, penalty: testPenalty},

		// A page that is not the relay's answer: the ban page, DingTalk's passed through or the
		// relay gateway's own, waits banDelay on any status but 502-504 and 413 (was a quick
		// retry).
		{name: "non JSON, 200", status: 200, body: "<html>proxy</html>", want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "403 ban page", status: 403, body: htmlPage, want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "403 empty", status: 403, body: "", want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "429 html", status: 429, body: htmlPage, want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "429 empty", status: 429, body: "", want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "500 text", status: 500, body: "internal error", want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "504 html gateway", status: 504, body: htmlPage, want: Retry, code: "http_504"},
		{name: "413 html", status: 413, body: "<html>too large</html>", want: Reject, code: "http_413"},

		// Where the guess is silent.
		{name: "silent 401", status: 401, body: `{"code":401,"msg":"bad token"}`, want: Retry, code: "401"},
		{name: "silent 403", status: 403, body: `{"code":403,"msg":"bad token"}`, want: Retry, code: "403"},
		{name: "silent 403 without code", status: 403, body: `{}`, want: Retry, code: "http_403"},
		{name: "silent no code", status: 200, body: `{"data":{}}`, want: Retry, code: CodeUnexpectedAnswer},
		{name: "silent code 0 with 400", status: 400, body: `{"code":0}`, want: Retry, code: "0"},
		{name: "silent string code", status: 200, body: `{"code":"INVALID_LINK"}`, want: Reject, code: "INVALID_LINK"},
	}
}

func TestClassifyRobot(t *testing.T) {
	classify := func(status int, body []byte) error { return classifyRobot(status, body, testRetryCodes, testPenalty) }
	for _, c := range robotCases() {
		t.Run(c.name, func(t *testing.T) { checkClassify(t, c, classify) })
	}
}

// The retry table is the operator's: a rate-limit code left out of it rejects, as every code
// outside it does; one kept in it waits the penalty.
func TestClassifyRobotRateLimitFollowsTheTable(t *testing.T) {
	for _, tt := range []struct {
		name    string
		codes   []int
		want    Decision
		penalty time.Duration
	}{
		{"default table", DefaultRobotRetryCodes(), Retry, testPenalty},
		{"table without it", []int{-1}, Reject, 0},
		{"empty table", []int{}, Reject, 0},
	} {
		var e *Error
		if err := classifyRobot(200, []byte(`{"code":130101}`), tt.codes, testPenalty); !errors.As(err, &e) ||
			e.Decision != tt.want || e.Penalty != tt.penalty || e.MinDelay != tt.penalty {
			t.Errorf("%s: %#v, want %s with penalty %v", tt.name, err, tt.want, tt.penalty)
		}
	}
}

// The relay sender waits RobotConfig.Penalty on a rate-limit code, RobotPenalty by default, and
// refuses a negative one.
func TestRobotSenderPenalty(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprint(w, `{"code":410100,"msg":"send too fast"}`)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(srv.Client().CloseIdleConnections)
	for _, tt := range []struct {
		name    string
		penalty time.Duration
		want    time.Duration
	}{
		{"default", 0, RobotPenalty},
		{"configured", 90 * time.Second, 90 * time.Second},
	} {
		s, err := NewRobotSender(RobotConfig{BaseURL: srv.URL, Client: srv.Client(), Tokens: staticTokens("t"), Penalty: tt.penalty})
		if err != nil {
			t.Fatal(err)
		}
		var e *Error
		err = s.Send(context.Background(), Job{ID: "j1", Body: []byte(`{"link":"https://oapi.dingtalk.com/robot/send?access_token=x","data":[{}]}`)})
		if !errors.As(err, &e) || e.Decision != Retry || e.Code != "410100" || e.MinDelay != tt.want || e.Penalty != tt.want {
			t.Errorf("%s: Send() = %v, want a retry after %v with that penalty", tt.name, err, tt.want)
		}
	}
	if _, err := NewRobotSender(RobotConfig{BaseURL: srv.URL, Tokens: staticTokens("t"), Penalty: -time.Second}); err == nil {
		t.Error("a negative penalty was accepted")
	}
}

// staticTokens is a TokenSource that always gives tok.
type staticTokens string

func (s staticTokens) Token(context.Context) (string, error) { return string(s), nil }
func (staticTokens) Invalidate(string)                       {}

func TestClassifyRobotMessage(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"msg and hint", `{"code":1,"msg":"invalid link","hint":"check the webhook"}`, "invalid link (check the webhook)"},
		{"msg only", `{"code":1,"msg":"invalid link"}`, "invalid link"},
		{"hint only", `{"code":1,"hint":"check the webhook"}`, "check the webhook"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classifyRobot(200, []byte(tt.body), nil, RobotPenalty)
			if e, ok := err.(*Error); !ok || e.Message != tt.want {
				t.Errorf("message of %v, want %q", err, tt.want)
			}
		})
	}
}
