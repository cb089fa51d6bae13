package dispatcher

import (
	"errors"
	"strings"
	"testing"
)

// deliverOK is createAndDeliver's answer when the card reached every space.
const deliverOK = `{"success":true,"result":{"outTrackId":"o-1","deliverResults":[` +
	`{"spaceType":"IM_GROUP","spaceId":"cid-1","success":true,"errorMsg":"","carrierId":"car-1"}]}}`

// deliverCases is createAndDeliver's own rows. Table: docs/dingtalk.md#card-deliver-answers; its
// failures follow docs/dingtalk.md#card-errors (TestClassifyDeliverFailuresAsCard).
func deliverCases() []classifyCase {
	return []classifyCase{
		{name: "200 success, one space", status: 200, body: deliverOK, sent: true},
		{name: "200 success, two spaces", status: 200, sent: true, body: `{"success":true,"result":{"outTrackId":"o-1","deliverResults":[` +
			`{"spaceType":"IM_GROUP","spaceId":"c","success":true},{"spaceType":"IM_ROBOT","spaceId":"u","success":true}]}}`},
		{name: "201 success", status: 201, body: deliverOK, sent: true},
		{name: "200 success, no results", status: 200, body: `{"success":true,"result":{"outTrackId":"o-1"}}`, sent: true},
		{name: "200 success, no result", status: 200, body: `{"success":true}`, sent: true},

		{name: "200 one space failed", status: 200, want: Reject, code: CodeDeliverFailed, body: `{"success":true,"result":{"deliverResults":[` +
			`{"spaceType":"IM_GROUP","spaceId":"c","success":false,"errorMsg":"robot not in group"}]}}`},
		{name: "200 one of two failed", status: 200, want: Reject, code: CodeDeliverFailed, body: `{"success":true,"result":{"deliverResults":[` +
			`{"spaceType":"IM_GROUP","success":true},{"spaceType":"IM_ROBOT","success":false,"errorMsg":"user not found"}]}}`},
		{name: "200 result without success", status: 200, want: Reject, code: CodeDeliverFailed,
			body: `{"success":true,"result":{"deliverResults":[{"spaceType":"IM_GROUP"}]}}`},
		{name: "200 result success a string", status: 200, want: Reject, code: CodeDeliverFailed,
			body: `{"success":true,"result":{"deliverResults":[{"spaceType":"IM_GROUP","success":"true"}]}}`},

		{name: "200 success false", status: 200, body: `{"success":false,"result":{}}`, want: Retry, code: CodeNoSuccess},
		{name: "200 without success", status: 200, body: `{"result":{"deliverResults":[]}}`, want: Retry, code: CodeNoSuccess},
		{name: "200 empty object", status: 200, body: `{}`, want: Retry, code: CodeNoSuccess},
		{name: "200 success a string", status: 200, body: `{"success":"true"}`, want: Retry, code: CodeNoSuccess},
		{name: "200 template answer", status: 200, body: `{"processQueryKey":"k"}`, want: Retry, code: CodeNoSuccess},
		{name: "200 error body", status: 200, body: `{"code":"systemBusy","message":"busy"}`, want: Retry, code: CodeNoSuccess},

		{name: "200 not JSON", status: 200, body: htmlPage, want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "200 JSON array", status: 200, body: `[]`, want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "403 ban page", status: 403, body: htmlPage, want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "503 html gateway", status: 503, body: htmlPage, want: Retry, code: "http_503"},
		{name: "403 QPS lower case", status: 403, body: `{"code":"forbidden.accessDenied.qpsLimitForApi"}`,
			want: Retry, code: "forbidden.accessDenied.qpsLimitForApi", delay: throttleDelay},
		{name: "400 createAndDeliver code", status: 400, body: `{"code":"param.openSpaceModelInvalid","message":"m","requestid":"r"}`,
			want: Reject, code: "param.openSpaceModelInvalid"},
		{name: "400 with success false", status: 400, body: `{"success":false,"code":"param.cardTemplateIdEmpty"}`,
			want: Reject, code: "param.cardTemplateIdEmpty"},
	}
}

func TestClassifyDeliver(t *testing.T) {
	for _, c := range deliverCases() {
		t.Run(c.name, func(t *testing.T) { checkClassify(t, c, classifyDeliver) })
	}
}

// Failed answers are the template send's and take its table, row for row.
func TestClassifyDeliverFailuresAsCard(t *testing.T) {
	for _, c := range cardCases() {
		if isSuccess(c.status) && strings.HasPrefix(strings.TrimSpace(c.body), "{") {
			continue // the 2xx JSON rows are the deliver API's own
		}
		t.Run(c.name, func(t *testing.T) { checkClassify(t, c, classifyDeliver) })
	}
}

func TestClassifyDeliverMessage(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"one failed", `{"success":true,"result":{"deliverResults":[` +
			`{"spaceType":"IM_GROUP","spaceId":"cid-secret","success":false,"errorMsg":"robot not in group","carrierId":"car-9"}]}}`,
			"not delivered to 1 of 1 spaces: IM_GROUP: robot not in group"},
		{"two of three failed", `{"success":true,"result":{"deliverResults":[{"spaceType":"IM_GROUP","success":false,"errorMsg":"a"},` +
			`{"spaceType":"IM_ROBOT","success":true},{"spaceType":"IM_SINGLE","success":false,"errorMsg":"b\nc"}]}}`,
			"not delivered to 2 of 3 spaces: IM_GROUP: a; IM_SINGLE: b c"},
		{"nothing said", `{"success":true,"result":{"deliverResults":[{"success":false}]}}`,
			"not delivered to 1 of 1 spaces: unknown space type: no errorMsg"},
		{"no success, with message", `{"success":false,"message":"system error"}`, "system error"},
		{"no success, without message", `{"success":false}`, "the answer does not say success"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e *Error
			if err := classifyDeliver(200, []byte(tt.body)); !errors.As(err, &e) || e.Message != tt.want {
				t.Fatalf("message of %v, want %q", err, tt.want)
			}
			for _, s := range []string{"cid-secret", "car-9"} {
				if strings.Contains(e.Message, s) {
					t.Errorf("message %q quotes %q from the answer", e.Message, s)
				}
			}
		})
	}
	long := `{"success":true,"result":{"deliverResults":[{"spaceType":"IM_GROUP","success":false,"errorMsg":"` +
		strings.Repeat("x", 500) + `"}]}}`
	var e *Error
	if err := classifyDeliver(200, []byte(long)); !errors.As(err, &e) || !strings.HasSuffix(e.Message, "...") || len(e.Message) > 203 {
		t.Errorf("a long errorMsg gives the message %q, want it cut", e.Message)
	}
}

// FuzzClassifyDeliver feeds the classifier any status and body, as a hostile or broken gateway
// might send: it must not panic, and must answer nil or a *Error with a known decision and a code.
func FuzzClassifyDeliver(f *testing.F) {
	for _, c := range deliverCases() {
		f.Add(c.status, []byte(c.body))
	}
	f.Add(200, []byte(`{"success":true,"result":{"deliverResults":[1,null,{"success":null}]}}`))
	f.Add(200, []byte(`{"success":true,"result":[]}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		err := classifyDeliver(status, body)
		if err == nil {
			if !isSuccess(status) {
				t.Fatalf("status %d classified as sent", status)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%T %v, want a *Error", err, err)
		}
		if e.Code == "" || e.Decision < Retry || e.Decision > TokenExpired || e.HTTPStatus != status {
			t.Fatalf("%#v lacks a code, has an unknown decision or another status", e)
		}
	})
}
