package dispatcher

import (
	"errors"
	"testing"
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
		{200, `{"errcode":1e400}`},
		{0, ``},
	}
	for _, s := range seeds {
		f.Add(s.status, []byte(s.body))
	}
	classifiers := map[string]func(int, []byte) error{
		"card": classifyCard, "crossdomain": classifyCrossDomain, "robot": func(s int, b []byte) error { return classifyRobot(s, b, nil) },
		"deliver": classifyDeliver, "webhook": func(s int, b []byte) error { return classifyWebhook(s, b, RobotPenalty) },
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
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
		}
	})
}
