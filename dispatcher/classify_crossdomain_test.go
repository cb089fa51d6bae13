package dispatcher

import "testing"

// crossDomainCases is the cross-domain table's rows. Table: docs/dingtalk.md#cross-domain-errors.
func crossDomainCases() []classifyCase {
	return []classifyCase{
		{name: "0 sent", status: 200, body: `{"errcode":0,"errmsg":"ok"}`, sent: true},
		{name: "-1 system busy", status: 200, body: `{"errcode":-1,"errmsg":"系统繁忙"}`, want: Retry, code: "-1"},

		{name: "88 sub 40014", status: 200, body: `{"errcode":88,"errmsg":"x","sub_code":"40014","sub_msg":"不合法的access_token"}`, want: TokenExpired, code: "88/40014"},
		{name: "88 sub 40001", status: 200, body: `{"errcode":88,"sub_code":"40001"}`, want: TokenExpired, code: "88/40001"},
		{name: "88 sub 42001", status: 200, body: `{"errcode":88,"sub_code":"42001"}`, want: TokenExpired, code: "88/42001"},
		{name: "88 sub 90018", status: 200, body: `{"errcode":88,"sub_code":"90018"}`, want: Retry, code: "88/90018", delay: throttleDelay},
		// 88/90002 waits as 90002 does: the server is barred from the API for a while (was 1 s).
		{name: "88 sub 90002", status: 200, body: `{"errcode":88,"sub_code":"90002"}`, want: Retry, code: "88/90002", delay: banDelay},
		// errcode 88's sub_code takes the top-level errcode's decision (88/-1 and 88/9000x were
		// rejected).
		{name: "88 sub -1", status: 200, body: `{"errcode":88,"sub_code":"-1","sub_msg":"系统繁忙"}`, want: Retry, code: "88/-1"},
		{name: "88 sub 90001", status: 200, body: `{"errcode":88,"sub_code":"90001"}`, want: Retry, code: "88/90001", delay: banDelay},
		{name: "88 sub 90005", status: 200, body: `{"errcode":88,"sub_code":"90005"}`, want: Retry, code: "88/90005", delay: banDelay},
		{name: "88 sub 90019", status: 200, body: `{"errcode":88,"sub_code":"90019"}`, want: Retry, code: "88/90019", delay: banDelay},
		{name: "88 numeric sub 90010", status: 200, body: `{"errcode":88,"sub_code":90010}`, want: Retry, code: "88/90010", delay: banDelay},
		{name: "88 sub 90020 monthly quota", status: 200, body: `{"errcode":88,"sub_code":"90020"}`, want: Reject, code: "88/90020"},
		{name: "88 sub 90000", status: 200, body: `{"errcode":88,"sub_code":"90000"}`, want: Reject, code: "88/90000"},
		{name: "88 sub 40035", status: 200, body: `{"errcode":88,"sub_code":"40035"}`, want: Reject, code: "88/40035"},
		{name: "88 sub 60011", status: 200, body: `{"errcode":88,"sub_code":"60011","sub_msg":"no permission"}`, want: Reject, code: "88/60011"},
		{name: "88 sub other", status: 200, body: `{"errcode":88,"sub_code":"isv.invalid-parameter"}`, want: Reject, code: "88/isv.invalid-parameter"},

		{name: "40001 token", status: 200, body: `{"errcode":40001,"errmsg":"invalid credential"}`, want: TokenExpired, code: "40001"},
		{name: "40014 token", status: 200, body: `{"errcode":40014,"errmsg":"invalid access_token"}`, want: TokenExpired, code: "40014"},
		{name: "42001 token", status: 200, body: `{"errcode":42001,"errmsg":"access_token expired"}`, want: TokenExpired, code: "42001"},

		{name: "90001 throttled", status: 200, body: `{"errcode":90001}`, want: Retry, code: "90001", delay: banDelay},
		{name: "90002 throttled", status: 200, body: `{"errcode":90002}`, want: Retry, code: "90002", delay: banDelay},
		{name: "90003 throttled", status: 200, body: `{"errcode":90003}`, want: Retry, code: "90003", delay: banDelay},
		{name: "90010 throttled", status: 200, body: `{"errcode":90010}`, want: Retry, code: "90010", delay: banDelay},
		// The QPS limit: a second, as 88/90018 (was banDelay).
		{name: "90018 QPS limit", status: 200, body: `{"errcode":90018,"errmsg":"qps"}`, want: Retry, code: "90018", delay: throttleDelay},
		{name: "90017 throttled", status: 200, body: `{"errcode":90017}`, want: Retry, code: "90017", delay: banDelay},
		{name: "90019 throttled", status: 200, body: `{"errcode":90019}`, want: Retry, code: "90019", delay: banDelay},
		{name: "90020 monthly quota", status: 200, body: `{"errcode":90020}`, want: Reject, code: "90020"},

		{name: "40035 wrong request", status: 200, body: `{"errcode":40035,"errmsg":"缺少参数"}`, want: Reject, code: "40035"},
		{name: "22 wrong request", status: 200, body: `{"errcode":22}`, want: Reject, code: "22"},
		{name: "any other errcode", status: 200, body: `{"errcode":33012}`, want: Reject, code: "33012"},
		{name: "errmsg ignored", status: 200, body: `{"errcode":40035,"errmsg":"ok"}`, want: Reject, code: "40035"},

		{name: "non-2xx 502 gateway", status: 502, body: "<html>bad gateway</html>", want: Retry, code: "http_502"},
		{name: "non-2xx 500 gateway", status: 500, body: `{"errcode":-1}`, want: Retry, code: "http_500"},
		{name: "non JSON", status: 200, body: "<html>banned</html>", want: Retry, code: CodeNonJSONBody, delay: banDelay},
		// The ban page on any status but 502-504 and 413 waits banDelay (was a quick retry).
		{name: "403 ban page", status: 403, body: htmlPage, want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "500 html", status: 500, body: htmlPage, want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "429 html", status: 429, body: htmlPage, want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "404 empty", status: 404, body: "", want: Retry, code: CodeNonJSONBody, delay: banDelay},
		{name: "503 html gateway", status: 503, body: htmlPage, want: Retry, code: "http_503"},
		{name: "413 html", status: 413, body: "<html>too large</html>", want: Reject, code: "http_413"},
		// A gateway's QPS refusal in JSON, in any case.
		{name: "403 gateway QPS", status: 403, body: `{"Code":"Forbidden.AccessDenied.QpsLimitForApi","Message":"m"}`, want: Retry, code: "Forbidden.AccessDenied.QpsLimitForApi", delay: throttleDelay},
		{name: "403 gateway QPS lower case", status: 403, body: `{"code":"forbidden.accessDenied.qpsLimitForApi"}`, want: Retry, code: "forbidden.accessDenied.qpsLimitForApi", delay: throttleDelay},
		{name: "403 gateway other code", status: 403, body: `{"Code":"Forbidden.AccessDenied.IpNotInWhiteList"}`, want: Retry, code: "http_403"},

		// Where the table is silent.
		{name: "silent errcode as string", status: 200, body: `{"errcode":"0"}`, sent: true},
		{name: "silent 88 without sub_code", status: 200, body: `{"errcode":88}`, want: Retry, code: "88"},
		{name: "silent 88 numeric sub_code", status: 200, body: `{"errcode":88,"sub_code":40014}`, want: TokenExpired, code: "88/40014"},
		{name: "silent no errcode", status: 200, body: `{"errmsg":"ok"}`, want: Retry, code: CodeUnexpectedAnswer},
		{name: "silent 429", status: 429, body: `{}`, want: Retry, code: "http_429", delay: throttleDelay},
		{name: "silent 413", status: 413, body: "", want: Reject, code: "http_413"},
		{name: "silent 404", status: 404, body: `{}`, want: Retry, code: "http_404"},
	}
}

func TestClassifyCrossDomain(t *testing.T) {
	for _, c := range crossDomainCases() {
		t.Run(c.name, func(t *testing.T) { checkClassify(t, c, classifyCrossDomain) })
	}
}

func TestClassifyCrossDomainMessage(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"errmsg", `{"errcode":40035,"errmsg":"缺少参数 message_id"}`, "缺少参数 message_id"},
		{"sub_msg first", `{"errcode":88,"errmsg":"ding talk error","sub_code":"60011","sub_msg":"没有调用该接口的权限"}`, "没有调用该接口的权限"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classifyCrossDomain(200, []byte(tt.body))
			if e, ok := err.(*Error); !ok || e.Message != tt.want {
				t.Errorf("message of %v, want %q", err, tt.want)
			}
		})
	}
}
