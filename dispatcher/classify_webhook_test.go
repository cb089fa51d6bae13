package dispatcher

import (
	"fmt"
	"testing"
	"time"
)

// testPenalty is the penalty the webhook cases run with, unlike RobotPenalty to show it is used.
const testPenalty = 7 * time.Minute

// errcodeCase is a row of the webhook table: an errcode on HTTP 200 and its decision.
func errcodeCase(errcode int, want Decision) classifyCase {
	return classifyCase{
		name: fmt.Sprintf("errcode %d", errcode), status: 200,
		body: fmt.Sprintf(`{"errcode":%d,"errmsg":"m"}`, errcode), want: want, code: fmt.Sprint(errcode),
	}
}

// rateLimited is a rate-limit row: retry after the penalty, which blocks the robot.
func rateLimited(errcode int) classifyCase {
	c := errcodeCase(errcode, Retry)
	c.delay, c.penalty = testPenalty, testPenalty
	return c
}

// webhookCases is the webhook table's rows, run with testPenalty.
// Table: docs/dingtalk.md#webhook-errors.
func webhookCases() []classifyCase {
	cases := []classifyCase{
		{name: "errcode 0 sent", status: 200, body: `{"errcode":0,"errmsg":"ok"}`, sent: true},
		{name: "errcode \"0\" sent", status: 200, body: `{"errcode":"0"}`, sent: true},
		errcodeCase(-1, Retry),
		rateLimited(410100),
		rateLimited(130101),
		rateLimited(660026),
	}
	// Every other row of the table, and codes it does not list: reject.
	for _, code := range []int{310000, 300001, 300005, 400101, 400102, 400106, 400013,
		430101, 430102, 430103, 430104, 460101, 101002, 400402, 40035, 43004, 1, 99999} {
		cases = append(cases, errcodeCase(code, Reject))
	}
	return append(cases, []classifyCase{
		{name: "errcode as a string", status: 200, body: `{"errcode":"410100"}`, want: Retry, code: "410100", delay: testPenalty, penalty: testPenalty},
		{name: "html ban page", status: 200, body: "<html>denied</html>", want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "empty body", status: 200, body: "", want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "no errcode", status: 200, body: `{"errmsg":"ok"}`, want: Retry, code: CodeUnexpectedAnswer},
		{name: "errcode not a number", status: 200, body: `{"errcode":"busy"}`, want: Retry, code: CodeUnexpectedAnswer},
		{name: "5xx", status: 502, body: "<html>bad gateway</html>", want: Retry, code: "http_502"},
		{name: "5xx with errcode 0", status: 500, body: `{"errcode":0}`, want: Retry, code: "http_500"},
		{name: "429", status: 429, body: `{}`, want: Retry, code: "http_429", delay: throttleDelay},
		{name: "413", status: 413, body: "<html>too large</html>", want: Reject, code: "http_413"},
		{name: "413 JSON", status: 413, body: `{}`, want: Reject, code: "http_413"},
		// The ban page on a status that is not 2xx waits banDelay too (was a quick retry), but on
		// 502-504 and 413.
		{name: "403 ban page", status: 403, body: "<html>denied</html>", want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "500 html", status: 500, body: htmlPage, want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "429 html", status: 429, body: htmlPage, want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "429 empty", status: 429, body: "", want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "503 html gateway", status: 503, body: htmlPage, want: Retry, code: "http_503"},
		// A gateway's QPS refusal in JSON, in any case.
		{name: "403 gateway QPS", status: 403, body: `{"Code":"Forbidden.AccessDenied.QpsLimitForApi"}`, want: Retry, code: "Forbidden.AccessDenied.QpsLimitForApi", delay: throttleDelay},
		{name: "403 gateway QPS lower case", status: 403, body: `{"code":"forbidden.accessDenied.qpsLimitForApi"}`, want: Retry, code: "forbidden.accessDenied.qpsLimitForApi", delay: throttleDelay},
		{name: "403 JSON other", status: 403, body: `{"errcode":-1}`, want: Retry, code: "http_403"},
	}...)
}

func TestClassifyWebhook(t *testing.T) {
	classify := func(status int, body []byte) error { return classifyWebhook(status, body, testPenalty) }
	for _, c := range webhookCases() {
		t.Run(c.name, func(t *testing.T) { checkClassify(t, c, classify) })
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
