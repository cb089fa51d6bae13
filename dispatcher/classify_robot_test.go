package dispatcher

import "testing"

// testRetryCodes is the relay table the robot cases run with.
var testRetryCodes = []int{-1, 410100}

func robotCases() []classifyCase {
	return []classifyCase{
		{name: "code 0 sent", status: 200, body: `{"code":0,"data":{}}`, sent: true},
		{name: "5xx retry", status: 500, body: `{"code":50000,"msg":"internal"}`, want: Retry, code: "50000"},
		{name: "5xx retry, html", status: 502, body: "<html>bad gateway</html>", want: Retry, code: "http_502"},
		{name: "429 retry", status: 429, body: `{"code":42900,"msg":"slow down"}`, want: Retry, code: "42900", delay: throttleDelay},
		{name: "429 retry, empty", status: 429, body: "", want: Retry, code: "http_429", delay: throttleDelay},
		{name: "non-zero code reject", status: 200, body: `{"code":40001,"msg":"invalid link","hint":"check link"}`, want: Reject, code: "40001"},
		{name: "non-zero code reject, 400", status: 400, body: `{"code":40002,"msg":"bad data"}`, want: Reject, code: "40002"},
		{name: "non-zero code in RetryCodes", status: 200, body: `{"code":410100,"msg":"rate limited"}`, want: Retry, code: "410100"},
		{name: "negative code in RetryCodes", status: 200, body: `{"code":-1,"msg":"busy"}`, want: Retry, code: "-1"},
		{name: "non JSON retry", status: 200, body: "<html>proxy</html>", want: Retry, code: CodeNonJSONBody},

		// Where the guess is silent.
		{name: "silent 401", status: 401, body: `{"code":401,"msg":"bad token"}`, want: Retry, code: "401"},
		{name: "silent 403", status: 403, body: "", want: Retry, code: "http_403"},
		{name: "silent no code", status: 200, body: `{"data":{}}`, want: Retry, code: CodeUnexpectedAnswer},
		{name: "silent code 0 with 400", status: 400, body: `{"code":0}`, want: Retry, code: "0"},
		{name: "silent string code", status: 200, body: `{"code":"INVALID_LINK"}`, want: Reject, code: "INVALID_LINK"},
	}
}

func TestClassifyRobot(t *testing.T) {
	classify := func(status int, body []byte) error { return classifyRobot(status, body, testRetryCodes) }
	for _, c := range robotCases() {
		t.Run(c.name, func(t *testing.T) { checkClassify(t, c, classify) })
	}
}

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
			err := classifyRobot(200, []byte(tt.body), nil)
			if e, ok := err.(*Error); !ok || e.Message != tt.want {
				t.Errorf("message of %v, want %q", err, tt.want)
			}
		})
	}
}
