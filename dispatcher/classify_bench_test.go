package dispatcher

import "testing"

// benchClassify runs classify over a success and a typical failure answer.
func benchClassify(b *testing.B, classify func(int, []byte) error, ok, fail []byte, failStatus int) {
	b.Run("sent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := classify(200, ok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("refused", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := classify(failStatus, fail); err == nil {
				b.Fatal("refusal classified as sent")
			}
		}
	})
}

func BenchmarkClassifyCard(b *testing.B) {
	benchClassify(b, classifyCard,
		[]byte(`{"processQueryKey":"2a1b3c4d5e6f"}`),
		[]byte(`{"code":"Forbidden.AccessDenied.QpsLimitForAppkeyAndApi","message":"throttled","requestid":"F7A0C2"}`), 403)
}

func BenchmarkClassifyCrossDomain(b *testing.B) {
	benchClassify(b, classifyCrossDomain,
		[]byte(`{"errcode":0,"errmsg":"ok","request_id":"15ri5sk1lgqgb"}`),
		[]byte(`{"errcode":88,"errmsg":"ding talk error[subcode=90018]","sub_code":"90018","sub_msg":"qps limit"}`), 200)
}

func BenchmarkClassifyRobot(b *testing.B) {
	classify := func(status int, body []byte) error {
		return classifyRobot(status, body, DefaultRobotRetryCodes(), RobotPenalty)
	}
	benchClassify(b, classify,
		[]byte(`{"code":0,"data":{}}`),
		[]byte(`{"code":40001,"msg":"invalid link","hint":"check the webhook"}`), 200)
}
