package dispatcher

import (
	"fmt"
	"strings"
	"testing"
)

const htmlPage = "<!DOCTYPE html><html><body>Access denied: too many requests from your IP</body></html>"

// cardCases is the card table's rows. Table: docs/dingtalk.md#card-errors.
func cardCases() []classifyCase {
	cases := []classifyCase{
		{name: "200 processQueryKey: sent", status: 200, body: `{"processQueryKey":"pqk-1"}`, sent: true},

		{name: "500 systemBusy", status: 500, body: `{"code":"systemBusy","message":"busy","requestid":"r"}`, want: Retry, code: "systemBusy"},
		{name: "500 system.busy", status: 500, body: `{"code":"system.busy","message":"busy"}`, want: Retry, code: "system.busy"},
		{name: "500 unknownError", status: 500, body: `{"code":"unknownError","message":"?"}`, want: Retry, code: "unknownError"},

		{name: "502 any", status: 502, body: `{"code":"whatever"}`, want: Retry, code: "whatever"},
		{name: "503 any", status: 503, body: "", want: Retry, code: "http_503"},
		{name: "504 any, html", status: 504, body: htmlPage, want: Retry, code: "http_504"},

		{name: "429 systemBusy", status: 429, body: `{"code":"systemBusy","message":"too frequent"}`, want: Retry, code: "systemBusy", delay: throttleDelay},
		{name: "429 system.busy", status: 429, body: `{"code":"system.busy"}`, want: Retry, code: "system.busy", delay: throttleDelay},

		{name: "403 QpsLimitForAppkeyAndApi", status: 403, body: `{"code":"Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"}`, want: Retry, code: "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", delay: throttleDelay},
		{name: "403 QpsLimitForApi", status: 403, body: `{"code":"Forbidden.AccessDenied.QpsLimitForApi"}`, want: Retry, code: "Forbidden.AccessDenied.QpsLimitForApi", delay: throttleDelay},
		{name: "403 QpmLimit", status: 403, body: `{"code":"Forbidden.AccessDenied.QpmLimitForAppkeyAndApi"}`, want: Retry, code: "Forbidden.AccessDenied.QpmLimitForAppkeyAndApi", delay: throttleDelay},

		{name: "403 AccessTokenPermissionDenied", status: 403, body: `{"code":"Forbidden.AccessDenied.AccessTokenPermissionDenied"}`, want: Reject, code: "Forbidden.AccessDenied.AccessTokenPermissionDenied"},
		{name: "403 IpNotInWhiteList", status: 403, body: `{"code":"Forbidden.AccessDenied.IpNotInWhiteList"}`, want: Reject, code: "Forbidden.AccessDenied.IpNotInWhiteList"},
		{name: "403 ApiCountLimitForOrg", status: 403, body: `{"code":"Forbidden.AccessDenied.ApiCountLimitForOrg"}`, want: Reject, code: "Forbidden.AccessDenied.ApiCountLimitForOrg"},

		{name: "400 InvalidAuthentication", status: 400, body: `{"code":"InvalidAuthentication","message":"token invalid"}`, want: TokenExpired, code: "InvalidAuthentication"},
		{name: "401 any", status: 401, body: `{"code":"Unauthorized"}`, want: TokenExpired, code: "Unauthorized"},
		{name: "401 any, empty body", status: 401, body: "", want: TokenExpired, code: "http_401"},

		{name: "any not JSON, 403 html", status: 403, body: htmlPage, want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "any not JSON, 500 text", status: 500, body: "internal error", want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "any not JSON, 429 html", status: 429, body: htmlPage, want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "any not JSON, 404 empty", status: 404, body: "", want: Retry, code: CodeNonJSONBody, delay: banDelay},
		// A 413 page cannot be the ban's: the body will be as large next time (was a retry after
		// banDelay, spending every attempt a minute apart).
		{name: "any not JSON, 413 html", status: 413, body: "<html>413 Request Entity Too Large</html>", want: Reject, code: "http_413"},

		// Codes in another case: DingTalk's gateway and API spell them differently.
		{name: "403 QPS lower case", status: 403, body: `{"code":"forbidden.accessDenied.qpsLimitForApi"}`, want: Retry, code: "forbidden.accessDenied.qpsLimitForApi", delay: throttleDelay},
		{name: "403 QPS upper case", status: 403, body: `{"Code":"FORBIDDEN.ACCESSDENIED.QPSLIMITFORAPPKEYANDAPI"}`, want: Retry, code: "FORBIDDEN.ACCESSDENIED.QPSLIMITFORAPPKEYANDAPI", delay: throttleDelay},
		{name: "403 QPM lower case", status: 403, body: `{"code":"forbidden.accessDenied.qpmLimitForAppkeyAndApi"}`, want: Retry, code: "forbidden.accessDenied.qpmLimitForAppkeyAndApi", delay: throttleDelay},
		{name: "403 QPS without prefix", status: 403, body: `{"code":"QpsLimitForApi"}`, want: Retry, code: "QpsLimitForApi", delay: throttleDelay},
		{name: "403 QPS other variant", status: 403, body: `{"code":"Forbidden.AccessDenied.QpsLimitForUser"}`, want: Retry, code: "Forbidden.AccessDenied.QpsLimitForUser", delay: throttleDelay},
		{name: "403 ipNotInWhiteList lower case", status: 403, body: `{"code":"forbidden.accessDenied.ipNotInWhiteList"}`, want: Reject, code: "forbidden.accessDenied.ipNotInWhiteList"},
		{name: "403 accessTokenPermissionDenied lower case", status: 403, body: `{"code":"forbidden.accessDenied.accessTokenPermissionDenied"}`, want: Reject, code: "forbidden.accessDenied.accessTokenPermissionDenied"},
		{name: "400 invalidAuthentication lower case", status: 400, body: `{"code":"invalidAuthentication"}`, want: TokenExpired, code: "invalidAuthentication"},

		// PascalCase keys from the gateway.
		{name: "pascal 403 QpsLimitForApi", status: 403, body: `{"Code":"Forbidden.AccessDenied.QpsLimitForApi","Message":"m","RequestId":"r","HostId":"h"}`, want: Retry, code: "Forbidden.AccessDenied.QpsLimitForApi", delay: throttleDelay},
		{name: "pascal 400 InvalidAuthentication", status: 400, body: `{"Code":"InvalidAuthentication","Message":"m","RequestId":"r"}`, want: TokenExpired, code: "InvalidAuthentication"},
		{name: "pascal 400 other", status: 400, body: `{"Code":"invalidParameter","Message":"m"}`, want: Reject, code: "invalidParameter"},

		// Where the table is silent.
		{name: "silent 500 other code", status: 500, body: `{"code":"someNewError"}`, want: Retry, code: "someNewError"},
		{name: "silent 501", status: 501, body: `{"code":"notImplemented"}`, want: Retry, code: "notImplemented"},
		{name: "silent 404", status: 404, body: `{"code":"NotFound"}`, want: Retry, code: "NotFound"},
		{name: "silent 403 other code", status: 403, body: `{"code":"Forbidden.AccessDenied.SomethingNew"}`, want: Retry, code: "Forbidden.AccessDenied.SomethingNew"},
		{name: "silent 429 other code", status: 429, body: `{"code":"Throttling"}`, want: Retry, code: "Throttling", delay: throttleDelay},
		{name: "silent 413", status: 413, body: `{"code":"RequestTooLarge"}`, want: Reject, code: "RequestTooLarge"},
		{name: "silent 400 without code", status: 400, body: `{"message":"bad"}`, want: Reject, code: "http_400"},
		{name: "silent 200 not JSON", status: 200, body: htmlPage, want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "silent 200 without processQueryKey", status: 200, body: `{}`, want: Retry, code: CodeUnexpectedAnswer},
		{name: "silent 200 JSON array", status: 200, body: `[]`, want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "silent numeric code", status: 400, body: `{"code":1234}`, want: Reject, code: "1234"},
	}
	for _, code := range []string{
		"invalidParameter", "invalidParameter.openConversationId", "notEmptyParameter", "paramBlank",
		"emptyUserId", "userNotExist", "chatbotNotInstall", "chatbotNotFound", "cardTemplateInvalid",
		"invalidParameter.cardTemplate.notFound", "outTrackIdLengthLimited", "contentSecurityChckFailed",
		"contentCheckError", "duplicateKey", "decryptOpenconversationIdFailed", "cidDecryptError",
		"uidDecryptError", "sceneGroupNotFound", "getPictureFailed", "sendCardMessageFailed",
		"queryEmployInfoFailed",
	} {
		cases = append(cases, classifyCase{
			name: "400 " + code, status: 400, body: fmt.Sprintf(`{"code":%q,"message":"m","requestid":"r"}`, code),
			want: Reject, code: code,
		})
	}
	return cases
}

func TestClassifyCard(t *testing.T) {
	for _, c := range cardCases() {
		t.Run(c.name, func(t *testing.T) { checkClassify(t, c, classifyCard) })
	}
}

func TestClassifyCardMessage(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"camel", `{"code":"x","message":"群不存在"}`, "群不存在"},
		{"pascal", `{"Code":"x","Message":"no such group"}`, "no such group"},
		{"html snippet", "<html>\nbanned\n</html>", "<html> banned </html>"},
		{"trimmed", `{"code":"x","message":"` + strings.Repeat("a", 500) + `"}`, strings.Repeat("a", 200) + "..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classifyCard(400, []byte(tt.body))
			if e, ok := err.(*Error); !ok || e.Message != tt.want {
				t.Errorf("message of %v, want %q", err, tt.want)
			}
		})
	}
}
