package dispatcher

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// testPenalty is the penalty the webhook cases run with, unlike RobotPenalty to show it is used.
const testPenalty = 7 * time.Minute

// webhookCase is a classification case and the Penalty its error must carry.
type webhookCase struct {
	classifyCase
	penalty time.Duration
}

// errcodeCase is a row of the reference's table: an errcode on HTTP 200 and its decision.
func errcodeCase(errcode int, want Decision) webhookCase {
	return webhookCase{classifyCase: classifyCase{
		name: fmt.Sprintf("errcode %d", errcode), status: 200,
		body: fmt.Sprintf(`{"errcode":%d,"errmsg":"m"}`, errcode), want: want, code: fmt.Sprint(errcode),
	}}
}

// rateLimited is a rate-limit row: retry after the penalty, which blocks the robot.
func rateLimited(errcode int) webhookCase {
	c := errcodeCase(errcode, Retry)
	c.delay, c.penalty = testPenalty, testPenalty
	return c
}

func webhookCases() []webhookCase {
	cases := []webhookCase{
		{classifyCase: classifyCase{name: "errcode 0 sent", status: 200, body: `{"errcode":0,"errmsg":"ok"}`, sent: true}},
		{classifyCase: classifyCase{name: "errcode \"0\" sent", status: 200, body: `{"errcode":"0"}`, sent: true}},
		errcodeCase(-1, Retry),
		rateLimited(410100),
		rateLimited(130101),
		rateLimited(660026),
	}
	// Every other row of the reference, and codes it does not list: reject.
	for _, code := range []int{310000, 300001, 300005, 400101, 400102, 400106, 400013,
		430101, 430102, 430103, 430104, 460101, 101002, 400402, 40035, 43004, 1, 99999} {
		cases = append(cases, errcodeCase(code, Reject))
	}
	return append(cases, []webhookCase{
		{classifyCase: classifyCase{name: "errcode as a string", status: 200, body: `{"errcode":"410100"}`, want: Retry, code: "410100", delay: testPenalty}, penalty: testPenalty},
		{classifyCase: classifyCase{name: "html ban page", status: 200, body: "<html>denied</html>", want: Retry, code: CodeNonJSONBody, delay: banDelay}},
		{classifyCase: classifyCase{name: "empty body", status: 200, body: "", want: Retry, code: CodeNonJSONBody, delay: banDelay}},
		{classifyCase: classifyCase{name: "no errcode", status: 200, body: `{"errmsg":"ok"}`, want: Retry, code: CodeUnexpectedAnswer}},
		{classifyCase: classifyCase{name: "errcode not a number", status: 200, body: `{"errcode":"busy"}`, want: Retry, code: CodeUnexpectedAnswer}},
		{classifyCase: classifyCase{name: "5xx", status: 502, body: "<html>bad gateway</html>", want: Retry, code: "http_502"}},
		{classifyCase: classifyCase{name: "5xx with errcode 0", status: 500, body: `{"errcode":0}`, want: Retry, code: "http_500"}},
		{classifyCase: classifyCase{name: "429", status: 429, body: "", want: Retry, code: "http_429", delay: throttleDelay}, penalty: throttleDelay},
		{classifyCase: classifyCase{name: "413", status: 413, body: "<html>too large</html>", want: Reject, code: "http_413"}},
		{classifyCase: classifyCase{name: "403 ban page", status: 403, body: "<html>denied</html>", want: Retry, code: "http_403"}},
	}...)
}

func TestClassifyWebhook(t *testing.T) {
	classify := func(status int, body []byte) error { return classifyWebhook(status, body, testPenalty) }
	for _, c := range webhookCases() {
		t.Run(c.name, func(t *testing.T) {
			checkClassify(t, c.classifyCase, classify)
			var e *Error
			if errors.As(classify(c.status, []byte(c.body)), &e) && e.Penalty != c.penalty {
				t.Errorf("Penalty = %v, want %v", e.Penalty, c.penalty)
			}
		})
	}
}

func TestClassifyWebhookMessage(t *testing.T) {
	err := classifyWebhook(200, []byte(`{"errcode":310000,"errmsg":"sign not match, more: [https://open.dingtalk.com/x?a=b]"}`), RobotPenalty)
	want := "sign not match, more: [https://open.dingtalk.com/x"
	if e, ok := err.(*Error); !ok || e.Message != want {
		t.Errorf("message of %v, want %q", err, want)
	}
}

// FuzzClassifyWebhook holds the webhook classifier to what FuzzClassify holds the others to.
func FuzzClassifyWebhook(f *testing.F) {
	for _, c := range webhookCases() {
		f.Add(c.status, []byte(c.body))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		err := classifyWebhook(status, body, RobotPenalty)
		if err == nil {
			return
		}
		e, ok := err.(*Error)
		if !ok || e.Code == "" || e.Decision != Retry && e.Decision != Reject {
			t.Fatalf("%T %#v: want a *Error with a code, retry or reject", err, err)
		}
		if e.Penalty != 0 && (e.Decision != Retry || e.MinDelay != e.Penalty) {
			t.Fatalf("%#v: a penalty comes with a retry no sooner than it", e)
		}
	})
}
