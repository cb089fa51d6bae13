package dispatcher

import (
	"errors"
	"testing"

	"github.com/dingq/dingq/dispatcher/internal/wire"
)

// FuzzClassify feeds every classifier any status and body, as a hostile or broken gateway might
// send: it must not panic, and must answer nil or a *Error with a known decision and a code.
func FuzzClassify(f *testing.F) {
	seeds := []struct {
		status int
		body   string
	}{
		{200, `{"processQueryKey":"abc"}`},
		{500, `{"code":"systemBusy","message":"busy","requestid":"r"}`},
		{403, `{"Code":"Forbidden.AccessDenied.QpsLimitForAppkeyAndApi","Message":"m","RequestId":"r"}`},
		{200, `{"errcode":88,"sub_code":"90018","errmsg":"x"}`},
		{200, `{"errcode":"88","sub_code":90018}`},
		{200, `{"code":0,"data":{}}`},
		{200, `{"errcode":410100,"errmsg":"send too fast"}`},
		{200, `{"success":true,"result":{"deliverResults":[{"success":false,"errorMsg":"x"}]}}`},
		{429, `{"code":429,"msg":"slow down","hint":"h"}`},
		{403, `<html><body>banned</body></html>`},
		{403, `{"code":"forbidden.accessDenied.qpsLimitForApi"}`},
		{200, `{"errcode":88,"sub_code":"-1"}`},
		{200, `{"errcode":90018}`},
		{200, `{"code":410100,"msg":"send too fast"}`},
		{413, `<html>too large</html>`},
		{503, `<html>busy</html>`},
		{200, `{"errcode":1e400}`},
		{200, `{"processQueryKey":"abc","ProcessQueryKey":""}`},
		{200, `{"PROCESSQUERYKEY":"abc"}`},
		{200, `{"processQueryKey":7}`},
		{0, ``},
	}
	for _, s := range seeds {
		f.Add(s.status, []byte(s.body))
	}
	classifiers := map[string]func(int, []byte) error{
		"card": classifyCard, "crossdomain": classifyCrossDomain, "deliver": classifyDeliver,
		"robot":   func(s int, b []byte) error { return classifyRobot(s, b, DefaultRobotRetryCodes(), RobotPenalty) },
		"webhook": func(s int, b []byte) error { return classifyWebhook(s, b, RobotPenalty) },
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		// The quick read of the card's success answer says yes only where the full decode does.
		if cardSent(body) {
			if a, ok := readCardAnswer(body); !ok || a.ProcessQueryKey == "" {
				t.Fatalf("cardSent(%q), but the decode finds no processQueryKey", body)
			}
		}
		for name, classify := range classifiers {
			err := classify(status, body)
			if err == nil {
				continue
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%s: %T %v, want a *Error", name, err, err)
			}
			if e.Code == "" || e.Decision < Retry || e.Decision > TokenExpired {
				t.Fatalf("%s: %#v lacks a code or has an unknown decision", name, e)
			}
			if e.Penalty != 0 && (e.Decision != Retry || e.MinDelay < e.Penalty) {
				t.Fatalf("%s: %#v: a penalty comes with a retry no sooner than it", name, e)
			}
			// A page that is not JSON is the ban's on every API (docs/dingtalk.md#ip-ban): it
			// waits banDelay, but on a gateway's 502-504, a 413, and the card's 401.
			if !wire.IsJSONObject(body) && !pageStatus(name, status) && (e.Decision != Retry || e.MinDelay != banDelay) {
				t.Fatalf("%s: a page on %d gives %#v, want a retry after banDelay", name, status, e)
			}
		}
	})
}

// pageStatus reports whether status decides a page that is not JSON on its own, rather than
// banDelay.
func pageStatus(classifier string, status int) bool {
	switch status {
	case 502, 503, 504, 413:
		return true
	case 401:
		return classifier == "card" || classifier == "deliver"
	}
	return false
}
